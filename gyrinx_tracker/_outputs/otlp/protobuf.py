"""Protobuf's wire format, named: the OTLP log messages' field numbers and wire types, and the primitives.

``wire`` writes ``ExportLogsServiceRequest`` bytes by hand; a reader checks them against the
.proto here, where each field written is declared with its number and wire type, and the tags,
varints and length-delimited fields are made. ``tests/unit/test_otlp_wire_fields.py`` checks every
declaration against the generated descriptors, so a changed .proto fails a test rather than
writing wrong bytes.
"""

from __future__ import annotations

from typing import NamedTuple

_ONE_BYTE_LIMIT = 128  # a varint below it is one byte
_SMALL = [bytes([n]) for n in range(_ONE_BYTE_LIMIT)]


def varint(number: int) -> bytes:
    """Protobuf's base-128 varint of a non-negative ``number``."""
    if number < _ONE_BYTE_LIMIT:
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


# The wire format's contract, named. A field is written as its tag (its number and its wire type in
# one varint), then its payload, laid out as the wire type says:
VARINT = 0  # a varint: bool, enum, int64, uint32
I64 = 1  # 8 little-endian bytes: fixed64, double
LEN = 2  # a varint length, then that many bytes: string, bytes, a message, an entry of a repeated message
I32 = 5  # 4 little-endian bytes: fixed32


class WireField(NamedTuple):
    """A message's field as its .proto declares it: its number, and the wire type of its type."""

    number: int
    wire_type: int


def tag(field_number: int, wire_type: int) -> bytes:
    """The tag written before a field's payload; computed once per field, at import (below)."""
    return varint(field_number << 3 | wire_type)


# The fields written here, by message, as opentelemetry-proto declares them (the message's package
# after each class); tests/unit/test_otlp_wire_fields.py checks each number and wire type against the
# generated descriptors, so that a changed .proto fails a test rather than writing wrong bytes.
class ExportLogsServiceRequestFields:  # opentelemetry.proto.collector.logs.v1
    resource_logs = WireField(1, LEN)  # repeated ResourceLogs


class ResourceLogsFields:  # opentelemetry.proto.logs.v1
    resource = WireField(1, LEN)  # Resource
    scope_logs = WireField(2, LEN)  # repeated ScopeLogs
    schema_url = WireField(3, LEN)  # string


class ScopeLogsFields:  # opentelemetry.proto.logs.v1
    scope = WireField(1, LEN)  # InstrumentationScope
    log_records = WireField(2, LEN)  # repeated LogRecord
    schema_url = WireField(3, LEN)  # string


# Not written: dropped_attributes_count (7); the official encoding of the same records has none
# (tests/unit/test_otlp_wire.py, past the attribute limit too).
class LogRecordFields:  # opentelemetry.proto.logs.v1
    time_unix_nano = WireField(1, I64)  # fixed64
    severity_number = WireField(2, VARINT)  # SeverityNumber (an enum)
    severity_text = WireField(3, LEN)  # string
    body = WireField(5, LEN)  # AnyValue
    attributes = WireField(6, LEN)  # repeated KeyValue
    flags = WireField(8, I32)  # fixed32
    trace_id = WireField(9, LEN)  # bytes
    span_id = WireField(10, LEN)  # bytes
    observed_time_unix_nano = WireField(11, I64)  # fixed64
    event_name = WireField(12, LEN)  # string


# Not written here: array_value (5) and bytes_value (7), left to the official encoder (any_value).
class AnyValueFields:  # opentelemetry.proto.common.v1
    string_value = WireField(1, LEN)  # string
    bool_value = WireField(2, VARINT)  # bool
    int_value = WireField(3, VARINT)  # int64
    double_value = WireField(4, I64)  # double
    kvlist_value = WireField(6, LEN)  # KeyValueList


class KeyValueFields:  # opentelemetry.proto.common.v1
    key = WireField(1, LEN)  # string
    value = WireField(2, LEN)  # AnyValue


class KeyValueListFields:  # opentelemetry.proto.common.v1
    values = WireField(1, LEN)  # repeated KeyValue


SEVERITY_NUMBER_INFO = 9  # SeverityNumber.SEVERITY_NUMBER_INFO, as make_record gives every record
SEVERITY_TEXT = b"INFO"  # and its severity_text
TRACE_ID_BYTES = 16  # a trace id is written as 16 big-endian bytes (as _encode_trace_id does)
SPAN_ID_BYTES = 8  # a span id as 8
