"""OTLP log requests written from events, on the wire: the bytes go to a real OTLP gRPC receiver on
loopback as they are, and the receiver gets what the SDK's records would send (the bytes
themselves against the official encoder are tests/unit/test_otlp_wire.py)."""

from __future__ import annotations

from typing import Any

import pytest
from opentelemetry.exporter.otlp.proto.common._log_encoder import encode_logs
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import use_span

import gyrinx_tracker
from gyrinx_tracker import _api
from gyrinx_tracker._outputs.otlp.exporters import fast_logs_available
from gyrinx_tracker._outputs.otlp.logs import EncodedLogs
from gyrinx_tracker._outputs.otlp.wire import WireEncoder
from gyrinx_tracker._signals.otel_logs import scope_of
from tests.helpers.otlp_wire import _events, _split
from tests.servers.otlp import OtlpReceiver

# The byte-for-byte comparison with the official encoder of the installed release is what the fast
# path promises; where the start-up probe refuses it (1.39), the official exporter itself is used
# (tests/integration/test_otlp_http.py::TestFallback) and there is nothing of ours to compare.
pytestmark = pytest.mark.skipif(not fast_logs_available(), reason="the probe takes the official exporter here")

pytest_plugins = ("tests.servers.fixtures",)


class TestThroughTheExporter:
    def test_written_bytes_go_on_the_wire_as_they_are(self, otlp_receiver: OtlpReceiver) -> None:
        """Written bytes are sent unparsed (no FromString and SerializeToString again), and the
        receiver gets the message they encode; SDK records still go as the official encoder's
        message; the stub survives the exporter's reconnection."""
        from gyrinx_tracker._outputs.otlp import logs as otlp_logs

        kept = _events()[:4]
        resource = Resource({"service.name": "web"})
        scope = scope_of(LoggerProvider(resource=resource).get_logger("gyrinx_tracker", "1.2.3"), ("gyrinx_tracker", "1.2.3"))
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

    @pytest.mark.parametrize("value_limit", [None, "3"], ids=["no value length limit", "string values cut to 3"])
    def test_the_receiver_gets_what_the_sdk_records_would_send(self, otlp_receiver: OtlpReceiver,
                                                                 monkeypatch: pytest.MonkeyPatch,
                                                                 value_limit: str | None) -> None:
        """Through the public API to a real receiver: the records equal the official encoding of the SDK
        records the tracker makes for the same calls (``log_exporter=``), times aside; with the SDK's
        attribute value length limit too (string attributes cut, the body whole)."""
        if value_limit is not None:
            monkeypatch.setenv("OTEL_LOGRECORD_ATTRIBUTE_VALUE_LENGTH_LIMIT", value_limit)
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
        attributes = {kv.key: kv.value for kv in expected.resource_logs[0].scope_logs[0].log_records[0].attributes}
        assert attributes["gyrinx.label.endpoint"].string_value == "/0"
        assert attributes["gyrinx.event"].string_value == ("api_call" if value_limit is None else "api")


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
