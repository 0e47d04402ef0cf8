"""Redaction of labels that look like secrets: the seed's first best practice, enforced.

Keys are normalised (lower case, ``-``/``.``/space as ``_``) and matched against patterns for
passwords, tokens, keys, cookies, sessions and card data. A match replaces the value with
``REDACTED`` and never echoes any part of it. String values that carry a credential whatever their
key (``Bearer ...``, a JWT, a PEM block) are redacted too, because a secret under an innocent key
(``header="Bearer ..."``) is the common leak.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

REDACTED = "[REDACTED]"

DEFAULT_PATTERNS: tuple[str, ...] = (
    r"pass(word|wd|phrase)",
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
    r"card_?(number|num|no)",
    r"credential",
    r"bearer",
    r"(^|_)(cvv|cvc|ssn|jwt)($|_)",
    r"^(pwd|pin|auth)$",
)

_SECRET_VALUE_PREFIXES = ("Bearer ", "bearer ", "Basic ", "-----BEGIN ")
_JWT = re.compile(r"^eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]+\.")
_SEPARATORS = re.compile(r"[-. ]+")
_CACHE_LIMIT = 10_000


class Redactor:
    """Decides, per label key, whether the value must be hidden; results are cached per key."""

    def __init__(self, allow: Iterable[str] = (), extra: Iterable[str] = ()) -> None:
        self._allow = frozenset(normalise(key) for key in allow)
        self._pattern = re.compile("|".join((*DEFAULT_PATTERNS, *extra)))
        self._cache: dict[str, bool] = {}

    def is_secret_key(self, key: str) -> bool:
        """True when ``key`` names a secret and is not explicitly allowed."""
        known = self._cache.get(key)
        if known is not None:
            return known
        name = normalise(key)
        verdict = name not in self._allow and self._pattern.search(name) is not None
        if len(self._cache) < _CACHE_LIMIT:
            self._cache[key] = verdict
        return verdict


def looks_like_secret(value: str) -> bool:
    """True for strings that are credentials whatever key they sit under."""
    if value.startswith(_SECRET_VALUE_PREFIXES):
        return True
    return value.startswith("eyJ") and _JWT.match(value) is not None


def normalise(key: str) -> str:
    """``X-Api-Key`` and ``apiKey`` become ``x_api_key`` and ``apikey``: one spelling to match."""
    return _SEPARATORS.sub("_", key.strip().lower())
