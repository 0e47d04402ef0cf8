"""OTLP log requests written as protobuf bytes straight from events: no SDK record, no message objects.

In OTLP mode the worker used to build, per event, an SDK ``ReadWriteLogRecord`` (``Logger.emit``:
an API record, a ``BoundedAttributes`` with its lock and cleaning) and then a protobuf ``LogRecord``
with its ``AnyValue``/``KeyValue`` children (``otlp_logs.encode_batch``): measured, those two were
three quarters of the worker's time per event. Both only re-express what an ``Event`` already says.
Here each event's ``LogRecord`` is written directly in protobuf's wire format, field by field in
the order the official encoder's serializer writes them, from pieces cached where they repeat (the
resource and scope once per writer; a label's key/value pair once per distinct pair; the trace
fields once per distinct context). The bytes are those that serializing the official exporter's
``ExportLogsServiceRequest`` for the same records gives: ``tests/test_otlp_wire.py`` compares them
with ``encode_logs`` over records built by ``Logger.emit``, byte for byte.

What the records would carry is what ``Logger.emit(make_record(...))`` gives them (see
``signals.WriterOutput``): severity INFO, the body ``_records.body_of``, the attributes
``_records.attributes_of`` (``gyrinx.event`` and ``gyrinx.label.<key>``), the trace of the
caller's context, the event name, and the time the worker saw the event as observed time.
Only when string attribute values are to be truncated (``OTEL_LOGRECORD_ATTRIBUTE_VALUE_LENGTH_LIMIT``)
is this not used (``usable``): the SDK's record path applies that limit.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from struct import Struct
from time import time_ns
from typing import Any

from opentelemetry.attributes import _clean_attribute_value
from opentelemetry.context import Context, get_current
from opentelemetry.exporter.otlp.proto.common._internal import (
    _encode_instrumentation_scope,
    _encode_resource,
    _encode_value,
)
from opentelemetry.trace import get_current_span

from gyrinx_tracker._records import EVENT_ATTRIBUTE, LABEL_ATTRIBUTE_PREFIX
from gyrinx_tracker._sanitize import Event

_FIXED64 = Struct("<Q").pack
_DOUBLE = Struct("<d").pack
_FIXED32 = Struct("<I").pack
_SMALL = [bytes([n]) for n in range(128)]
_INT64 = 1 << 63
_MASK64 = (1 << 64) - 1
_PAIR_LIMIT = 10_000  # cached key/value pairs; past it, pairs are encoded each time
# LogRecord fields that never change: severity_number = INFO (9), severity_text = "INFO".
_SEVERITY = b"\x10\x09\x1a\x04INFO"


def varint(number: int) -> bytes:
    """Protobuf's base-128 varint of a non-negative ``number``."""
    if number < 128:
        return _SMALL[number]
    out = bytearray()
    while number > 127:
        out.append((number & 127) | 128)
        number >>= 7
    out.append(number)
    return bytes(out)


def field(tag: bytes, payload: bytes) -> bytes:
    """A length-delimited field: its tag, the payload's length, the payload."""
    return tag + varint(len(payload)) + payload


def any_value(value: Any) -> bytes:
    """The ``AnyValue`` message of ``value``, as ``_encode_value(value).SerializeToString()``."""
    kind = type(value)
    if kind is str:
        return field(b"\x0a", value.encode())
    if kind is float:
        return b"\x21" + _DOUBLE(value)
    if kind is bool:
        return b"\x10\x01" if value else b"\x10\x00"
    if kind is int and -_INT64 <= value < _INT64:
        return b"\x18" + varint(value & _MASK64)
    if kind is dict:
        return field(b"\x32", b"".join([field(b"\x0a", key_value(str(k), v)) for k, v in value.items()]))
    if value is None:
        return b""
    # Lists, bytes, subclasses, out-of-range ints: rare; the official encoder decides (and raises).
    encoded: bytes = _encode_value(value).SerializeToString()
    return encoded


def key_value(key: str, value: Any) -> bytes:
    """The ``KeyValue`` message of one pair (an empty key is proto3's default: not written)."""
    return (field(b"\x0a", key.encode()) if key else b"") + field(b"\x12", any_value(value))


class WireEncoder:
    """Writes ``ExportLogsServiceRequest`` bytes for batches of (event, body) of one resource and scope."""

    def __init__(self, resource: Any, scope: Any, attribute_limit: int, clock: Callable[[], int] = time_ns) -> None:
        # ScopeLogs and ResourceLogs both start with their (always present) resource or scope.
        self._scope = field(b"\x0a", _encode_instrumentation_scope(scope).SerializeToString())
        self._scope_schema = field(b"\x1a", scope.schema_url.encode()) if scope and scope.schema_url else b""
        self._resource = field(b"\x0a", _encode_resource(resource).SerializeToString())
        self._resource_schema = field(b"\x1a", resource.schema_url.encode()) if resource.schema_url else b""
        self._limit = attribute_limit
        self._clock = clock  # the observed time: when the worker made the record, as Logger.emit stamps it
        self._pairs: dict[tuple[str, type, object], bytes] = {}  # body pairs: "event", "n", labels
        self._attributes: dict[tuple[str, type, object], bytes] = {}  # tagged LogRecord.attributes
        self._context: Context | None = None
        self._trace = b""

    def encode(self, kept: Sequence[tuple[Event, dict[str, Any]]]) -> bytes:
        """The serialized request carrying one log record per (event, body), in order."""
        records = [field(b"\x12", self._record(event, body)) for event, body in kept]
        scope_logs = self._scope + b"".join(records) + self._scope_schema
        resource_logs = self._resource + field(b"\x12", scope_logs) + self._resource_schema
        return field(b"\x0a", resource_logs)

    def _record(self, event: Event, body: dict[str, Any]) -> bytes:
        """One ``LogRecord``: fields 1, 2, 3, 5, 6, (8, 9, 10), 11, 12, as the serializer orders them."""
        name = event.name
        return b"".join((
            b"\x09", _FIXED64(event.time_ns), _SEVERITY,
            field(b"\x2a", self._body(body)),
            self._attribute(EVENT_ATTRIBUTE, name),
            *self._label_attributes(event.labels),
            self._trace_of(event.context),
            b"\x59", _FIXED64(self._clock()),
            field(b"\x62", name.encode()),
        ))

    def _body(self, body: dict[str, Any]) -> bytes:
        """The body's ``AnyValue``: a key/value list, its label pairs from the pair cache."""
        parts = []
        pairs = self._pairs
        for key, value in body.items():
            kind = type(value)
            if kind is dict:
                encoded = field(b"\x0a", key.encode()) + field(b"\x12", field(b"\x32", b"".join(
                    [self._pair(pairs, k, v) for k, v in value.items()])))
                parts.append(field(b"\x0a", encoded))
            else:
                parts.append(self._pair(pairs, key, value))
        return field(b"\x32", b"".join(parts))

    @staticmethod
    def _pair(cache: dict[tuple[str, type, object], bytes], key: str, value: Any) -> bytes:
        """``KeyValueList.values`` entry of one pair (tag included), cached for str/int/bool values
        (not floats: -0.0 == 0.0 would share one encoding)."""
        kind = type(value)
        if kind is str or kind is int or kind is bool:
            pair = (key, kind, value)
            encoded = cache.get(pair)
            if encoded is None:
                encoded = field(b"\x0a", key_value(str(key), value))
                if len(cache) < _PAIR_LIMIT:
                    cache[pair] = encoded
            return encoded
        return field(b"\x0a", key_value(str(key), value))

    def _attribute(self, key: str, value: Any) -> bytes:
        """One ``LogRecord.attributes`` entry (tag 6 included), cached like ``_pair``."""
        kind = type(value)
        if kind is str or kind is int or kind is bool:
            pair = (key, kind, value)
            encoded = self._attributes.get(pair)
            if encoded is None:
                encoded = field(b"\x32", key_value(key, value))
                if len(self._attributes) < _PAIR_LIMIT:
                    self._attributes[pair] = encoded
            return encoded
        return field(b"\x32", key_value(key, _attribute_value(value)))

    def _label_attributes(self, labels: dict[str, Any]) -> list[bytes]:
        """``gyrinx.label.<key>`` per label, up to the attribute limit (``gyrinx.event`` is the first)."""
        room = self._limit - 1
        attribute = self._attribute
        found = [attribute(LABEL_ATTRIBUTE_PREFIX + key, value) for key, value in labels.items()]
        return found if len(found) <= room else found[:room]

    def _trace_of(self, context: Context | None) -> bytes:
        """Flags, trace id and span id of the caller's span (none without one), per context once."""
        if context is self._context and context is not None:
            return self._trace
        span = get_current_span(context or get_current()).get_span_context()
        flags = int(span.trace_flags)
        trace = (b"\x45" + _FIXED32(flags) if flags else b"") + (
            b"\x4a\x10" + span.trace_id.to_bytes(16, "big") if span.trace_id else b"") + (
            b"\x52\x08" + span.span_id.to_bytes(8, "big") if span.span_id else b"")
        self._context, self._trace = context, trace
        return trace


def _attribute_value(value: Any) -> Any:
    """What ``BoundedAttributes`` keeps of a list or dict value (no string limit here): the SDK's own
    cleaning, which drops empty keys of nested mappings."""
    return _clean_attribute_value(value, None)
