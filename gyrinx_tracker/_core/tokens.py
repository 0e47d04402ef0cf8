"""Credentials recognised by their shape, whatever key they sit under.

Two kinds:

* **tokens** — a value holding one is redacted whole: HTTP ``Bearer`` and ``Basic`` credentials,
  JWTs, PEM private keys, Google OAuth access tokens (``ya29.``), and keys with a documented
  prefix (AWS, Google API, Stripe, GitHub, GitLab, Slack, npm, PyPI, SendGrid, OpenAI including
  the legacy ``sk-`` + 32 or more, Anthropic), found anywhere in the string;
* **spans** — only the secret part is replaced, the text around it kept: Luhn-valid card numbers
  (13–19 digits with a card network's leading digits, alone or in groups of four), the secret path
  of Slack and Discord webhook URLs, and e-mail addresses when the opt-in asks for them.

Every regular expression here is linear in the length of the text: runs are anchored at their
start with a look-behind and bounded, so an 8 KB label costs a single pass. The pre-check
(``may_hold``) runs for every new string label, so it is written for cost: see below.
"""

from __future__ import annotations

import base64
import re

REDACTED = "[REDACTED]"

# Key formats by their documented prefix (a token is at least 20 characters).
_KEY_SHAPES = (
    r"(?:AKIA|ASIA)[0-9A-Z]{16}|AIza[0-9A-Za-z_-]{35}|[sr]k_(?:live|test)_[0-9A-Za-z]{10,}"
    r"|gh[pousr]_[0-9A-Za-z]{30,}|github_pat_\w{20,}|glpat-[\w-]{20,}|xox[bpars]-[\w-]{10,}"
    r"|npm_[0-9A-Za-z]{30,}|pypi-AgE[\w-]{20,}|SG\.[\w-]{16,}\.[\w-]{16,}|sk-(?:proj|ant|svcacct|admin)-[\w-]{20,}"
    r"|sk-[A-Za-z0-9]{32,}|ya29\.[0-9A-Za-z_-]{20,}"
)
_TOKEN = re.compile(
    rf"(?<![A-Za-z0-9])(?:{_KEY_SHAPES})"
    r"|eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]+\."
    r"|[Bb]earer [A-Za-z0-9._~+/=-]{8,}"
    r"|-----BEGIN [A-Z0-9 ]{0,40}(?:PRIVATE KEY|CERTIFICATE REQUEST|PGP PRIVATE)"
)
# What the old rule redacted whole from its start: ``Bearer anything`` (even prose: a leak costs
# more than a lost quote) and any PEM block.
_WHOLE_PREFIXES = ("Bearer ", "bearer ", "-----BEGIN ")
_BASIC = re.compile(r"Basic ([A-Za-z0-9+/]+={0,2})\Z")

_CARD = re.compile(
    r"(?<![\d.,/-])(?:\d{13,19}|\d{4}([ -])\d{4}\1\d{4}\1\d{1,7}|\d{4}([ -])\d{6}\2\d{4,5})(?![\d])")
_WEBHOOK = re.compile(
    r"(hooks\.slack\.com/(?:services|workflows|triggers)/|discord(?:app)?\.com/api/webhooks/)[\w/-]{8,}")
_EMAIL = re.compile(
    r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63}){0,8}\.[A-Za-z]{2,24}"
    r"(?![A-Za-z0-9-])")

# The pre-check (``may_hold``): a string that passes it holds nothing any rule of redact.py acts
# on. Substring tests in C first (a structure, a URL, a JWT, a bearer token, a PEM block, HTTP
# Basic); then, only for strings long enough to hold a key (13 characters: a card number), one
# regular expression anchored on the rare characters of the key formats (the ``_``, ``-`` or ``.``
# after their prefix, checked by look-behind, or ``A`` of AKIA/ASIA/AIza) and on digit runs.
# Measured with callgrind (benchmarks/redaction_cost.py): one alternation of every prefix cost
# three times what this does, because common letters start many of them.
_MIN_LONG = 13
_KEY_HINT = re.compile(
    r"[_.\-](?:(?<=k_live_)|(?<=k_test_)|(?<=gh[pousr]_)|(?<=npm_)|(?<=github_pat_)|(?<=glpat-)"
    r"|(?<=xox[bpars]-)|(?<=pypi-)|(?<=sk-)|(?<=SG\.)|(?<=ya29\.))|A(?:KIA|SIA|Iza)")
# A card number has at least 13 digits, counted in C (bytes.translate deleting the digits) before
# any regular expression runs: a regular expression over the digits of a UUID costs far more.
_DIGITS = b"0123456789"
_HEX = b"0123456789abcdefABCDEF-"
_CARD_HINT = re.compile(r"\d{4}[ -]?\d{4}[ -]?\d{4}|\d{4}[ -]\d{6}")


def may_hold(value: str) -> bool:
    """False for the vast majority of strings: nothing in them is a credential the rules know."""
    if ("=" in value or "://" in value or "{" in value or "[" in value or "eyJ" in value
            or "earer " in value or "-----BEGIN" in value or value.startswith("Basic ")):
        return True
    if len(value) < _MIN_LONG or _is_uuid(value):
        return False
    return _KEY_HINT.search(value) is not None or _card_shaped(value)


def _is_uuid(value: str) -> bool:
    """A canonical UUID (the commonest long label value): hex digits and dashes hold no key format
    and no card number, and the checks below cost most on its many digits."""
    return (len(value) == 36 and value[8] == value[13] == value[18] == value[23] == "-" and value.isascii()
            and not value.encode().translate(None, _HEX))


def _card_shaped(value: str) -> bool:
    if value.isascii():
        raw = value.encode()
        if len(raw) - len(raw.translate(None, _DIGITS)) < _MIN_LONG:
            return False
    return _CARD_HINT.search(value) is not None


def may_hold_or_email(value: str) -> bool:
    """``may_hold``, and any ``@`` (the e-mail opt-in)."""
    return "@" in value or may_hold(value)


def is_token(value: str) -> bool:
    """True for strings that carry a credential to be redacted whole."""
    if value.startswith(_WHOLE_PREFIXES):
        return True
    if value.startswith("Basic ") and _is_basic_credential(value):
        return True
    return _TOKEN.search(value) is not None


def hide_spans(value: str, emails: bool) -> str:
    """``value`` with card numbers, webhook secrets and (opt-in) e-mail addresses replaced."""
    text = _CARD.sub(_card, value)
    if "hooks." in text or "discord" in text:
        text = _WEBHOOK.sub(rf"\1{REDACTED}", text)
    if emails and "@" in text:
        text = _EMAIL.sub(REDACTED, text)
    return text


def _card(match: re.Match[str]) -> str:
    digits = match.group(0).replace(" ", "").replace("-", "")
    return REDACTED if is_card_number(digits) else match.group(0)


def is_card_number(digits: str) -> bool:
    """13–19 digits starting like a card network's number (2221–2720, 3, 4, 5, 6) that pass Luhn.

    The leading digits matter: about one random number in ten passes Luhn, and 18–19 digit ids
    (snowflakes, order numbers) usually start with 1, 7, 8 or 9.
    """
    if not (13 <= len(digits) <= 19 and digits.isdigit()):
        return False
    first = digits[0]
    if first == "2":
        if not 2221 <= int(digits[:4]) <= 2720:
            return False
    elif first not in "3456":
        return False
    return luhn(digits)


def luhn(digits: str) -> bool:
    """The Luhn checksum every payment card number carries."""
    total = 0
    for index, char in enumerate(reversed(digits)):
        digit = ord(char) - 48
        if index % 2:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0


def _is_basic_credential(value: str) -> bool:
    """``Basic dXNlcjpwYXNz`` is base64 of ``user:pass``; ``Basic plan`` is a product tier."""
    match = _BASIC.match(value)
    if match is None:
        return False
    try:
        return b":" in base64.b64decode(match.group(1), validate=True)
    except ValueError:
        return False
