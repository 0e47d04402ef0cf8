"""OTLP log requests written as protobuf bytes straight from events: no SDK record, no message objects.

In OTLP mode the worker used to build, per event, an SDK ``ReadWriteLogRecord`` (``Logger.emit``:
an API record, a ``BoundedAttributes`` with its lock and cleaning) and then a protobuf ``LogRecord``
with its ``AnyValue``/``KeyValue`` children (``otlp_logs.encode_batch``): measured, those two were
three quarters of the worker's time per event. Both only re-express what an ``Event`` already says.
Here each event's ``LogRecord`` is written directly in protobuf's wire format, field by field in
the order the official encoder's serializer writes them, from pieces cached where they repeat (the
resource and scope once per writer; a label's key/value pair once per distinct pair; the trace
fields once per distinct context), with their lengths, so that a record's length is added up and the
whole request is one join of its pieces. The bytes are those that serializing the official exporter's
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

from gyrinx_tracker._core.event import Event
from gyrinx_tracker._signals.records import EVENT_ATTRIBUTE, LABEL_ATTRIBUTE_PREFIX
from gyrinx_tracker._signals.writers import Bodies, with_bodies

_FIXED64 = Struct("<Q").pack
_DOUBLE = Struct("<d").pack
_FIXED32 = Struct("<I").pack
_SMALL = [bytes([n]) for n in range(128)]
_INT64 = 1 << 63
_MASK64 = (1 << 64) - 1
_PAIR_LIMIT = 10_000  # cached key/value pairs; past it, pairs are encoded each time
# LogRecord fields that never change: severity_number = INFO (9), severity_text = "INFO".
_SEVERITY = b"\x10\x09\x1a\x04INFO"
_LABELS_KEY = b"\x0a\x06labels"  # KeyValue.key = "labels"
_FLOAT_PAIRS: dict[str, bytes] = {}  # body keys with a double value ("value", "sample_rate") → _float_pair


def _float_pair(key: str) -> bytes:
    """Everything of a ``KeyValueList.values`` entry with a double value but the value's 8 bytes."""
    head = field(b"\x0a", key_value(key, 0.0))[:-8]
    if len(_FLOAT_PAIRS) < _PAIR_LIMIT:
        _FLOAT_PAIRS[key] = head
    return head


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


_SHORT = 4_096
_LENGTHS = [varint(n) for n in range(_SHORT)]  # most records and values are shorter


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


def _labels_head(listed: int) -> bytes:
    """What comes before the body's ``labels`` entry's ``listed`` bytes of key/value pairs: the
    entry's tag and length, its key, its value's tag and length, the key/value list's tag and length."""
    if listed < 126:  # the list's and the AnyValue's lengths fit one byte each (the entry's is in the table)
        return b"".join((b"\x0a", _LENGTHS[listed + 12], _LABELS_KEY, b"\x12", _LENGTHS[listed + 2],
                         b"\x32", _LENGTHS[listed]))
    inner = varint(listed)
    value = varint(1 + len(inner) + listed)  # the AnyValue around the key/value list
    entry = len(_LABELS_KEY) + 1 + len(value) + 1 + len(inner) + listed
    return b"\x0a" + varint(entry) + _LABELS_KEY + b"\x12" + value + b"\x32" + inner


_N_ONE = field(b"\x0a", key_value("n", 1))  # the body's "n": 1, the common case, written once
_VALUE_HEAD = _float_pair("value")  # the body's "value" pair but its double's 8 bytes
_VALUE_BYTES = len(_VALUE_HEAD) + 8


Label = tuple[bytes, bytes, int, int]  # body pair, attribute, and their lengths
Named = tuple[bytes, bytes, bytes, int]  # attribute, event_name field, body pair; fixed record bytes


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
        self._pairs: dict[tuple[str, type, object], bytes] = {}  # body pairs: "event", "n", ...
        self._labels: dict[tuple[str, type, object], Label] = {}
        self._named: dict[str, Named] = {}  # per event name: see _name_parts
        self._context: Context | None = None
        self._trace = b""

    def encode(self, events: Sequence[Event], bodies: Bodies = None) -> bytes:
        """The serialized request carrying one log record per event, in order, with its body from
        ``bodies``; a body of None (or no ``bodies``) is ``body_of(event)``, written from the
        event's fields (no dict built and walked).

        The request is one join of the pieces of all its records: a record's length, which comes
        before it, is added up from the lengths of its pieces (cached with them), so no record is
        joined on its own and then copied into the request. The request's head, written last, is
        the only piece whose lengths depend on the whole batch.

        Each record is written here, inline: this loop runs once per event and is most of the
        worker's time in OTLP mode (a method call per record measured 0.1 µs more, of 2.4). Its
        fields are 1, 2, 3, 5, 6, (8, 9, 10), 11, 12, as the serializer orders them. The labels are
        walked once for both their body pairs and their attributes (one cache look-up each). A body
        of None is a key/value list of ``event``, ``n``, ``value`` (if any) and ``labels`` (if any);
        a given body (a sampled event's, with its ``sample_rate``) is written by ``_body``.
        """
        lengths, clock, limit = _LENGTHS, self._clock, self._limit
        named_parts, label_parts = self._named, self._labels
        out = [b""]  # [0]: the head, once the batch's length is known
        total = 0
        for event, given in with_bodies(events, bodies):
            name = event.name
            named = named_parts.get(name) or self._name_parts(name)
            labels = event.labels
            pairs: list[bytes] = []
            attributes = [named[0]]
            attributed = listed = 0
            if labels:
                for key, item in labels.items():
                    kind = type(item)
                    label = label_parts.get((key, kind, item)) if kind is str or kind is int or kind is bool else None
                    if label is None:
                        label = self._label(key, item)
                    pairs.append(label[0])
                    attributes.append(label[1])
                    listed += label[2]
                    attributed += label[3]
                if len(attributes) > limit:
                    del attributes[limit:]
                    attributed = sum(map(len, attributes)) - len(named[0])
            if given is None:
                n, value = event.n, event.value
                number = _N_ONE if n == 1 and type(n) is int else self._pair("n", n)
                inner = len(named[2]) + len(number)  # the body's key/value list
                measured: tuple[bytes, ...]
                if type(value) is float:
                    measured = (_VALUE_HEAD, _DOUBLE(value))
                    inner += _VALUE_BYTES
                elif value is None:
                    measured = ()
                else:
                    measured = (self._pair("value", value),)
                    inner += len(measured[0])
                if pairs:
                    labels_head = _labels_head(listed)
                    inner += len(labels_head) + listed
                listing = lengths[inner] if inner < _SHORT else varint(inner)
                body = 1 + len(listing) + inner  # the AnyValue around the key/value list
            else:
                written = self._body(given, labels, pairs)
                body = len(written)
            context = event.context
            trace = self._trace if context is self._context and context is not None else self._trace_of(context)
            framing = lengths[body] if body < _SHORT else varint(body)
            size = named[3] + len(framing) + body + attributed + len(trace)
            prefix = lengths[size] if size < _SHORT else varint(size)
            out += (b"\x12", prefix, b"\x09", _FIXED64(event.time_ns), _SEVERITY, b"\x2a", framing)
            if given is None:
                out += (b"\x32", listing, named[2], number)
                out += measured
                if pairs:
                    out.append(labels_head)
                    out += pairs
            else:
                out.append(written)
            out += attributes
            out += (trace, b"\x59", _FIXED64(clock()), named[1])
            total += 1 + len(prefix) + size
        scope_logs = len(self._scope) + total + len(self._scope_schema)
        out.append(self._scope_schema)
        out.append(self._resource_schema)
        resource_head = self._resource + b"\x12" + varint(scope_logs)
        out[0] = b"\x0a" + varint(len(resource_head) + scope_logs + len(self._resource_schema)) + resource_head + self._scope
        return b"".join(out)

    def _name_parts(self, name: str) -> Named:
        """An event name's ``gyrinx.event`` attribute, ``event_name`` field and body ``event`` pair,
        and the bytes of a record's fields that are the same for every record of the name: time
        (9), severity (8), the body's tag (1), the attribute, observed time (9) and ``event_name``."""
        attribute, event_name = field(b"\x32", key_value(EVENT_ATTRIBUTE, name)), field(b"\x62", name.encode())
        parts = (attribute, event_name, self._pair("event", name), 27 + len(attribute) + len(event_name))
        if len(self._named) < _PAIR_LIMIT:
            self._named[name] = parts
        return parts

    def _body(self, body: dict[str, Any], labels: dict[str, Any], pairs: list[bytes]) -> bytes:
        """The body's ``AnyValue``: a key/value list of its pairs; the labels' pairs are ``pairs``."""
        parts = []
        for key, value in body.items():
            kind = type(value)
            if value is labels:
                listed = b"".join(pairs)
                parts.append(_labels_head(len(listed)) + listed)
            elif kind is float:
                parts.append((_FLOAT_PAIRS.get(key) or _float_pair(key)) + _DOUBLE(value))
            else:
                parts.append(self._pair(key, value))
        return field(b"\x32", b"".join(parts))

    def _pair(self, key: str, value: Any) -> bytes:
        """``KeyValueList.values`` entry of one pair (tag included), cached for str/int/bool values
        (not floats: -0.0 == 0.0 would share one encoding)."""
        kind = type(value)
        if kind is str or kind is int or kind is bool:
            pair = (key, kind, value)
            encoded = self._pairs.get(pair)
            if encoded is None:
                encoded = field(b"\x0a", key_value(str(key), value))
                if len(self._pairs) < _PAIR_LIMIT:
                    self._pairs[pair] = encoded
            return encoded
        return field(b"\x0a", key_value(str(key), value))

    def _label(self, key: str, value: Any) -> Label:
        """A label's body pair (a ``KeyValueList.values`` entry) and its ``gyrinx.label.<key>``
        attribute (a ``LogRecord.attributes`` entry), with their lengths; cached for str/int/bool
        values."""
        pair = field(b"\x0a", key_value(str(key), value))
        attribute = field(b"\x32", key_value(LABEL_ATTRIBUTE_PREFIX + key, _attribute_value(value)))
        label = (pair, attribute, len(pair), len(attribute))
        kind = type(value)
        if (kind is str or kind is int or kind is bool) and len(self._labels) < _PAIR_LIMIT:
            self._labels[(key, kind, value)] = label
        return label

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
