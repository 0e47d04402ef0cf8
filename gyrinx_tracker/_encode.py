"""Turning arbitrary label values into plain JSON data, without ever raising.

Labels come from application code: model instances, UUIDs, datetimes, enums, bytes, sets, nested
dicts, objects whose ``__str__`` raises. Each becomes the JSON value a person querying Cloud Logging
would expect (the original tracker's rule for objects with ``.id`` is kept: ``str(obj.id)``). Depth and size are
bounded so one label cannot blow the 256 KB entry limit, and every lossy step is reported as a
problem so the caller can warn about it.
"""

from __future__ import annotations

import base64
import datetime
import decimal
import enum
import math
import uuid
from collections import deque
from collections.abc import Callable, Mapping
from itertools import islice
from json.encoder import encode_basestring_ascii as _escaped
from typing import Any

from gyrinx_tracker._redact import REDACTED, looks_like_secret

JSON = Any
Report = Callable[[str, str], None]

MAX_DEPTH = 4
MAX_ITEMS = 100
MAX_SAFE_INT = 2**53
# Characters one nested value may convert: ``[["x" * 8000] * 100] * 100`` is cheap to build and
# would otherwise become 80 MB of JSON on the caller's thread before the size check drops it.
MAX_VALUE_CHARS = 200_000
_MISSING = object()
_SEQUENCES = (list, tuple, set, frozenset, deque)


class Encoder:
    """Converts one value at a time; holds the limits and the redaction rule for nested keys."""

    def __init__(self, max_string: int, is_secret_key: Callable[[str], bool], report: Report) -> None:
        self._max_string = max_string
        self._is_secret_key = is_secret_key
        self._report = report
        self._room = MAX_VALUE_CHARS
        self._cut = False

    def string(self, value: str) -> str:
        """Bound a string's length, make it valid UTF-8, and hide it if it is a credential."""
        if len(value) > self._max_string:
            self._report("long_string", f"a string of {len(value)} characters was truncated")
            value = f"{value[: self._max_string]}…[+{len(value) - self._max_string} chars]"
        if not value.isascii():
            value = self.unicode(value)
        if looks_like_secret(value):
            self._report("secret_value", "a value that looks like a credential was redacted")
            return REDACTED
        return value

    def unicode(self, value: str) -> str:
        """``value`` with unpaired surrogates written as ``\\udxxx`` escapes, reported once.

        Python strings may hold lone surrogates (``os.fsdecode`` of a bad file name, a JSON escape
        cut in half); protobuf refuses them, so one such label failed a whole OTLP or Cloud Logging
        API batch, and a strict UTF-8 stream (stdout, a log file) could not write the JSON line.
        """
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            self._report("invalid_unicode", "a string with unpaired surrogates was escaped")
            return value.encode("utf-8", "backslashreplace").decode("utf-8")
        return value

    def plain(self, value: object, room: int = MAX_VALUE_CHARS) -> JSON:
        """Return ``value`` as JSON-compatible data (str, int, float, bool, None, list, dict).

        Containers stop growing once about ``room`` characters of strings were converted.
        """
        self._room = room
        self._cut = False
        return self._convert(value, 0)

    def _convert(self, value: object, depth: int) -> JSON:
        try:
            return self._plain(value, depth)
        except Exception as error:  # noqa: BLE001 - a hostile __eq__ or __iter__ must not escape
            self._report("unconvertible", f"a {type(value).__name__} value could not be converted "
                                          f"({type(error).__name__})")
            return f"<unrepresentable {type(value).__name__}>"

    def _plain(self, value: object, depth: int) -> JSON:
        if value is None or isinstance(value, bool):
            return value
        if isinstance(value, enum.Enum):
            return self._convert(value.value, depth)
        if isinstance(value, int):
            return int(value) if -MAX_SAFE_INT <= value <= MAX_SAFE_INT else str(int(value))
        if isinstance(value, float):
            return self._float(float(value))
        if isinstance(value, str):
            return self.string(str.__str__(value))  # the characters, not a subclass's __str__
        if depth >= MAX_DEPTH:
            self._report("too_deep", f"a value nested deeper than {MAX_DEPTH} levels was cut")
            return "<nested too deep>"
        converted = self._known_type(value, depth)
        if converted is not _MISSING:
            return converted
        return self._fallback(value)

    def _float(self, value: float) -> JSON:
        if math.isfinite(value):
            return value
        self._report("non_finite_label", "a NaN or infinite label value was sent as a string")
        return str(value)

    def _known_type(self, value: object, depth: int) -> JSON:
        if isinstance(value, (bytes, bytearray, memoryview)):
            return self._bytes(bytes(value))
        if isinstance(value, uuid.UUID):
            return str(value)
        if isinstance(value, (datetime.datetime, datetime.date, datetime.time)):
            return value.isoformat()
        if isinstance(value, datetime.timedelta):
            return value.total_seconds()
        if isinstance(value, decimal.Decimal):
            return self._float(float(value)) if value.is_finite() else str(value)
        if isinstance(value, Mapping):
            return self._mapping(value, depth)
        if isinstance(value, _SEQUENCES):
            return self._sequence(value, depth)
        return _MISSING

    def _bytes(self, value: bytes) -> str:
        try:
            return self.string(value.decode("utf-8"))
        except UnicodeDecodeError:
            return self.string("base64:" + base64.b64encode(value).decode("ascii"))

    def _mapping(self, value: Mapping[Any, Any], depth: int) -> dict[str, JSON]:
        result: dict[str, JSON] = {}
        for index, (key, item) in enumerate(value.items()):
            if index >= MAX_ITEMS:
                self._report("too_many_items", f"a mapping of {len(value)} items was cut to {MAX_ITEMS}")
                break
            if self._full():
                break
            name = self.string(str.__str__(key) if isinstance(key, str) else str(self._convert(key, depth + 1)))
            self._room -= len(_escaped(name)) + 2  # '"key": '
            converted = REDACTED if self._is_secret_key(name) else self._item(item, depth)
            if converted is not _MISSING:
                result[name] = converted
        return result

    def _sequence(self, value: Any, depth: int) -> list[JSON]:
        if isinstance(value, (set, frozenset)):
            items = sorted(value, key=repr)
        else:
            items = list(islice(value, MAX_ITEMS + 1))
        if len(items) > MAX_ITEMS:
            self._report("too_many_items", f"a sequence of {len(value)} items was cut to {MAX_ITEMS}")
            items = items[:MAX_ITEMS]
        result: list[JSON] = []
        for item in items:
            if self._full():
                break
            converted = self._item(item, depth)
            if converted is not _MISSING:
                result.append(converted)
        return result

    def _item(self, item: object, depth: int) -> JSON:
        """Convert one member of a container and charge its JSON size to the room left.

        A member that does not fit is left out (``_MISSING``) and the container stops there, so
        the converted value stays within the room the caller gave.
        """
        converted = self._convert(item, depth + 1)
        if type(converted) in (list, dict):
            self._room -= 4  # brackets and ', ': its members were charged (and cut) already
            return converted
        cost = len(_escaped(converted)) + 2 if type(converted) is str else 26  # ', ' included
        if cost > self._room:
            self._room = 0
            self._full()
            return _MISSING
        self._room -= cost
        return converted

    def _full(self) -> bool:
        if self._room > 0:
            return False
        if not self._cut:
            self._cut = True
            self._report("too_large", "a nested value was cut to keep the entry within its size limit")
        return True

    def _fallback(self, value: object) -> JSON:
        ident = _attribute(value, "id")
        if ident is not _MISSING and ident is not None and not isinstance(value, type):
            return self.string(str(ident))
        try:
            return self.string(str(value))
        except Exception as error:  # noqa: BLE001 - application __str__ may raise anything
            self._report("unconvertible", f"str() of a {type(value).__name__} raised "
                                          f"{type(error).__name__}")
            return f"<unrepresentable {type(value).__name__}>"


def _attribute(value: object, name: str) -> object:
    try:
        return getattr(value, name, _MISSING)
    except Exception:  # noqa: BLE001 - a property may raise; then the object has no usable id
        return _MISSING

