"""Turning arbitrary label values into plain JSON data, without ever raising.

Labels come from application code: model instances, UUIDs, datetimes, enums, bytes, sets, nested
dicts, numpy scalars, objects whose ``__str__`` raises. Known types (the scalars, bytes, dates and
times, Decimal, UUID, Enum, numbers registered with ``numbers``, and dicts, lists, tuples, sets
and deques of those) become the JSON value a person querying Cloud Logging would expect. Anything
else is recorded as ``<unsupported Type>`` with a warning: its own ``__str__`` is never called,
because conversion runs on the caller's thread and a Django QuerySet's ``__str__`` runs a
database query. The original tracker's rule for model instances is kept without running code of
theirs: an ``id`` that is an int, str or UUID stored on the instance or its class (read with
``inspect.getattr_static``: no property, no descriptor) is recorded as ``str(obj.id)``.

The work is bounded whatever the value: strings and bytes are cut before they are converted, a
container yields at most ``MAX_ITEMS`` members and is never sorted beyond them, depth and total
size are bounded so one label cannot blow the 256 KB entry limit, and every lossy step is reported
as a problem so the caller can warn about it.
"""

from __future__ import annotations

import base64
import datetime
import decimal
import enum
import inspect
import math
import numbers
import uuid
from collections import deque
from collections.abc import Callable
from itertools import islice
from json.encoder import encode_basestring_ascii as _escaped
from typing import Any

from gyrinx_tracker._core.plain import is_safe_int
from gyrinx_tracker._core.redact import REDACTED

JSON = Any
Report = Callable[[str, str], None]

MAX_DEPTH = 4
MAX_ITEMS = 100
# Characters one nested value may convert: ``[["x" * 8000] * 100] * 100`` is cheap to build and
# would otherwise become 80 MB of JSON on the caller's thread before the size check drops it.
MAX_VALUE_CHARS = 200_000
_MISSING = object()
_SEQUENCES = (list, tuple, set, frozenset, deque)
_IDS = (int, str, uuid.UUID)
# What a member of a container is charged to the room at least: more than its JSON text (4 bytes
# for "[], ", 4 for '"a", '), about what Python's object takes, so that the room also bounds the
# memory a converted value holds while it waits in the queue (see _budget).
_CONTAINER_COST = 48
_MIN_COST = 24


class Encoder:
    """Converts one value at a time; holds the limits and the redaction rule for nested keys."""

    def __init__(self, max_string: int, is_secret_key: Callable[[str], bool], report: Report,
                 hide: Callable[[str], str]) -> None:
        self._max_string = max_string
        self._is_secret_key = is_secret_key
        self._hide = hide  # the redactor's value rule: the same object back when nothing is hidden
        self._report = report
        self._room = MAX_VALUE_CHARS
        self._cut = False

    def string(self, value: str) -> str:
        """Bound a string's length, make it valid UTF-8, and hide the credentials it carries.

        ``value`` must be an exact ``str`` (a subclass goes through ``_text``). The cut comes
        first, so the work after it is bounded by ``max_string`` whatever the input.
        """
        if len(value) > self._max_string:
            self._report("long_string", f"a string of {len(value)} characters was truncated")
            value = f"{value[: self._max_string]}…[+{len(value) - self._max_string} chars]"
        if not value.isascii():
            value = self.unicode(value)
        hidden = self._hide(value)
        if hidden is not value:
            self._report("secret_value", "a value that looks like a credential was redacted")
        return hidden

    def _text(self, value: str) -> str:
        """A str subclass's characters as an exact str, copying at most ``max_string`` + 1 of them
        (``str.__str__`` would copy them all, and a subclass's own ``__str__`` is not trusted)."""
        if type(value) is str:
            return self.string(value)
        length = str.__len__(value)
        head = str.__getitem__(value, slice(0, self._max_string))
        if length <= self._max_string:
            return self.string(head)
        self._report("long_string", f"a string of {length} characters was truncated")
        return self.string(head) + f"…[+{length - self._max_string} chars]"

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
            number = int(value)
            return number if is_safe_int(number) else str(number)
        if isinstance(value, float):
            return self._float(float(value))
        if isinstance(value, str):
            return self._text(value)  # the characters, not a subclass's __str__
        if depth >= MAX_DEPTH:
            self._report("too_deep", f"a value nested deeper than {MAX_DEPTH} levels was cut")
            return "<nested too deep>"
        converted = self._known_type(value, depth)
        if type(converted) is float:
            return self._float(converted)
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
            return self._bytes(value)
        if isinstance(value, uuid.UUID):
            return str(value)
        if isinstance(value, (datetime.datetime, datetime.date, datetime.time)):
            return value.isoformat()
        if isinstance(value, datetime.timedelta):
            return value.total_seconds()
        if isinstance(value, decimal.Decimal):
            return self._float(float(value)) if value.is_finite() else str(value)
        if isinstance(value, dict):
            return self._mapping(value, depth)
        if isinstance(value, _SEQUENCES):
            return self._sequence(value, depth)
        return _number(value)

    def _bytes(self, value: bytes | bytearray | memoryview) -> str:
        """UTF-8 text, else ``base64:``; only the head that can survive ``max_string`` is copied
        and decoded: decoding all of a large buffer would be work on the caller's thread for
        characters the cut then throws away."""
        view = memoryview(value)
        size = view.nbytes
        limit = 4 * self._max_string  # UTF-8 takes at most 4 bytes a character
        if size > limit:
            if not view.c_contiguous:
                self._report("long_bytes", f"a non-contiguous buffer of {size} bytes was left out")
                return f"<{type(value).__name__} of {size} bytes>"
            view = view.cast("B")[:limit]
        head = view.tobytes()
        try:
            text = head.decode("utf-8")
        except UnicodeDecodeError as error:
            if size > limit and error.start >= len(head) - 3:  # the cut split a character
                text = head[: error.start].decode("utf-8", "replace")
            else:
                head = head[: 3 * self._max_string // 4 + 3]  # base64 grows by a third
                text = "base64:" + base64.b64encode(head).decode("ascii")
        if size > len(head):
            self._report("long_bytes", f"a {type(value).__name__} of {size} bytes was truncated")
            return f"{self.string(text[: self._max_string])}…[+{size - len(head)} bytes]"
        return self.string(text)

    def _mapping(self, value: dict[Any, Any], depth: int) -> dict[str, JSON]:
        result: dict[str, JSON] = {}
        for index, (key, item) in enumerate(value.items()):
            if index >= MAX_ITEMS:
                self._report("too_many_items", f"a mapping of {len(value)} items was cut to {MAX_ITEMS}")
                break
            if self._full():
                break
            name = self._text(key) if isinstance(key, str) else self.string(str(self._convert(key, depth + 1)))
            self._room -= len(_escaped(name)) + 2  # '"key": '
            converted = REDACTED if self._is_secret_key(name) else self._item(item, depth)
            if converted is not _MISSING:
                result[name] = converted
        return result

    def _sequence(self, value: Any, depth: int) -> list[JSON]:
        """At most ``MAX_ITEMS`` members are taken; a set's are sorted after conversion (by the
        converted value's repr, which is safe and bounded), never the whole set before."""
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
        if isinstance(value, (set, frozenset)):
            result.sort(key=repr)
        return result

    def _item(self, item: object, depth: int) -> JSON:
        """Convert one member of a container and charge its JSON size to the room left.

        A member that does not fit is left out (``_MISSING``) and the container stops there, so
        the converted value stays within the room the caller gave.
        """
        converted = self._convert(item, depth + 1)
        if type(converted) in (list, dict):
            self._room -= _CONTAINER_COST  # its members were charged (and cut) already
            return converted
        cost = max(len(_escaped(converted)) + 2, _MIN_COST) if type(converted) is str else 26  # ', ' included
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
        """A model instance's stored id, else the type's name: no code of the object runs."""
        ident = _stored_id(value)
        if isinstance(ident, _IDS) and not isinstance(ident, bool):
            return self.string(str(ident))
        name = type(value).__name__
        self._report("unsupported_type", f"a label of type {name} is not a supported type (str, number, "
                                         "bool, None, bytes, date/time, Decimal, UUID, Enum, or a dict, "
                                         "list, tuple or set of those); recorded as its type name")
        return f"<unsupported {name}>"


def _number(value: object) -> JSON:
    """numpy's and other registered numbers as JSON numbers, without importing numpy: numpy
    registers its integer types with ``numbers.Integral`` and its floats with ``numbers.Real``.
    numpy's ``bool_`` is registered with neither, so it is recognised by its module and name."""
    kind = type(value)
    if kind.__module__ == "numpy" and kind.__name__ in ("bool", "bool_"):
        return bool(value)
    if isinstance(value, numbers.Integral):
        number = int(value)
        return number if is_safe_int(number) else str(number)
    if isinstance(value, numbers.Real):
        return float(value)
    return _MISSING


def _stored_id(value: object) -> object:
    """``value.id`` as stored on the instance or its class, without running a property or descriptor
    (a Django model keeps its loaded fields in the instance ``__dict__``); a class has no id."""
    if isinstance(value, type):
        return _MISSING
    try:
        return inspect.getattr_static(value, "id", _MISSING)
    except Exception:  # noqa: BLE001 - a hostile __dict__ or __mro__: then the object has no usable id
        return _MISSING

