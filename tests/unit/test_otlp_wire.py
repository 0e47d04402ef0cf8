"""OTLP log requests written from events are the bytes the official encoder sends for the SDK's records."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry.context import Context, get_current
from opentelemetry.exporter.otlp.proto.common._log_encoder import encode_logs
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF
from opentelemetry.trace import set_span_in_context, use_span

import gyrinx_tracker
from gyrinx_tracker import _api
from gyrinx_tracker._core.event import Event
from gyrinx_tracker._outputs.otlp.logs import EncodedLogs
from gyrinx_tracker._outputs.otlp.wire import WireEncoder, any_value, varint
from gyrinx_tracker._signals.otel_logs import make_record
from gyrinx_tracker._signals.records import attributes_of, body_of
from tests.servers.otlp import OtlpReceiver

pytest_plugins = ("tests.servers.fixtures",)

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


def _official(kept: list[tuple[Event, dict[str, Any]]], resource: Resource) -> tuple[bytes, list[int]]:
    """What the SDK's records of ``kept`` serialize to through ``encode_logs``, and their observed times."""
    exporter = InMemoryLogRecordExporter()
    provider = LoggerProvider(resource=resource, shutdown_on_exit=False)
    provider.add_log_record_processor(SimpleLogRecordProcessor(exporter))
    logger = provider.get_logger("gyrinx_tracker", "1.2.3")
    for event, body in kept:
        logger.emit(make_record(event.time_ns, event.context, body, attributes_of(event), event.name))
    records = list(exporter.get_finished_logs())
    return encode_logs(records).SerializeToString(), [r.log_record.observed_timestamp for r in records]


def _split(kept: list[tuple[Event, dict[str, Any] | None]]) -> tuple[list[Event], list[dict[str, Any] | None]]:
    return [event for event, _ in kept], [body for _, body in kept]


class TestWireFormat:
    @pytest.mark.parametrize("resource", [Resource({"service.name": "web", "n": 3}),
                                          Resource({"service.name": "web"}, schema_url="https://schema/1")],
                             ids=["resource", "resource with a schema url"])
    def test_the_bytes_equal_the_official_encoders(self, resource: Resource) -> None:
        """Every label kind, trace state, value and sample rate: byte for byte what encode_logs sends."""
        kept = _events()
        expected, observed = _official(kept, resource)
        scope = LoggerProvider(resource=resource).get_logger("gyrinx_tracker", "1.2.3").instrumentation_scope
        clock = iter(observed)
        encoder = WireEncoder(resource, scope, 128, clock=lambda: next(clock))
        assert encoder.encode(*_split(kept)) == expected

    def test_a_body_left_to_the_encoder_is_the_payload(self) -> None:
        """Events without a body (nothing sampled: the payload is ``body_of(event)``), written from the
        event's fields, are the bytes of the same events with their bodies, and so the official ones."""
        kept = [(event, body_of(event)) for event, _ in _events()]
        resource = Resource({"service.name": "web"})
        expected, observed = _official(kept, resource)
        scope = LoggerProvider(resource=resource).get_logger("gyrinx_tracker", "1.2.3").instrumentation_scope
        for bodies in ("none", "mixed"):
            encoder = WireEncoder(resource, scope, 128, clock=iter(observed).__next__)
            given = [(event, None if bodies == "none" or index % 2 else body) for index, (event, body) in enumerate(kept)]
            assert encoder.encode(*_split(given)) == expected, bodies
        assert WireEncoder(resource, scope, 128, clock=iter(observed).__next__).encode(
            [event for event, _ in kept]) == expected, "no bodies"

    def test_cached_pairs_encode_as_fresh_ones(self) -> None:
        """The second batch, written from the pair caches, is the same as the first."""
        kept = _events()
        resource = Resource({"service.name": "web"})
        scope = LoggerProvider(resource=resource).get_logger("gyrinx_tracker", "1.2.3").instrumentation_scope
        encoder = WireEncoder(resource, scope, 128, clock=lambda: 5)
        assert encoder.encode(*_split(kept)) == encoder.encode(*_split(kept))

    @pytest.mark.parametrize("value", [0, 1, 127, 128, 300, 2**53, -1, -(2**63), 2**63 - 1, 0.0, -0.0, 1e300, "",
                                       "ascii", "✓", True, False, None, [1, "a"], {"a": {"b": None}}, b"raw"])
    def test_a_value_encodes_as_the_official_any_value(self, value: Any) -> None:
        """Scalars at the varint and int64 edges, strings, containers: AnyValue bytes as protobuf's."""
        from opentelemetry.exporter.otlp.proto.common._internal import _encode_value

        assert any_value(value) == _encode_value(value).SerializeToString()

    def test_a_varint_matches_protobufs(self) -> None:
        """Lengths past one and two bytes are written as protobuf writes them."""
        for number in (0, 127, 128, 16_383, 16_384, 2**35):
            text = "x" * min(number, 20_000)
            assert any_value(text) == b"\x0a" + varint(len(text)) + text.encode()


class TestThroughTheExporter:
    def test_written_bytes_go_on_the_wire_as_they_are(self, otlp_receiver: OtlpReceiver) -> None:
        """Written bytes are sent unparsed (no FromString and SerializeToString again), and the
        receiver gets the message they encode; SDK records still go as the official encoder's
        message; the stub survives the exporter's reconnection."""
        from gyrinx_tracker._outputs.otlp import logs as otlp_logs

        kept = _events()[:4]
        resource = Resource({"service.name": "web"})
        scope = LoggerProvider(resource=resource).get_logger("gyrinx_tracker", "1.2.3").instrumentation_scope
        payload = WireEncoder(resource, scope, 128).encode(*_split(kept))
        exporter = otlp_logs.BatchEncodingLogExporter(endpoint=otlp_receiver.endpoint, insecure=True)
        sent: list[bytes] = []
        real = otlp_logs.serialized

        def spy(request: Any) -> bytes:
            sent.append(real(request))
            return sent[-1]

        try:
            data = EncodedLogs(payload, len(kept))
            assert exporter._translate_data(data) is data  # no message is built from the bytes
            otlp_logs.serialized = spy  # type: ignore[assignment]  # taken by the stub made next
            exporter._initialize_channel_and_stub()  # as after an UNAVAILABLE error
            assert exporter.export(data).name == "SUCCESS"  # type: ignore[arg-type]
        finally:
            otlp_logs.serialized = real  # type: ignore[assignment]
            exporter.shutdown()
        assert sent == [payload]
        assert otlp_receiver.log_requests == [ExportLogsServiceRequest.FromString(payload)]
        assert len(otlp_receiver.log_requests[0].resource_logs[0].scope_logs[0].log_records) == 4
        message = ExportLogsServiceRequest.FromString(payload)
        assert real(message) == message.SerializeToString()

    def test_the_receiver_gets_what_the_sdk_records_would_send(self, otlp_receiver: OtlpReceiver,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
        """Through the public API to a real receiver: the records equal the official encoding of the SDK
        records the tracker makes for the same calls (``log_exporter=``), times aside."""
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", otlp_receiver.endpoint)
        monkeypatch.setenv("OTEL_SERVICE_NAME", "gyrinx-web")
        span = TracerProvider().get_tracer("app").start_span("request")
        memory = InMemoryLogRecordExporter()
        try:
            for options in ({}, {"log_exporter": memory}):
                gyrinx_tracker.configure(exporter="otlp", local_metrics=False, handle_sigterm=False, **options)
                with use_span(span):
                    _calls()
                assert gyrinx_tracker.flush(10)
        finally:
            _api.reset()
        received = [request for request in otlp_receiver.log_requests]
        expected = encode_logs(list(memory.get_finished_logs()))
        assert [_untimed(rl) for request in received for rl in request.resource_logs] == [
            _untimed(rl) for rl in expected.resource_logs]


def _calls() -> None:
    for index in range(30):
        gyrinx_tracker.track("api_call", 1 + index % 2, value=index / 3 if index % 2 else None, endpoint=f"/{index % 4}",
                             status=200, ok=index % 2 == 0, tags=["a", "b"], meta={"k": index}, ratio=0.5)


def _untimed(resource_logs: Any) -> Any:
    """Resource logs with the times cleared: the two runs made their calls at different times."""
    copy = type(resource_logs).FromString(resource_logs.SerializeToString())
    for scope_logs in copy.scope_logs:
        for record in scope_logs.log_records:
            record.time_unix_nano = record.observed_time_unix_nano = 0
    return copy
