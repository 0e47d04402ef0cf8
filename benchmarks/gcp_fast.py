"""A candidate fast path for the Cloud Logging API output: LogEntry wire bytes written directly.

Not used by the package; the benchmark measures it next to the upstream exporter's conversion and
the package's own (``_gcp_api.TrackerCloudLoggingExporter._fill``) and checks that it produces
the same entries. The payload is a ``google.protobuf.Struct``, whose Python ``update`` walks the
dict in Python and sets every ``Value`` through the message API; here each (key, value) pair is
encoded to its wire bytes once and cached (label keys and most label values repeat), so a typical
entry costs a dict lookup per label plus one C-level parse (``MergeFromString``) into the request.
Field numbers are read from the descriptors, not written down.
"""

from __future__ import annotations

import struct
from typing import Any

from google.cloud.logging_v2.types import LogEntry
from google.logging.type.log_severity_pb2 import INFO as CLOUD_INFO
from google.protobuf import struct_pb2

_FIELDS = LogEntry.pb().DESCRIPTOR.fields_by_name
_VALUE = struct_pb2.Value.DESCRIPTOR.fields_by_name
_PAIR_CACHE_LIMIT = 50_000
_STRING_CACHE_LIMIT = 50_000


def _tag(number: int, wire_type: int) -> bytes:
    return _varint(number << 3 | wire_type)


def _varint(value: int) -> bytes:
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


_LEN, _VARINT, _I64 = 2, 0, 1
_PAYLOAD = _tag(_FIELDS["json_payload"].number, _LEN)
_TIMESTAMP = _tag(_FIELDS["timestamp"].number, _LEN)
_TRACE = _tag(_FIELDS["trace"].number, _LEN)
_SPAN = _tag(_FIELDS["span_id"].number, _LEN)
_SAMPLED = _tag(_FIELDS["trace_sampled"].number, _VARINT) + b"\x01"
_SEVERITY = _tag(_FIELDS["severity"].number, _VARINT) + _varint(CLOUD_INFO)
_NULL = _tag(_VALUE["null_value"].number, _VARINT) + b"\x00"
_NUMBER = _tag(_VALUE["number_value"].number, _I64)
_STRING = _tag(_VALUE["string_value"].number, _LEN)
_TRUE = _tag(_VALUE["bool_value"].number, _VARINT) + b"\x01"
_FALSE = _tag(_VALUE["bool_value"].number, _VARINT) + b"\x00"
_STRUCT = _tag(_VALUE["struct_value"].number, _LEN)
_LIST = _tag(_VALUE["list_value"].number, _LEN)
_FIELD = _tag(1, _LEN)  # Struct.fields (a map entry), MapEntry.key, ListValue.values
_MAP_VALUE = _tag(2, _LEN)  # MapEntry.value
_pack_double = struct.Struct("<d").pack
_SMALL = [_varint(n) for n in range(128)]


def _len(payload: bytes) -> bytes:
    size = len(payload)
    return _SMALL[size] + payload if size < 128 else _varint(size) + payload


class EntryEncoder:
    """Encodes tracker bodies into LogEntry bytes; one instance per exporter (its caches)."""

    def __init__(self) -> None:
        self._pairs: dict[tuple[str, type, Any], bytes] = {}

    def entry(self, timestamp_ns: int, body: dict[str, Any], trace: str | None = None,
              span: str | None = None, sampled: bool = False) -> bytes:
        """``timestamp``, ``severity``, trace fields and ``json_payload``; the request carries the
        log name and the resource."""
        seconds, nanos = divmod(timestamp_ns, 1_000_000_000)
        stamp = b"\x08" + _varint(seconds) + (b"\x10" + _varint(nanos) if nanos else b"")
        head = _TIMESTAMP + _len(stamp) + _SEVERITY
        if trace:
            head += _TRACE + _len(trace.encode()) + _SPAN + _len((span or "").encode())
            if sampled:
                head += _SAMPLED
        return head + _PAYLOAD + _len(self.struct(body))

    def struct(self, mapping: dict[str, Any]) -> bytes:
        pairs = self._pairs
        parts = []
        for key, value in mapping.items():
            kind = type(value)
            # Floats are not cached: they rarely repeat, and 0.0 == -0.0 encode differently.
            cacheable = kind is str or kind is int or kind is bool
            if cacheable:
                cached = pairs.get((key, kind, value))
                if cached is not None:
                    parts.append(cached)
                    continue
            encoded = _FIELD + _len(_FIELD + _len(key.encode()) + _MAP_VALUE + _len(self.value(value)))
            if cacheable and len(pairs) < _PAIR_CACHE_LIMIT:
                pairs[(key, kind, value)] = encoded
            parts.append(encoded)
        return b"".join(parts)

    def value(self, value: Any) -> bytes:
        kind = type(value)
        if kind is str:
            return _STRING + _len(value.encode())
        if kind is bool:
            return _TRUE if value else _FALSE
        if kind is int or kind is float:
            return _NUMBER + _pack_double(value)
        if value is None:
            return _NULL
        if kind is dict:
            return _STRUCT + _len(self.struct(value))
        if kind is list or kind is tuple:
            return _LIST + _len(b"".join(_FIELD + _len(self.value(item)) for item in value))
        return _STRING + _len(str(value).encode())


def fill_request(request: Any, encoder: EntryEncoder, records: list[Any], project: str) -> int:
    """Append one entry per record to ``request`` (a raw WriteLogEntriesRequest); total bytes."""
    size = 0
    add = request.entries.add
    prefix = f"projects/{project}/traces/"
    for record in records:
        log = record.log_record
        trace = span = None
        if log.trace_id:
            trace, span = prefix + format(log.trace_id, "032x"), format(log.span_id or 0, "016x")
        data = encoder.entry(log.timestamp or log.observed_timestamp, log.body, trace, span,
                             bool(log.trace_flags and log.trace_flags.sampled))
        add().MergeFromString(data)
        size += len(data)
    return size
