"""Redaction of what looks secret, before anything leaves the process.

This module puts together the rules the modules beside it hold, and is what the sanitizer and the
encoder call:

* **keys** (``keywords``): a label key names a secret when one of its words does
  (``access_token``, ``clientSecret``, ``DATABASE_URL``), not when it merely contains the letters
  (``tokenizer``, ``secretary``), nor when its last word describes the secret (``token_count``);
  ``GYRINX_TRACKER_REDACT_EXTRA`` adds patterns (``safe_patterns``: checked at start-up, bounded);
* **values** (``tokens``): a string carrying a credential (``Bearer``, a JWT, a PEM key, a known
  key format, ``ya29.``) is replaced whole; card numbers, webhook secrets and, opt-in, e-mail
  addresses are replaced where they stand;
* **structured strings** (``structured``): JSON, a dict's repr, query strings, form bodies,
  connection strings and URLs with credentials are redacted like the structures they hold;
* **keys and event names as values**: a secret passed as a label key or as the event name is
  found by the value rules too (``hidden_key``, ``hides_name``).

A match is replaced by ``[REDACTED]`` and never partly echoed. Every string first meets one
pre-check (``tokens.may_hold``); the vast majority of labels stop there.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from gyrinx_tracker._core import keywords, structured, tokens
from gyrinx_tracker._core.safe_patterns import Matcher, compile_extra

REDACTED = "[REDACTED]"
# Characters of a label key read by the value rules (keys are then cut to 64).
MAX_KEY_SCAN = 1_024
# Structured strings inside structured strings are parsed to this depth; deeper, they are scanned.
_MAX_NESTING = 4
_SEPARATORS = re.compile(r"[-. ]+")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_CACHE_LIMIT = 10_000


class Redactor:
    """The rules under one configuration; key verdicts are cached per key."""

    def __init__(self, allow: Iterable[str] = (), extra: Iterable[str] = (), emails: bool = False) -> None:
        self._allow = frozenset(form for key in allow for form in _forms(key))
        self._extra: tuple[Matcher, ...] = compile_extra(extra)
        self._cache: dict[str, bool] = {}
        self._emails = emails
        self._hidden_keys: dict[str, str] = {}
        self._hidden_names: set[str] = set()
        self._hidden_count = 0
        # The pre-check: the sanitizer's fast paths call it once per new string label.
        self.may_hide: Callable[[str], bool] = tokens.may_hold_or_email if emails else tokens.may_hold

    def is_secret_key(self, key: str) -> bool:
        """True when ``key`` names a secret and is not explicitly allowed."""
        known = self._cache.get(key)
        if known is not None:
            return known
        forms = _forms(key)
        verdict = self._allow.isdisjoint(forms) and (
            keywords.names_secret(key) or any(match(form) for match in self._extra for form in forms))
        if len(self._cache) < _CACHE_LIMIT:
            self._cache[key] = verdict
        return verdict

    def hide(self, value: str) -> str:
        """``value`` with its credentials hidden; ``value`` itself when nothing was found, so
        callers compare by identity."""
        if not self.may_hide(value):
            return value
        try:
            return self._hide(value, 0)
        except Exception:  # noqa: BLE001 - fail closed: a rule's bug must neither raise nor leak
            return REDACTED

    def _hide(self, value: str, depth: int) -> str:
        text = value
        if structured.looks_structured(value) and depth < _MAX_NESTING:
            parsed, text = structured.hide_json(value, self.is_secret_key, lambda inner: self._inner(inner, depth))
            if parsed:
                return text
        if tokens.is_token(text):
            return REDACTED
        if "://" in text:
            text = structured.hide_url_credentials(text)
        if "=" in text:
            text = structured.hide_params(text, self.is_secret_key)
        text = tokens.hide_spans(text, self._emails)
        return value if text == value else text

    def _inner(self, value: str, depth: int) -> str:
        return self._hide(value, depth + 1) if self.may_hide(value) else value

    def hides_name(self, name: str) -> bool:
        """True when an event name carries a secret by the value rules (checked before repair:
        repairing ``postgres://app:pw@db`` into ``postgres_app_pw_db`` kept the password)."""
        return self.hide(name) is not name

    def hidden_key(self, raw: object, clean: str) -> str:
        """A label key with the secret it carries hidden: ``clean`` (the key as the sanitizer
        repaired it) when there is none. The raw key is read, up to ``MAX_KEY_SCAN`` characters,
        so a URL whose password lies past the 64 characters kept is still seen."""
        text = str.__getitem__(raw, slice(0, MAX_KEY_SCAN)) if isinstance(raw, str) else clean
        hidden = self.hide(text)
        if hidden is text:
            return clean
        return self._distinct(text, hidden)

    def _distinct(self, text: str, hidden: str) -> str:
        """Distinct secret keys stay distinct labels: the first to hide as ``[REDACTED]`` keeps that
        name, the next ones become ``[REDACTED]#2``, ``#3``... (numbered in the order first seen,
        which says nothing of the secret). Two secret keys in one event otherwise collapsed into
        one label and one value was lost silently."""
        known = self._hidden_keys.get(text)
        if known is not None:
            return known
        self._hidden_count += 1
        seen = hidden in self._hidden_names
        name = f"{hidden}#{self._hidden_count}" if seen else hidden
        if len(self._hidden_keys) < _CACHE_LIMIT:
            self._hidden_keys[text] = name
            self._hidden_names.add(hidden)
        return name


_DEFAULT = Redactor()


def may_be_secret(value: str) -> bool:
    """False for the vast majority of strings, which cannot hold anything the rules act on."""
    return tokens.may_hold(value)


def looks_like_secret(value: str) -> bool:
    """True for strings that are credentials as a whole, whatever key they sit under."""
    return may_be_secret(value) and tokens.is_token(value)


def redacted_value(value: str) -> str:
    """``value`` redacted under the default rules (no allowed keys, no extra patterns, no e-mails)."""
    return _DEFAULT.hide(value)


def normalise(key: str) -> str:
    """``X-Api-Key`` and ``apiKey`` become ``x_api_key`` and ``apikey``: one spelling to match."""
    return _SEPARATORS.sub("_", key.strip().lower())


def _forms(key: str) -> tuple[str, str]:
    """The key normalised as is and with camelCase split: ``cardCvv`` is ``cardcvv`` and ``card_cvv``.

    Both are matched so an extra pattern written for either form (``card_?cvv``, ``customerpin``)
    keeps matching.
    """
    return normalise(key), normalise(_CAMEL.sub("_", key))
