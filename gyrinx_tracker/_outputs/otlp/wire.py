"""OTLP log requests written as protobuf bytes straight from events: no SDK record, no message objects.

Building, per event, an SDK ``ReadWriteLogRecord`` (``Logger.emit``: an API record, a
``BoundedAttributes`` with its lock and cleaning) and then a protobuf ``LogRecord`` with its
``AnyValue``/``KeyValue`` children was most of the worker's time in OTLP mode, and both only
re-express what an ``Event`` already says.
Here each event's ``LogRecord`` is written directly in protobuf's wire format, field by field in the
order the official encoder's serializer writes them, from pieces cached where they repeat (the
resource and scope once per writer; what an event name and its labels fix, a record's shape, once
per distinct pair of them, in a bounded cache: ``shapes``; a label's key/value pair once per
distinct pair, for the shapes not cached; the trace fields once per distinct context), with their
lengths, so that a record's length is added up and the whole request is one join of its pieces. The
bytes are those that serializing the official exporter's ``ExportLogsServiceRequest`` for the same
records gives: ``tests/unit/test_otlp_wire.py`` compares them with ``encode_logs`` over records
built by ``Logger.emit``, byte for byte.

What the records would carry is what ``Logger.emit(make_record(...))`` gives them (see
``_signals.output.WriterOutput``): severity INFO, the body ``_signals.records.body_of``, the
attributes ``_signals.records.attributes_of`` (``gyrinx.event`` and ``gyrinx.label.<key>``), cut to
the SDK's attribute count limit and, where ``OTEL_LOGRECORD_ATTRIBUTE_VALUE_LENGTH_LIMIT`` is set,
their strings to its length (by the SDK's own cleaning), the trace of the caller's context, the
event name, and the time the worker saw the event as observed time.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import lru_cache
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
from gyrinx_tracker._outputs.otlp.protobuf import (
    SEVERITY_NUMBER_INFO,
    SEVERITY_TEXT,
    SPAN_ID_BYTES,
    TRACE_ID_BYTES,
    AnyValueFields,
    ExportLogsServiceRequestFields,
    KeyValueFields,
    KeyValueListFields,
    LogRecordFields,
    ResourceLogsFields,
    ScopeLogsFields,
    field,
    tag,
    varint,
)
from gyrinx_tracker._outputs.otlp.shapes import ShapeCache, cacheable, checks_of
from gyrinx_tracker._signals.records import EVENT_ATTRIBUTE, LABEL_ATTRIBUTE_PREFIX
from gyrinx_tracker._signals.writers import Bodies, with_bodies

_FIXED64 = Struct("<Q").pack
_DOUBLE = Struct("<d").pack
_FIXED32 = Struct("<I").pack
_I64_BYTES = Struct("<Q").size  # the payload of a fixed64 or double field: 8 bytes, no length before it
_INT64 = 1 << 63
_MASK64 = (1 << 64) - 1
_PAIR_LIMIT = 10_000  # cached key/value pairs; past it, pairs are encoded each time
# Only short strings are cached (shapes.CACHE_CHARS): the per-pair caches never forget (issue 26).
_cacheable = cacheable


# Every tag written, computed once.
_RESOURCE_LOGS = tag(*ExportLogsServiceRequestFields.resource_logs)
_RESOURCE = tag(*ResourceLogsFields.resource)
_SCOPE_LOGS = tag(*ResourceLogsFields.scope_logs)
_RESOURCE_SCHEMA = tag(*ResourceLogsFields.schema_url)
_SCOPE = tag(*ScopeLogsFields.scope)
_LOG_RECORDS = tag(*ScopeLogsFields.log_records)
_SCOPE_SCHEMA = tag(*ScopeLogsFields.schema_url)
_TIME = tag(*LogRecordFields.time_unix_nano)
_SEVERITY_NUMBER = tag(*LogRecordFields.severity_number)
_SEVERITY_TEXT = tag(*LogRecordFields.severity_text)
_BODY = tag(*LogRecordFields.body)
_ATTRIBUTES = tag(*LogRecordFields.attributes)
_FLAGS = tag(*LogRecordFields.flags)
_TRACE_ID = tag(*LogRecordFields.trace_id)
_SPAN_ID = tag(*LogRecordFields.span_id)
_OBSERVED_TIME = tag(*LogRecordFields.observed_time_unix_nano)
_EVENT_NAME = tag(*LogRecordFields.event_name)
_STRING = tag(*AnyValueFields.string_value)
_BOOL = tag(*AnyValueFields.bool_value)
_INT = tag(*AnyValueFields.int_value)
_DOUBLE_VALUE = tag(*AnyValueFields.double_value)
_KVLIST = tag(*AnyValueFields.kvlist_value)
_KEY = tag(*KeyValueFields.key)
_VALUE = tag(*KeyValueFields.value)
_VALUES = tag(*KeyValueListFields.values)

# Fields, or their heads, that are always the same.
_TRUE, _FALSE = _BOOL + varint(1), _BOOL + varint(0)
_TRACE_ID_HEAD = _TRACE_ID + varint(TRACE_ID_BYTES)  # the trace id's tag and length
_SPAN_ID_HEAD = _SPAN_ID + varint(SPAN_ID_BYTES)  # the span id's
# LogRecord fields that never change: severity_number = INFO, severity_text = "INFO".
_SEVERITY = _SEVERITY_NUMBER + varint(SEVERITY_NUMBER_INFO) + field(_SEVERITY_TEXT, SEVERITY_TEXT)
_LABELS_KEY = field(_KEY, b"labels")  # KeyValue.key = "labels"

# Byte counts that the lengths written are added up from.
_KVLIST_TAG_BYTES = len(_KVLIST)  # before a body's key/value list in its AnyValue, then the list's length
# A record's bytes that are the same in every record: the time's tag and 8 bytes, the severity, the
# body's tag, the observed time's tag and 8 bytes (the attributes and the event name's are added per
# shape: _shape).
_RECORD_FIXED_BYTES = len(_TIME) + _I64_BYTES + len(_SEVERITY) + len(_BODY) + len(_OBSERVED_TIME) + _I64_BYTES
_UNFRAMED_BYTES = _RECORD_FIXED_BYTES - len(_SEVERITY) - len(_BODY)  # those not in a _framing piece
_STAMP = Struct(f"<{len(_TIME)}sQ").pack  # a time field: its tag and 8 bytes, one piece
assert len(_OBSERVED_TIME) == len(_TIME), "the two time fields' tags are packed alike"


# The heads that come before a length-delimited part, with that length, for the lengths most records
# have: one piece each, looked up by length, instead of a tag and a varint.
_SHORT = 4_096
_RECORD_HEADS = [_LOG_RECORDS + varint(n) for n in range(_SHORT)]  # a ScopeLogs.log_records entry
_FRAMINGS = [_SEVERITY + _BODY + varint(n) for n in range(_SHORT)]  # the severity, then the body's head
_LISTINGS = [_KVLIST + varint(n) for n in range(_SHORT)]  # the body's key/value list's head


def _record_head(size: int) -> bytes:
    return _RECORD_HEADS[size] if size < _SHORT else _LOG_RECORDS + varint(size)


def _framing(body: int) -> bytes:
    return _FRAMINGS[body] if body < _SHORT else _SEVERITY + _BODY + varint(body)


def _listing(inner: int) -> bytes:
    return _LISTINGS[inner] if inner < _SHORT else _KVLIST + varint(inner)


_FLOAT_PAIRS: dict[str, bytes] = {}  # body keys with a double value ("value", "sample_rate") → _float_pair


def _float_pair(key: str) -> bytes:
    """Everything of a ``KeyValueList.values`` entry with a double value but the value's 8 bytes."""
    head = field(_VALUES, key_value(key, 0.0))[:-_I64_BYTES]
    if len(_FLOAT_PAIRS) < _PAIR_LIMIT:
        _FLOAT_PAIRS[key] = head
    return head


def any_value(value: Any) -> bytes:
    """The ``AnyValue`` message of ``value``, as ``_encode_value(value).SerializeToString()``."""
    kind = type(value)
    if kind is str:
        return field(_STRING, value.encode())
    if kind is float:
        return _DOUBLE_VALUE + _DOUBLE(value)
    if kind is bool:
        return _TRUE if value else _FALSE
    if kind is int and -_INT64 <= value < _INT64:
        return _INT + varint(value & _MASK64)
    if kind is dict:
        return field(_KVLIST, b"".join([field(_VALUES, key_value(str(k), v)) for k, v in value.items()]))
    if value is None:
        return b""
    # Lists, bytes, subclasses, out-of-range ints: rare; the official encoder decides (and raises).
    encoded: bytes = _encode_value(value).SerializeToString()
    return encoded


def key_value(key: str, value: Any) -> bytes:
    """The ``KeyValue`` message of one pair (an empty key is proto3's default: not written)."""
    return (field(_KEY, key.encode()) if key else b"") + field(_VALUE, any_value(value))


def _labels_head(listed: int) -> bytes:
    """What comes before the body's ``labels`` entry's ``listed`` bytes of key/value pairs: the
    entry's tag and length, its key, its value's tag and length, the key/value list's tag and length.
    Written once per length for most lists: it comes before the labels of every event that has any."""
    if listed < _LABELS_HEADS_CACHED:
        head = _LABELS_HEADS[listed]
        if head is None:
            head = _LABELS_HEADS[listed] = _write_labels_head(listed)
        return head
    return _write_labels_head(listed)


def _write_labels_head(listed: int) -> bytes:
    """``_labels_head(listed)``, its lengths added up."""
    inner = varint(listed)
    value = varint(_KVLIST_TAG_BYTES + len(inner) + listed)  # the AnyValue around the key/value list
    entry = len(_LABELS_KEY) + len(_VALUE) + len(value) + _KVLIST_TAG_BYTES + len(inner) + listed
    return _VALUES + varint(entry) + _LABELS_KEY + _VALUE + value + _KVLIST + inner


_LABELS_HEADS_CACHED = 1_024  # the labels of most events list fewer bytes
_LABELS_HEADS: list[bytes | None] = [None] * _LABELS_HEADS_CACHED  # _labels_head by length, as written


_N_ONE = field(_VALUES, key_value("n", 1))  # the body's "n": 1, the common case, written once
_VALUE_HEAD = _float_pair("value")  # the body's "value" pair but its double's 8 bytes
_VALUE_PAIR = Struct(f"<{len(_VALUE_HEAD)}sd").pack  # the "value" pair with its double: one piece
_VALUE_PAIR_BYTES = len(_VALUE_HEAD) + _I64_BYTES


Label = tuple[bytes, bytes, int, int]  # body pair, attribute, and their lengths
Named = tuple[bytes, bytes, bytes]  # attribute, event_name field, body pair


@lru_cache(maxsize=256)
def _packer(layout: str) -> Callable[..., bytes]:
    """``Struct(layout).pack``, one per layout (a shape's lengths: they repeat across shapes)."""
    return Struct(layout).pack


class Shape:
    """The bytes of a record that its event name and labels fix (``shapes``), and its lengths.

    The common records, ``n`` of 1 with a float ``value`` or none, are written from ``leads``:
    for each, a packer of the time field, the bytes from the severity to the value's head (their
    lengths known once ``n`` and the kind of value are), and the value's 8 bytes, with the
    record's size but its trace. Other records add up their lengths from the parts.
    """

    __slots__ = ("attributes", "block", "checks", "event_name", "event_pair", "fixed", "float_lead",
                 "labelled", "none_lead", "tail")

    def __init__(self, named: Named, block: bytes, labelled: bool, attributes: bytes,
                 checks: tuple[tuple[int, type], ...]) -> None:
        self.checks = checks  # where the shape's key holds a value whose exact type must match (shapes)
        self.event_pair = named[2]  # the body's "event" pair
        self.block = block  # the body's "labels" entry, as a given body writes it (even with none)
        given = block if labelled else b""  # the payload has no "labels" entry without labels
        self.labelled = len(given)
        self.tail = given + attributes  # what follows the body's "n" and "value" in the payload's record
        self.attributes = attributes
        self.event_name = named[1]
        self.fixed = _UNFRAMED_BYTES + len(attributes) + len(self.event_name)  # all but framing, body, trace
        opening = self.event_pair + _N_ONE
        self.float_lead = self._lead(opening + _VALUE_HEAD, len(opening) + _VALUE_PAIR_BYTES, "d")
        self.none_lead = self._lead(opening, len(opening), "")

    def _lead(self, opening: bytes, measured: int, value: str) -> tuple[Callable[..., bytes], bytes, int]:
        """The packer, middle bytes and size but the trace of a record of ``n`` 1 whose body's pairs
        before the labels are ``measured`` bytes (``opening`` but a float value's 8)."""
        inner = measured + self.labelled
        listing = _listing(inner)
        body = len(listing) + inner
        framing = _framing(body)
        middle = framing + listing + opening
        layout = f"<{len(_TIME)}sQ{len(middle)}s{value}"
        return _packer(layout), middle, self.fixed + len(framing) + body


class WireEncoder:
    """Writes ``ExportLogsServiceRequest`` bytes for batches of (event, body) of one resource and scope."""

    def __init__(self, resource: Any, scope: Any, attribute_limit: int, value_length_limit: int | None = None,
                 clock: Callable[[], int] = time_ns, shapes: ShapeCache | None = None) -> None:
        # ScopeLogs and ResourceLogs both start with their (always present) resource or scope.
        self._scope = field(_SCOPE, _encode_instrumentation_scope(scope).SerializeToString())
        self._scope_schema = field(_SCOPE_SCHEMA, scope.schema_url.encode()) if scope and scope.schema_url else b""
        self._resource = field(_RESOURCE, _encode_resource(resource).SerializeToString())
        self._resource_schema = field(_RESOURCE_SCHEMA, resource.schema_url.encode()) if resource.schema_url else b""
        self._limit = attribute_limit
        self._value_length = value_length_limit  # of string attribute values, as BoundedAttributes cuts them
        self._clock = clock  # the observed time: when the worker made the record, as Logger.emit stamps it
        self._pairs: dict[tuple[str, type, object], bytes] = {}  # body pairs: "event", "n", ...
        self._labels: dict[tuple[str, type, object], Label] = {}
        self._named: dict[str, Named] = {}  # per event name: see _name_parts
        self.shapes = ShapeCache() if shapes is None else shapes  # per (event name, labels): see _shape
        self._context: Context | None = None
        self._trace = b""

    def encode(self, events: Sequence[Event], bodies: Bodies = None) -> bytes:
        """The serialized request carrying one log record per event, in order, with its body from
        ``bodies``; a body of None (or no ``bodies``) is ``body_of(event)``, written from the
        event's fields (no dict built and walked).

        The request is one join of the pieces of all its records: a record's length, which comes
        before it, is added up from the lengths of its pieces, so no record is joined on its own
        and then copied into the request. The request's head, written last, is the only piece
        whose lengths depend on the whole batch.

        Each record is written here, inline: this loop runs once per event and is most of the
        worker's time in OTLP mode, so a method call per record would be paid on every event. What
        the event's name and labels fix is one look-up in the shape cache (``shapes``: its key is
        built inline as ``shapes.shape_key`` builds it, and a hit's non-str values must have the
        shape's types); a miss is ``_shape``. The fields are written in the order of their numbers,
        as the serializer orders them: time, severity number and text, body (the key/value list of
        ``event``, ``n``, ``value`` if any, ``labels`` if any), attributes, (flags, trace id, span
        id), observed time and event name. A record of ``n`` 1 with a float value or none (most)
        is four pieces, from its shape's lead; others are written by ``_record``.
        """
        clock, shapes = self._clock, self.shapes.entries
        out = [b""]  # [0]: the head, once the batch's length is known
        total = 0
        for event, given in with_bodies(events, bodies):
            name, labels = event.name, event.labels
            try:
                key = (name, *labels, *labels.values())
                shape = shapes.get(key)
            except TypeError:  # an unhashable label value (a list, a dict): never cached
                shape = None
            if shape is not None and shape.checks:
                for position, kind in shape.checks:
                    if type(key[position]) is not kind:  # equal but of another type: 1 and True
                        shape = None
                        break
            if shape is None:
                shape = self._shape(name, labels)
            context = event.context
            trace = self._trace if context is self._context and context is not None else self._trace_of(context)
            n, value = event.n, event.value
            if given is None and n == 1 and type(n) is int:
                if type(value) is float:
                    pack, middle, size = shape.float_lead
                    lead = pack(_TIME, event.time_ns, middle, value)
                elif value is None:
                    pack, middle, size = shape.none_lead
                    lead = pack(_TIME, event.time_ns, middle)
                else:
                    total += self._record(out, event, given, shape, trace)
                    continue
                size += len(trace)
                head = _RECORD_HEADS[size] if size < _SHORT else _record_head(size)
                out += (head, lead, shape.tail, trace, _STAMP(_OBSERVED_TIME, clock()), shape.event_name)
                total += len(head) + size
            else:
                total += self._record(out, event, given, shape, trace)
        scope_logs = len(self._scope) + total + len(self._scope_schema)
        out.append(self._scope_schema)
        out.append(self._resource_schema)
        resource_head = self._resource + _SCOPE_LOGS + varint(scope_logs)
        out[0] = _RESOURCE_LOGS + varint(len(resource_head) + scope_logs + len(self._resource_schema)) + resource_head + self._scope
        return b"".join(out)

    def _record(self, out: list[bytes], event: Event, given: dict[str, Any] | None, shape: Shape, trace: bytes) -> int:
        """Append the pieces of a record ``encode`` does not write from a lead (a given body, ``n``
        other than 1, a value not a float); its length, head included."""
        if given is None:
            n, value = event.n, event.value
            number = _N_ONE if n == 1 and type(n) is int else self._pair("n", n)
            measured = (b"" if value is None else _VALUE_PAIR(_VALUE_HEAD, value) if type(value) is float
                        else self._pair("value", value))
            inner = len(shape.event_pair) + len(number) + len(measured) + shape.labelled  # the body's key/value list
            listing = _listing(inner)
            pieces: tuple[bytes, ...] = (listing, shape.event_pair, number, measured, shape.tail)
            body = len(listing) + inner  # the AnyValue around it
        else:
            written = self._body(given, event.labels, shape.block)
            pieces = (written, shape.attributes)
            body = len(written)
        framing = _framing(body)
        size = shape.fixed + len(framing) + body + len(trace)
        head = _record_head(size)
        out += (head, _STAMP(_TIME, event.time_ns), framing)
        out += pieces
        out += (trace, _STAMP(_OBSERVED_TIME, self._clock()), shape.event_name)
        return len(head) + size

    def _shape(self, name: str, labels: dict[str, Any]) -> Shape:
        """The bytes the event's name and labels fix (see ``Shape``), from the per-name and
        per-label caches, kept in the shape cache where it allows. The attributes are cut to the
        SDK's attribute count limit; the body keeps every label."""
        named = self._named.get(name) or self._name_parts(name)
        label_parts = self._labels
        pairs: list[bytes] = []
        attributes = [named[0]]
        for key, item in labels.items():
            kind = type(item)
            label = label_parts.get((key, kind, item)) if kind is str or kind is int or kind is bool else None
            if label is None:
                label = self._label(key, item)
            pairs.append(label[0])
            attributes.append(label[1])
        del attributes[self._limit:]
        listed = b"".join(pairs)
        block = _labels_head(len(listed)) + listed
        shape = Shape(named, block, bool(labels), b"".join(attributes), checks_of(labels))
        self.shapes.add(name, labels, shape, 4 * len(shape.tail) + 3 * len(named[2]))
        return shape

    def _name_parts(self, name: str) -> Named:
        """An event name's ``gyrinx.event`` attribute, ``event_name`` field and body ``event`` pair."""
        attribute = field(_ATTRIBUTES, key_value(EVENT_ATTRIBUTE, _clean_attribute_value(name, self._value_length)))
        parts = (attribute, field(_EVENT_NAME, name.encode()), self._pair("event", name))
        if len(self._named) < _PAIR_LIMIT:
            self._named[name] = parts
        return parts

    def _body(self, body: dict[str, Any], labels: dict[str, Any], block: bytes) -> bytes:
        """The body's ``AnyValue``: a key/value list of its pairs; the event's labels are ``block``."""
        parts = []
        for key, value in body.items():
            kind = type(value)
            if value is labels:
                parts.append(block)
            elif kind is float:
                parts.append((_FLOAT_PAIRS.get(key) or _float_pair(key)) + _DOUBLE(value))
            else:
                parts.append(self._pair(key, value))
        return field(_KVLIST, b"".join(parts))

    def _pair(self, key: str, value: Any) -> bytes:
        """``KeyValueList.values`` entry of one pair (tag included), cached for str/int/bool values
        (not floats: -0.0 == 0.0 would share one encoding)."""
        kind = type(value)
        if _cacheable(kind, value):
            pair = (key, kind, value)
            encoded = self._pairs.get(pair)
            if encoded is None:
                encoded = field(_VALUES, key_value(str(key), value))
                if len(self._pairs) < _PAIR_LIMIT:
                    self._pairs[pair] = encoded
            return encoded
        return field(_VALUES, key_value(str(key), value))

    def _label(self, key: str, value: Any) -> Label:
        """A label's body pair (a ``KeyValueList.values`` entry) and its ``gyrinx.label.<key>``
        attribute (a ``LogRecord.attributes`` entry), with their lengths; cached for str/int/bool
        values."""
        pair = field(_VALUES, key_value(str(key), value))
        attribute = field(_ATTRIBUTES, key_value(LABEL_ATTRIBUTE_PREFIX + key,
                                                 _clean_attribute_value(value, self._value_length)))
        label = (pair, attribute, len(pair), len(attribute))
        kind = type(value)
        if _cacheable(kind, value) and len(self._labels) < _PAIR_LIMIT:
            self._labels[(key, kind, value)] = label
        return label

    def _trace_of(self, context: Context | None) -> bytes:
        """Flags, trace id and span id of the caller's span (none without one), per context once."""
        if context is self._context and context is not None:
            return self._trace
        span = get_current_span(context or get_current()).get_span_context()
        flags = int(span.trace_flags)
        trace = (_FLAGS + _FIXED32(flags) if flags else b"") + (
            _TRACE_ID_HEAD + span.trace_id.to_bytes(TRACE_ID_BYTES, "big") if span.trace_id else b"") + (
            _SPAN_ID_HEAD + span.span_id.to_bytes(SPAN_ID_BYTES, "big") if span.span_id else b"")
        self._context, self._trace = context, trace
        return trace

