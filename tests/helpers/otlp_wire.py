"""Events of every shape for the OTLP wire tests (tests/unit/test_otlp_wire.py, and the exporter on
the wire in tests/integration/test_otlp_wire.py)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from opentelemetry.context import Context, get_current
from opentelemetry.exporter.otlp.proto.common._log_encoder import encode_logs
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF
from opentelemetry.trace import set_span_in_context

from gyrinx_tracker._core.event import Event
from gyrinx_tracker._signals.otel_logs import make_record
from gyrinx_tracker._signals.records import attributes_of, body_of

LABELS: list[dict[str, Any]] = [
    {"endpoint": "/api", "method": "GET", "status": 200, "ok": True},
    {"endpoint": "/api", "method": "GET", "status": 200, "ok": False, "ratio": 0.5, "zero": -0.0, "none": None},
    {"text": "é ünïcode ✓", "big": 2**53, "negative": -7, "long": "x" * 300},
    {"tags": ["a", 1, 2.5, None, True], "meta": {"k": 1, "": "dropped from attributes", "deep": {"x": [1]}}},
    {},
    {f"key{index}": index for index in range(140)},  # past the SDK's 128-attribute limit
    {f"key{index}": index for index in range(127)},  # the limit exactly, with gyrinx.event
    {"huge": "y" * 5_000, "n2": 2},  # a record longer than the cached lengths (4,096) and 2-byte varints
    {"pairs": "z" * 112},  # the labels' key/value list: 125 bytes, its AnyValue 127 (a 1-byte length)
    {"pairs": "z" * 113},  # 126 bytes, and an AnyValue of 128 (a 2-byte length)
]


def _contexts() -> Iterator[Context | None]:
    sampled = TracerProvider().get_tracer("t").start_span("sampled")
    unsampled = TracerProvider(sampler=ALWAYS_OFF).get_tracer("t").start_span("unsampled")
    yield from (None, get_current(), set_span_in_context(sampled), set_span_in_context(unsampled))


def _events() -> list[tuple[Event, dict[str, Any]]]:
    """Events of every shape, with the body each output would write (a sample rate on some)."""
    found = []
    for index, (labels, context) in enumerate((labels, context) for labels in LABELS for context in _contexts()):
        value: float | int | None = (None, 1.5, 7, 0.0)[index % 4]
        event = Event(f"event_{index % 3}", 1 + index % 2, value, labels, time_ns=1_700_000_000_000_000_000 + index,
                      context=context)
        found.append((event, body_of(event, 0.25 if index % 5 == 0 else 1.0)))
    return found


def _split(kept: list[tuple[Event, dict[str, Any] | None]]) -> tuple[list[Event], list[dict[str, Any] | None]]:
    return [event for event, _ in kept], [body for _, body in kept]


def official_bytes(kept: list[tuple[Event, dict[str, Any]]], resource: Resource) -> tuple[bytes, list[int]]:
    """What the SDK's records of ``kept`` serialize to through the official ``encode_logs``, and their
    observed times: the bytes the wire encoder must equal."""
    exporter = InMemoryLogRecordExporter()
    provider = LoggerProvider(resource=resource, shutdown_on_exit=False)
    provider.add_log_record_processor(SimpleLogRecordProcessor(exporter))
    logger = provider.get_logger("gyrinx_tracker", "1.2.3")
    for event, body in kept:
        logger.emit(make_record(event.time_ns, event.context, body, attributes_of(event), event.name))
    records = list(exporter.get_finished_logs())
    return encode_logs(records).SerializeToString(), [r.log_record.observed_timestamp for r in records]
