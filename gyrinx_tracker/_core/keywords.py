"""Which label keys name a secret: key words matched as words, not as substrings.

A key is split into words (``snake_case``, ``kebab-case``, ``dotted.name``, ``camelCase`` and
``HTTPHeader`` all give the same words), and it names a secret when one of its words, or a run
of them, is a secret word: ``access_token``, ``clientSecret``, ``X-Api-Key``, ``DATABASE_URL``.
Matching whole words is what keeps ``tokenizer``, ``secretary`` or ``passenger``: substring
patterns redacted real data there.

Two refinements keep the rule honest:

* a key whose *last* word describes the secret rather than holding it (``token_count``,
  ``session_length``, ``pwd_policy_version``, ``cookie_consent``, ``otp_sent``) is kept, because
  its value is a number, a flag or a name, never the credential itself;
* a few secret words are also recognised glued to another word, as frameworks spell them
  (``csrftoken``, ``sessionid``, ``dbPassword`` lower-cased to ``dbpassword``): a word that
  *ends* with one of ``_SUFFIX_WORDS`` is a secret word too.
"""

from __future__ import annotations

import re

# Words that name a secret on their own, and their plurals.
SECRET_WORDS = frozenset({
    "password", "passwd", "passphrase", "passcode", "pwd", "secret", "token", "apikey", "credential",
    "authorization", "cookie", "session", "sessionid", "sessionkey", "bearer", "jwt", "cvv", "cvv2",
    "cvc", "cvc2", "ssn", "otp", "totp", "hotp", "signature", "dsn", "salt", "hmac", "passkey",
    "privatekey", "accesskey", "secretkey", "creditcard", "cardnumber", "cardno", "pincode", "sig",
    "xsrf", "csrf", "connectionstring", "connstr", "mnemonic", "seedphrase",
})
# Runs of words that name a secret together (each word alone does not: ``api``, ``key``, ``card``).
SECRET_PHRASES: tuple[tuple[str, ...], ...] = (
    ("api", "key"), ("access", "key"), ("private", "key"), ("secret", "key"), ("signing", "key"),
    ("encryption", "key"), ("master", "key"), ("stripe", "key"), ("account", "key"), ("shared", "key"),
    ("client", "key"), ("auth", "key"), ("auth", "header"), ("credit", "card"), ("card", "number"),
    ("card", "num"), ("card", "no"), ("database", "url"), ("db", "url"), ("webhook", "url"),
    ("mfa", "code"), ("2fa", "code"), ("auth", "code"), ("verification", "code"), ("recovery", "code"),
    ("backup", "code"), ("pin", "code"), ("connection", "string"), ("conn", "string"), ("set", "cookie"),
    ("x", "amz", "security", "token"), ("sentry", "dsn"), ("broker", "url"), ("redis", "url"),
    ("amqp", "url"), ("mongo", "url"), ("mongodb", "uri"), ("database", "uri"), ("seed", "phrase"),
)
# Keys that are a secret only as the whole key: ``pin`` and ``auth`` (``auth_method``,
# ``pin_count`` and ``pinned`` are data).
WHOLE_KEYS = frozenset({"pin", "auth"})
# Secret words recognised at the end of a glued word: ``csrftoken``, ``dbpassword``, ``userpwd``.
_SUFFIX_WORDS = ("token", "password", "passwd", "secret", "apikey", "pwd", "credential", "credentials",
                 "sessionid")
# Last words that make a key describe a secret instead of holding one.
QUALIFIERS = frozenset({
    "count", "counts", "length", "len", "size", "type", "kind", "version", "policy", "consent",
    "group", "sent", "present", "enabled", "disabled", "required", "limit", "limits", "ttl", "expiry",
    "expires", "expired", "rotated", "strength", "used", "valid", "verified", "format", "field",
    "fields", "set", "missing", "provided", "timeout", "duration", "age", "attempts", "ms", "seconds",
    "algorithm", "algo", "scheme", "seen", "name",
})
_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_SPLIT = re.compile(r"[^A-Za-z0-9]+")
_PHRASE_STARTS = frozenset(phrase[0] for phrase in SECRET_PHRASES)


def words(key: str) -> list[str]:
    """``"X-Api-Key"``, ``"apiKey"``, ``"APIKey"``, ``"api.key"`` → ``["x", "api", "key"]`` (or
    ``["api", "key"]``): lower-case words, split at separators and at camelCase boundaries."""
    return [word for word in _SPLIT.split(_BOUNDARY.sub("_", key).lower()) if word]


def names_secret(key: str) -> bool:
    """True when ``key`` names a secret under the word rule above."""
    parts = words(key)
    if not parts:
        return False
    if len(parts) == 1 and parts[0] in WHOLE_KEYS:
        return True
    if len(parts) > 1 and parts[-1] in QUALIFIERS:
        return False
    return any(_secret_at(parts, index) for index in range(len(parts)))


def _secret_at(parts: list[str], index: int) -> bool:
    word = parts[index]
    if _is_secret_word(word):
        return True
    if word not in _PHRASE_STARTS:
        return False
    return any(_matches(parts[index:index + len(phrase)], phrase) for phrase in SECRET_PHRASES)


def _matches(run: list[str], phrase: tuple[str, ...]) -> bool:
    """``run`` spells ``phrase``, its last word maybe in the plural (``recovery_codes``)."""
    if len(run) != len(phrase) or run[:-1] != list(phrase[:-1]):
        return False
    return run[-1] == phrase[-1] or run[-1] == phrase[-1] + "s"


def _is_secret_word(word: str) -> bool:
    if word in SECRET_WORDS:
        return True
    singular = word[:-1] if word.endswith("s") else word
    return singular in SECRET_WORDS or word.endswith(_SUFFIX_WORDS)
