"""Strings that hold a structure: JSON, a Python dict's repr, query strings, form bodies,
connection strings and URLs with credentials in their user part.

The rules that protect a dict (a secret-named key hides its value) would be defeated if the same
dict arrived as text: ``'{"password": "..."}'``, a service-account key passed as a JSON string,
``password=...&user=bob``, ``postgres://app:pw@db/shop``, ``AccountKey=...;`` in an Azure
connection string. Each is parsed (or scanned, when it is cut or not quite JSON) and redacted
with the caller's own rules for keys and values, and only the secret parts are replaced.

All scanning is linear in the text: every regular expression below is anchored on a literal and
bounded, and JSON is parsed by the C decoder (depth errors caught).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable

REDACTED = "[REDACTED]"
# Nested levels walked in parsed JSON; deeper structures are redacted whole.
MAX_DEPTH = 16
# URLs inside a parameter inside a URL... read to this depth (``?a=a=a=...`` recursed once per ``=``).
_MAX_PARAM_NESTING = 3

# scheme://user:password@host: the password goes (up to the last @ of the authority).
_URL_PASSWORD = re.compile(r"([A-Za-z][A-Za-z0-9+.-]{0,30}://[^/\s:@]{0,256}:)([^/\s]{1,512})(@)")
# scheme://token@host: a user part without a password is a token when it is long (git's
# https://<token>@github.com, Sentry's DSN key); short ones are user names (git@, postgres@).
_URL_USER = re.compile(r"([A-Za-z][A-Za-z0-9+.-]{0,30}://)([^/\s:@]{16,512})(@)")
# name=value at the start, after ?, &, ; or white space (a query string, a form body, a DSN's
# options, a libpq or Azure connection string).
_PARAM = re.compile(r"(^|[?&;\s])([^=&?#;\s]{1,64})=([^&#;\s]+)")
# Query parameters whose value is a credential although their name is too generic for a label
# key (``?key=`` is Google's API key, ``?sig=`` an Azure SAS signature).
_SECRET_PARAMS = frozenset({"key", "sig", "auth", "pass"})
# "key": value or 'key': value in text that did not parse as JSON (cut, or a Python repr).
_PAIR = re.compile(
    r"""(["'])([^"'\\\n]{1,64})\1(\s*:\s*)("(?:[^"\\]|\\.)*(?:"|\Z)|'(?:[^'\\]|\\.)*(?:'|\Z)|[{\[]|[^,}\]\s]+)""")

IsSecretKey = Callable[[str], bool]
Hide = Callable[[str], str]


def looks_structured(text: str) -> bool:
    """Text that may be JSON or a Python literal: starts with ``{`` or ``[``."""
    head = text.lstrip()[:1]
    return head == "{" or head == "["


def hide_json(text: str, is_secret_key: IsSecretKey, hide: Hide) -> tuple[bool, str]:
    """(parsed, ``text`` with the values of secret-named keys and the credentials in string values
    replaced): re-serialised when it parsed as JSON (then every string in it was seen), scanned
    pair by pair when it did not (then the caller's other rules still apply to the result)."""
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        return False, _hide_pairs(text, is_secret_key, hide)
    walked = _walk(data, is_secret_key, hide, 0)
    if walked == data:
        return True, text
    return True, json.dumps(walked, ensure_ascii=False)


def _walk(data: object, is_secret_key: IsSecretKey, hide: Hide, depth: int) -> object:
    if depth > MAX_DEPTH:
        return REDACTED
    if isinstance(data, dict):
        return {hide(key): (REDACTED if is_secret_key(key) else _walk(item, is_secret_key, hide, depth + 1))
                for key, item in data.items()}
    if isinstance(data, list):
        return [_walk(item, is_secret_key, hide, depth + 1) for item in data]
    if isinstance(data, str):
        return hide(data)
    return data


def _hide_pairs(text: str, is_secret_key: IsSecretKey, hide: Hide) -> str:
    """Scan ``"key": value`` pairs; a secret key's nested value hides the rest of the text."""
    out: list[str] = []
    position = 0
    for match in _PAIR.finditer(text):
        quote, key, _, value = match.groups()
        if not is_secret_key(key):
            continue
        out.append(text[position:match.start(4)])
        if value in ("{", "["):
            out.append(REDACTED)
            return "".join(out)
        wrapped = value[:1] in ("'", '"')
        out.append(f"{quote}{REDACTED}{quote}" if wrapped else REDACTED)
        position = match.end(4)
    out.append(text[position:])
    return "".join(out)


def hide_url_credentials(text: str) -> str:
    """A URL's password, and a user part long enough to be a token, replaced."""
    text = _URL_PASSWORD.sub(rf"\1{REDACTED}\3", text)
    return _URL_USER.sub(rf"\1{REDACTED}\3", text)


def hide_params(text: str, is_secret_key: IsSecretKey, depth: int = 0) -> str:
    """The values of secret-named ``name=value`` parameters replaced."""
    return _PARAM.sub(lambda match: _param(match, is_secret_key, depth), text)


def _param(match: re.Match[str], is_secret_key: IsSecretKey, depth: int) -> str:
    lead, name, value = match.groups()
    if name.lower() in _SECRET_PARAMS or is_secret_key(name):
        return f"{lead}{name}={REDACTED}"
    if depth < _MAX_PARAM_NESTING and "?" in value:  # ?next=/cb?token=...: a URL's parameters inside one
        return f"{lead}{name}={hide_params(value, is_secret_key, depth + 1)}"
    return match.group(0)
