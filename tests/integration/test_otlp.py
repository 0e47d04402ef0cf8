"""The OTLP output: official exporters to a real OTLP gRPC receiver on loopback."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry.sdk.trace import TracerProvider

import gyrinx_tracker
from gyrinx_tracker import _api
from gyrinx_tracker._outputs.otlp.exporters import fast_logs_available
from tests.servers.otlp import OtlpReceiver

pytest_plugins = ("tests.servers.fixtures",)


@pytest.fixture
def otlp_env(otlp_receiver: OtlpReceiver, monkeypatch: pytest.MonkeyPatch) -> Iterator[OtlpReceiver]:
    """The standard OTEL_* variables point the exporters at the receiver (shut down before it stops)."""
    monkeypatch.setenv("GYRINX_TRACKER_EXPORTER", "otlp")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", otlp_receiver.endpoint)
    monkeypatch.setenv("OTEL_SERVICE_NAME", "gyrinx-web")
    monkeypatch.setenv("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment=test")
    yield otlp_receiver
    _api.reset()


class TestLogs:
    def test_each_event_is_one_otlp_log_record(self, otlp_env: OtlpReceiver) -> None:
        """event_name, INFO severity, the original body and routable attributes reach the receiver."""
        tracer = TracerProvider().get_tracer("app")
        with tracer.start_as_current_span("request") as span:
            gyrinx_tracker.track("api_call", endpoint="/api/v1/fighters", method="GET", status=200)
        assert gyrinx_tracker.flush(10)
        (record,) = otlp_env.log_records()
        assert record["event_name"] == "api_call"
        assert record["severity_text"] == "INFO" and record["severity_number"] == 9
        assert record["body"] == {"event": "api_call", "n": 1,
                                  "labels": {"endpoint": "/api/v1/fighters", "method": "GET", "status": 200}}
        assert record["attributes"] == {"gyrinx.event": "api_call", "gyrinx.label.endpoint": "/api/v1/fighters",
                                        "gyrinx.label.method": "GET", "gyrinx.label.status": 200}
        assert record["trace_id"] == f"{span.get_span_context().trace_id:032x}"
        assert record["span_id"] == f"{span.get_span_context().span_id:016x}"

    def test_the_resource_honours_the_standard_variables(self, otlp_env: OtlpReceiver) -> None:
        """OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES end up on the resource."""
        gyrinx_tracker.track("user_login")
        assert gyrinx_tracker.flush(10)
        resource = otlp_env.log_records()[0]["resource"]
        assert resource["service.name"] == "gyrinx-web"
        assert resource["deployment.environment"] == "test"


class TestMetrics:
    def test_counters_and_histograms_are_exact(self, otlp_env: OtlpReceiver) -> None:
        """The counter sums n per series and the histogram counts every value; flush() exports both."""
        for status in (200, 200, 500):
            gyrinx_tracker.track("api_call", n=2, endpoint="/a", status=status, user_id=f"u{status}")
        for value in (10.0, 20.0, 30.0):
            gyrinx_tracker.track("operation_duration", value=value, operation="report")
        assert gyrinx_tracker.flush(10)
        points = otlp_env.metric_points()
        counts = {p["attributes"]["status"]: p["value"] for p in points["tracker.api_call"]}
        assert counts == {200: 4, 500: 2}
        assert all(p["is_monotonic"] and p["unit"] == "{event}" for p in points["tracker.api_call"])
        assert all("user_id" not in p["attributes"] for p in points["tracker.api_call"])
        (histogram,) = points["tracker.operation_duration.value"]
        assert (histogram["count"], histogram["sum"], histogram["unit"]) == (3, 60.0, "ms")


class TestCollectorDown:
    def test_an_unreachable_collector_never_blocks_the_caller(self, otlp_env: OtlpReceiver) -> None:
        """With the receiver stopped, track() keeps returning and the lost batch is counted as dropped."""
        otlp_env.stop()
        gyrinx_tracker.configure(export_timeout=1.0)
        gyrinx_tracker.track("user_login")
        gyrinx_tracker.flush(30)
        stats = gyrinx_tracker.stats()
        assert stats["emitted"] == 1
        assert stats["emitted"] == stats["exported"] + stats["dropped"]
        assert stats["dropped_by_reason"] == {"export_failed": 1}


class TestSelfMetrics:
    def test_drops_are_visible_as_a_metric_by_reason(self, otlp_env: OtlpReceiver) -> None:
        """gyrinx_tracker.dropped reaches the collector with the reason; exported counts the rest."""
        gyrinx_tracker.configure(max_queue=1, when_full="drop", flush_interval=60.0)
        for _ in range(5):
            gyrinx_tracker.track("burst")
        assert gyrinx_tracker.flush(10)
        points = otlp_env.metric_points()
        dropped = {p["attributes"]["reason"]: p["value"] for p in points["gyrinx_tracker.dropped"]}
        assert dropped == {"queue_full": 4}
        assert [p["value"] for p in points["gyrinx_tracker.exported"]][-1] == 1


class TestRequestSize:
    @pytest.mark.skipif(not fast_logs_available(), reason="the fallback (the official exporter, as on OpenTelemetry "
                        "1.39) does not split requests: a known gap, docs/faults.md")
    def test_a_batch_past_the_receivers_message_limit_is_sent_in_requests_under_it(self, otlp_env: OtlpReceiver) -> None:
        """400 events with two 8 KB labels each are one batch of about 13 MB: a receiver at gRPC's
        default 4 MiB limit (the collector's too) refused it whole (RESOURCE_EXHAUSTED), and all 400
        were export_failed. Split into requests under the limit, every one arrives."""
        gyrinx_tracker.configure(flush_interval=30.0)  # one batch: the worker waits for flush()
        for i in range(400):
            gyrinx_tracker.track("upload", note=f"{i:06d}" + "a" * 8_000, more=f"{i:06d}" + "b" * 8_000)
        assert gyrinx_tracker.flush(30)
        books = gyrinx_tracker.stats()
        assert books["dropped_by_reason"] == {}, books
        assert books["exported"] == 400 == len(otlp_env.log_records())
