"""The floors: the least a pipeline that writes the same output can do, measured beside ours (issue 27).

Each mode's cost is read against a floor built for it, in the same run, on the same calls, counted
where its output lands like every other row; so "how far from the limit" is a measured ratio, not
a guess. They are deliberately lean and deliberately incomplete: each does the work its output
needs and nothing that the tracker does for robustness (no books, no validation or redaction of
labels, no size limits, no drop policy, no retries, no line locking against other
processes, no metrics). What a floor leaves out is said in its ``about`` (``impls.IMPLS``).

* ``DequeFloor``: the calling thread's floor, ``dq.append((event, n, value, labels))``; nothing is
  done with the calls until ``flush``, which counts and discards them.
* ``BatchFloor``: the caller appends a tuple to a deque (and waits while it holds more than
  ``MAX_QUEUE``, the tracker's default bound); a thread of its own wakes every ``POLL``
  seconds, takes batches of ``BATCH`` (the tracker's default batch size) and hands each to a
  ``write`` function: one write (and flush) of ``json.dumps`` lines to the sink file
  (``local_lines``), Cloud Run structured lines (``CloudRunLines``), or one gRPC call of an OTLP
  ``ExportLogsServiceRequest`` built from bytes cached per label set (``OtlpRequests``).
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable, Hashable
from struct import Struct
from typing import Any, TextIO

from opentelemetry.context import Context, get_current
from opentelemetry.trace import get_current_span

BATCH = 512  # the tracker's default BATCH_SIZE
MAX_QUEUE = 20_000  # the tracker's default MAX_QUEUE: past it a caller waits (its default WHEN_FULL=block)
POLL = 0.005  # seconds the worker sleeps between looks at the deque: the caller never wakes it
OTLP_LOGS_EXPORT = "/opentelemetry.proto.collector.logs.v1.LogsService/Export"


class DequeFloor:
    """The calling thread's floor: one append of the call's arguments, nothing else."""

    def __init__(self) -> None:
        self.calls: deque[tuple[str, int, float | None, dict[str, Any]]] = deque()
        self.held = 0  # calls taken off the deque by flush(): the row's "received"

    def track_function(self) -> Callable[..., None]:
        append = self.calls.append

        def track(event: str, n: int = 1, value: float | None = None, **labels: Any) -> None:
            append((event, n, value, labels))

        return track

    def flush(self) -> None:
        self.held += len(self.calls)
        self.calls.clear()


Write = Callable[[list[Any]], None]


class BatchFloor:
    """A deque drained in batches by a thread of its own; ``write`` gets each batch of call tuples.

    ``stamped``: the caller adds the time (``time_ns()``) and the OpenTelemetry context (for the trace
    fields), as an output that writes a time and a trace per event must (the tracker does the same);
    the local floor's line has neither, so its caller only appends.
    """

    def __init__(self, write: Write, stamped: bool) -> None:
        self._write = write
        self._stamped = stamped
        self._calls: deque[Any] = deque()
        self._lock = threading.Lock()  # one drainer at a time: the worker or flush()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="floor-worker", daemon=True)
        self._thread.start()

    def track_function(self) -> Callable[..., None]:
        calls, full = self._calls, self._full
        append = calls.append
        if not self._stamped:
            def track(event: str, n: int = 1, value: float | None = None, **labels: Any) -> None:
                append((event, n, value, labels))
                if len(calls) > MAX_QUEUE:
                    full()
            return track
        clock, context = time.time_ns, get_current

        def track_stamped(event: str, n: int = 1, value: float | None = None, **labels: Any) -> None:
            append((clock(), context(), event, n, value, labels))
            if len(calls) > MAX_QUEUE:
                full()

        return track_stamped

    def _full(self) -> None:
        """Wait, GIL released, until the worker has made room: memory stays bounded under 8 threads."""
        while len(self._calls) > MAX_QUEUE and not self._stop.is_set():
            time.sleep(0.001)

    def _run(self) -> None:
        while not self._stop.wait(POLL):
            self._drain()

    def _drain(self) -> None:
        calls, write = self._calls, self._write
        popleft = calls.popleft
        with self._lock:  # only the drainer pops, so len() can only grow meanwhile
            while calls:
                write([popleft() for _ in range(min(len(calls), BATCH))])

    def flush(self) -> None:
        self._drain()

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self._drain()


def local_lines(stream: TextIO) -> Write:
    """The local floor: the original payload through ``json.dumps``, one write and flush per batch."""
    dumps = json.dumps

    def write(batch: list[tuple[str, int, float | None, dict[str, Any]]]) -> None:
        stream.write("".join([dumps({"event": event, "n": n, "value": value, "labels": labels}) + "\n"
                              for event, n, value, labels in batch]))
        stream.flush()

    return write


class CloudRunLines:
    """The Cloud Run stdout floor: ``{"severity","time",[trace fields],"event","n","value","labels"}``
    as compact JSON (the public encoder, UTF-8 kept), the line's head cached per second, one write and
    flush per batch."""

    def __init__(self, stream: TextIO, project_id: str) -> None:
        self._stream = stream
        self._trace_prefix = f"projects/{project_id}/traces/"
        self._encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), check_circular=False).encode
        self._second, self._head = -1, ""

    def _line_head(self, second: int) -> str:
        self._second = second
        self._head = '{"severity":"INFO","time":"' + time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second)) + "."
        return self._head

    def _trace(self, context: Context) -> str:
        span = get_current_span(context).get_span_context()
        if not span.is_valid:
            return ""
        return (f'"logging.googleapis.com/trace":"{self._trace_prefix}{span.trace_id:032x}",'
                f'"logging.googleapis.com/spanId":"{span.span_id:016x}",'
                f'"logging.googleapis.com/trace_sampled":{"true" if span.trace_flags.sampled else "false"},')

    def __call__(self, batch: list[tuple[int, Context, str, int, float | None, dict[str, Any]]]) -> None:
        encode, lines = self._encode, []
        for time_ns, context, event, n, value, labels in batch:
            second, rest = divmod(time_ns, 1_000_000_000)
            head = self._head if second == self._second else self._line_head(second)
            trace = self._trace(context) if context else ""  # an empty context has no span
            payload = encode({"event": event, "n": n, "value": value, "labels": labels})
            lines.append(f'{head}{rest // 1000:06d}Z",{trace}{payload[1:]}\n')
        self._stream.write("".join(lines))
        self._stream.flush()


# Protobuf's wire format, the little of it the OTLP floor writes by hand.
def varint(number: int) -> bytes:
    out = bytearray()
    while number > 0x7F:
        out.append(number & 0x7F | 0x80)
        number >>= 7
    out.append(number)
    return bytes(out)


_LENGTHS = [varint(n) for n in range(4_096)]  # a record's and its body's lengths, written once


def length(number: int) -> bytes:
    return _LENGTHS[number] if number < 4_096 else varint(number)


def tag(number: int, wire_type: int) -> bytes:
    return varint(number << 3 | wire_type)


def field(head: bytes, payload: bytes) -> bytes:
    """A length-delimited field: its tag, its length, its bytes."""
    size = len(payload)
    return head + (_LENGTHS[size] if size < 4_096 else varint(size)) + payload


_VARINT, _I64, _LEN, _I32 = 0, 1, 2, 5
_FIXED64, _DOUBLE, _FIXED32 = Struct("<Q").pack, Struct("<d").pack, Struct("<I").pack
_RESOURCE_LOGS, _RESOURCE, _SCOPE_LOGS, _SCOPE, _LOG_RECORDS = (tag(1, _LEN), tag(1, _LEN), tag(2, _LEN), tag(1, _LEN),
                                                                 tag(2, _LEN))
_TIME, _OBSERVED, _EVENT_NAME = tag(1, _I64), tag(11, _I64), tag(12, _LEN)
_SEVERITY = tag(2, _VARINT) + varint(9) + field(tag(3, _LEN), b"INFO")  # SEVERITY_NUMBER_INFO, "INFO"
_BODY, _ATTRIBUTE, _FLAGS, _TRACE_ID, _SPAN_ID = tag(5, _LEN), tag(6, _LEN), tag(8, _I32), tag(9, _LEN), tag(10, _LEN)
_KVLIST, _VALUES = tag(6, _LEN), tag(1, _LEN)  # AnyValue.kvlist_value, KeyValueList.values
_KEY, _VALUE = tag(1, _LEN), tag(2, _LEN)  # KeyValue.key, .value
_STRING, _BOOL, _INT, _DOUBLE_VALUE = tag(1, _LEN), tag(2, _VARINT), tag(3, _VARINT), tag(4, _I64)  # AnyValue's
_FIXED_BYTES = len(_TIME) + 8 + len(_SEVERITY) + len(_OBSERVED) + 8  # a record's bytes that never change


def _any_value(item: Any) -> bytes:
    """The ``AnyValue`` message of a label value (the JSON types but lists: the benchmark's calls have none)."""
    kind = type(item)
    if kind is str:
        return field(_STRING, item.encode())
    if kind is bool:
        return _BOOL + varint(int(item))
    if kind is int and -(1 << 63) <= item < 1 << 63:
        return _INT + varint(item & (1 << 64) - 1)
    if kind is float:
        return _DOUBLE_VALUE + _DOUBLE(item)
    if item is None:
        return b""
    if kind is dict:
        return field(_KVLIST, b"".join([_pair(str(key), value) for key, value in item.items()]))
    raise TypeError(f"the OTLP floor writes str, int, bool, float, None and dict labels, not {kind.__name__}")


def _key_value(key: str, value: Any) -> bytes:
    """A ``KeyValue`` message."""
    return field(_KEY, key.encode()) + field(_VALUE, _any_value(value))


def _pair(key: str, value: Any) -> bytes:
    """A ``KeyValueList.values`` entry, tag included."""
    return field(_VALUES, _key_value(key, value))


Cached = tuple[bytes, bytes, bytes, bytes]  # body pairs "event" and "labels", attributes, event_name field


class OtlpRequests:
    """The OTLP floor: an ``ExportLogsServiceRequest`` per batch, one unary gRPC call of its bytes.

    Each record carries what the tracker's does (severity INFO, the body ``{event, n, value, labels}``,
    ``gyrinx.event`` and ``gyrinx.label.<key>`` attributes, the trace of the caller's context, the
    event name, the time and an observed time), written from bytes cached per (event, labels): per
    event only the time, ``n`` and ``value`` are encoded and the lengths added up; one join per
    request. The observed time is read once per batch. Logs only, no metrics; no attribute limits.
    """

    def __init__(self, target: str, service: str = "bench") -> None:
        import grpc
        from opentelemetry.proto.common.v1.common_pb2 import InstrumentationScope
        from opentelemetry.proto.resource.v1.resource_pb2 import Resource
        from opentelemetry.sdk.resources import Resource as SdkResource

        attributes = SdkResource.create({"service.name": service}).attributes
        resource = b"".join(field(tag(1, _LEN), _key_value(key, value)) for key, value in attributes.items())
        Resource.FromString(resource)  # a malformed resource fails here, not at the receiver
        self._resource = field(_RESOURCE, resource)
        self._scope = field(_SCOPE, InstrumentationScope(name="gyrinx_tracker").SerializeToString())
        self._channel = grpc.insecure_channel(target)
        self._export = self._channel.unary_unary(OTLP_LOGS_EXPORT)  # no serializers: bytes in, bytes out
        self._cache: dict[Hashable, Cached] = {}
        self._labels: dict[tuple[str, type, Any], tuple[bytes, bytes]] = {}  # per label: body pair, attribute
        self._n_one = _pair("n", 1)
        self._value_head = _pair("value", 0.0)[:-8]  # all of the "value" pair but its double's 8 bytes

    def _parts(self, event: str, labels: dict[str, Any]) -> Cached:
        """A label set's bytes, joined from bytes cached per label (a new set mostly repeats known labels)."""
        pairs, attributes = [], [field(_ATTRIBUTE, _key_value("gyrinx.event", event))]
        for key, value in labels.items():
            known = self._labels.get((key, type(value), value)) if type(value) in (str, int, bool) else None
            if known is None:
                known = _pair(key, value), field(_ATTRIBUTE, _key_value("gyrinx.label." + key, value))
                if type(value) in (str, int, bool):
                    self._labels[(key, type(value), value)] = known
            pairs.append(known[0])
            attributes.append(known[1])
        listed = b"" if not labels else field(_VALUES, field(_KEY, b"labels") + field(_VALUE, field(_KVLIST, b"".join(pairs))))
        return _pair("event", event), listed, b"".join(attributes), field(_EVENT_NAME, event.encode())

    def __call__(self, batch: list[tuple[int, Context, str, int, float | None, dict[str, Any]]]) -> None:
        cache, out, total = self._cache, [b""], 0
        observed = _OBSERVED + _FIXED64(time.time_ns())
        for time_ns, context, event, n, value, labels in batch:
            try:  # equal values of other types (1, 1.0, True) would share bytes: the benchmark's are str and int
                key: Hashable = (event, *labels.items())
                parts = cache.get(key)
            except TypeError:  # an unhashable label value: not cached
                key, parts = None, None
            if parts is None:
                parts = self._parts(event, labels)
                if key is not None:
                    cache[key] = parts
            named, listed, attributes, name = parts
            number = self._n_one if n == 1 else _pair("n", n)
            measured = b"" if value is None else (self._value_head + _DOUBLE(value) if type(value) is float
                                                  else _pair("value", value))
            inner = len(named) + len(number) + len(measured) + len(listed)
            inner_head = _KVLIST + length(inner)
            body_head = _BODY + length(len(inner_head) + inner)
            trace = _trace(context) if context else b""
            size = _FIXED_BYTES + len(body_head) + len(inner_head) + inner + len(attributes) + len(trace) + len(name)
            record_head = _LOG_RECORDS + length(size)
            out += (record_head, _TIME, _FIXED64(time_ns), _SEVERITY, body_head, inner_head, named, number, measured,
                    listed, attributes, trace, observed, name)
            total += len(record_head) + size
        scope_logs = len(self._scope) + total
        resource_logs = len(self._resource) + len(_SCOPE_LOGS) + len(varint(scope_logs)) + scope_logs
        out[0] = _RESOURCE_LOGS + varint(resource_logs) + self._resource + _SCOPE_LOGS + varint(scope_logs) + self._scope
        self._export(b"".join(out), timeout=60)

    def close(self) -> None:
        self._channel.close()


def _trace(context: Context) -> bytes:
    """Flags, trace id and span id of the context's span, where it has a valid one."""
    span = get_current_span(context).get_span_context()
    if not span.is_valid:
        return b""
    flags = int(span.trace_flags)
    return ((_FLAGS + _FIXED32(flags) if flags else b"") + _TRACE_ID + varint(16) + span.trace_id.to_bytes(16, "big")
            + _SPAN_ID + varint(8) + span.span_id.to_bytes(8, "big"))
