"""Redaction of labels that look like secrets: the original tracker's first best practice, enforced.

Keys are normalised (lower case, ``-``/``.``/space as ``_``, and once more with camelCase words
split, so ``cardCvv`` is seen as ``card_cvv``) and matched against patterns for
passwords, tokens, keys, cookies, sessions and card data. A match replaces the value with
``REDACTED`` and never echoes any part of it. String values that carry a credential whatever their
key (``Bearer ...``, a JWT, a PEM block) are redacted too, because a secret under an innocent key
(``header="Bearer ..."``) is the common leak; so are values shaped like well-known API keys
(``AKIA...``, ``sk_live_...``, ``ghp_...``: see ``_KEY_PREFIXES``). Inside a longer value only the
secret part goes: a URL's password and secret-named query parameters (``?access_token=``).
"""

from __future__ import annotations

import base64
import re
import sys
import warnings
from collections.abc import Callable, Iterable

from gyrinx_tracker._diagnostics import warn_limited

REDACTED = "[REDACTED]"

DEFAULT_PATTERNS: tuple[str, ...] = (
    r"pass(word|wd|phrase|code)",
    r"secret",
    r"token",
    r"api_?key",
    r"access_?key",
    r"private_?key",
    r"authori[sz]ation",
    r"auth_?header",
    r"cookie",
    r"session",
    r"credit_?card",
    r"(^|_)card_?(number|num|no)($|_)",
    r"credential",
    r"bearer",
    r"(^|_)(cvv2?|cvc2?|ssn|jwt|pwd)($|_)",
    r"^(pin|auth)$",
    r"(^|_)(otp|totp|signature)($|_)",
)

# Query parameters whose value is a credential although their name is too generic for a label key
# (``?key=`` is Google's API key, ``?sig=`` an Azure SAS signature); every secret label key
# pattern applies to parameters too.
_SECRET_PARAMS = frozenset({"key", "sig"})

_SECRET_VALUE_PREFIXES = ("Bearer ", "bearer ", "-----BEGIN ")
# Every credential redacted_value recognises contains one of these: a string without any of
# them needs no regular expression. The sanitizer's fast paths call may_be_secret too, so the
# pre-check is written once.
_HINT_PREFIXES = ("-----BEGIN ", "Basic ")
# Well-known key formats, recognised by their documented prefix at the start of the value (a
# token is at least 20 characters, so shorter strings skip this check): AWS access key ids
# (AKIA/ASIA + 16), Google API keys (AIza + 35), Stripe secret and restricted keys (sk_/rk_,
# live and test), GitHub tokens (ghp_, gho_, ghu_, ghs_, ghr_, github_pat_), GitLab (glpat-),
# Slack (xoxb-, xoxp-, xoxa-, xoxr-, xoxs-), npm (npm_), PyPI (pypi-AgE), SendGrid (SG.),
# OpenAI and Anthropic (sk-proj-, sk-ant-).
_KEY_PREFIXES = ("AKIA", "ASIA", "AIza", "sk_live_", "rk_live_", "sk_test_", "rk_test_", "ghp_", "gho_",
                 "ghu_", "ghs_", "ghr_", "github_pat_", "glpat-", "xoxb-", "xoxp-", "xoxa-", "xoxr-",
                 "xoxs-", "npm_", "pypi-AgE", "SG.", "sk-proj-", "sk-ant-")
_KEY_SHAPE = re.compile(
    r"(?:AKIA|ASIA)[0-9A-Z]{16}|AIza[0-9A-Za-z_-]{35}|[sr]k_(?:live|test)_[0-9A-Za-z]{10,}"
    r"|gh[pousr]_[0-9A-Za-z]{30,}|github_pat_\w{20,}|glpat-[\w-]{20,}|xox[bpars]-[\w-]{10,}"
    r"|npm_[0-9A-Za-z]{30,}|pypi-AgE[\w-]{20,}|SG\.[\w-]{16,}\.[\w-]{16,}|sk-(?:proj|ant)-[\w-]{20,}")
_MIN_KEY = 20
# scheme://user:password@host: the password is replaced, the rest of the URL kept.
_URL_PASSWORD = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*://[^/\s:@]*:)([^/\s@]+)(@)")
# name=value at the start, after ?, & or ; (a query string, a form body, a DSN's options).
_PARAM = re.compile(r"(^|[?&;\s])([^=&?#;\s]{1,64})=([^&#;\s]+)")
# Anywhere in the string: "Authorization: Bearer ..." in a logged header or error message leaks too.
_JWT = re.compile(r"eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]+\.")
_BEARER = re.compile(r"[Bb]earer [A-Za-z0-9._~+/=-]{8,}")
_BASIC = re.compile(r"Basic ([A-Za-z0-9+/]+={0,2})\Z")
_SEPARATORS = re.compile(r"[-. ]+")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_CACHE_LIMIT = 10_000


class Redactor:
    """Decides, per label key, whether the value must be hidden; results are cached per key."""

    def __init__(self, allow: Iterable[str] = (), extra: Iterable[str] = ()) -> None:
        self._allow = frozenset(form for key in allow for form in _forms(key))
        # Extra patterns are compiled one by one: joined into the default regex, one bad pattern
        # (or an inline flag such as "(?i)") made every track() raise re.error.
        self._patterns = (re.compile("|".join(DEFAULT_PATTERNS)), *map(_compile, extra))
        self._cache: dict[str, bool] = {}

    def is_secret_key(self, key: str) -> bool:
        """True when ``key`` names a secret and is not explicitly allowed."""
        known = self._cache.get(key)
        if known is not None:
            return known
        forms = _forms(key)
        verdict = self._allow.isdisjoint(forms) and any(
            pattern.search(form) for pattern in self._patterns for form in forms)
        if len(self._cache) < _CACHE_LIMIT:
            self._cache[key] = verdict
        return verdict


def _compile(pattern: str) -> re.Pattern[str]:
    """An extra key pattern, case-insensitive; one that is not a regular expression is matched literally."""
    try:
        return _compile_strictly(pattern)
    except (re.error, TypeError, ValueError, DeprecationWarning) as error:
        warn_limited(f"config:redact_extra:{pattern!r}", "redact_extra pattern %r is not a "
                     "regular expression (%s); it is matched literally", pattern, error)
        return re.compile(re.escape(str(pattern)), re.IGNORECASE)


def may_be_secret(value: str) -> bool:
    """False for the vast majority of strings, which cannot hold a credential redacted_value knows.

    A handful of substring tests in C, and one prefix test for strings long enough to be a key:
    this runs for every string label on the fast paths, so no regular expression runs here.
    """
    return ("eyJ" in value or "earer " in value or "=" in value or "://" in value
            or value.startswith(_HINT_PREFIXES) or (len(value) >= _MIN_KEY and value.startswith(_KEY_PREFIXES)))


def looks_like_secret(value: str) -> bool:
    """True for strings that are credentials as a whole, whatever key they sit under."""
    if not may_be_secret(value):
        return False
    if value.startswith(_SECRET_VALUE_PREFIXES):
        return True
    if value.startswith("Basic ") and _is_basic_credential(value):
        return True
    if "eyJ" in value and _JWT.search(value) is not None:
        return True
    if len(value) >= _MIN_KEY and value.startswith(_KEY_PREFIXES) and _KEY_SHAPE.match(value) is not None:
        return True
    return "earer " in value and _BEARER.search(value) is not None


def redacted_value(value: str, is_secret_key: Callable[[str], bool]) -> str:
    """``value`` with its credentials hidden: ``REDACTED`` for a credential as a whole, or the
    password of a URL (``postgres://app:[REDACTED]@db``) and the values of secret-named query
    parameters (``?access_token=[REDACTED]&page=2``) replaced in place. ``value`` itself when
    nothing was found, so callers compare by identity."""
    if not may_be_secret(value):
        return value
    if looks_like_secret(value):
        return REDACTED
    text = value
    if "://" in text:
        text = _URL_PASSWORD.sub(rf"\1{REDACTED}\3", text)
    if "=" in text:
        text = _PARAM.sub(lambda match: _param(match, is_secret_key), text)
    return value if text == value else text


def _param(match: re.Match[str], is_secret_key: Callable[[str], bool]) -> str:
    lead, name, _ = match.groups()
    if not (name.lower() in _SECRET_PARAMS or is_secret_key(name)):
        return match.group(0)
    return f"{lead}{name}={REDACTED}"


def _is_basic_credential(value: str) -> bool:
    """``Basic dXNlcjpwYXNz`` is base64 of ``user:pass``; ``Basic plan`` is a product tier."""
    match = _BASIC.match(value)
    if match is None:
        return False
    try:
        return b":" in base64.b64decode(match.group(1), validate=True)
    except ValueError:
        return False


def normalise(key: str) -> str:
    """``X-Api-Key`` and ``apiKey`` become ``x_api_key`` and ``apikey``: one spelling to match."""
    return _SEPARATORS.sub("_", key.strip().lower())


def _forms(key: str) -> tuple[str, str]:
    """The key normalised as is and with camelCase split: ``cardCvv`` is ``cardcvv`` and ``card_cvv``.

    Both are matched so word-anchored patterns see camelCase words, while an extra pattern written
    for the plain lower-case form (``customerpin``) keeps matching.
    """
    return normalise(key), normalise(_CAMEL.sub("_", key))


def _compile_strictly(pattern: str) -> re.Pattern[str]:
    """``re.compile``, failing on 3.10 where 3.11+ fail: a global flag such as ``(?i)`` mid-pattern
    only warns there, and would then apply to the whole pattern instead of being matched literally."""
    if sys.version_info >= (3, 11):
        return re.compile(pattern, re.IGNORECASE)
    with warnings.catch_warnings():  # not thread-safe, but only at configuration, and only on 3.10
        warnings.simplefilter("error", DeprecationWarning)
        return re.compile(pattern, re.IGNORECASE)
