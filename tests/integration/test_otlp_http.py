"""OTLP over HTTP/protobuf, chosen by the standard variables, to a real OTLP/HTTP receiver on loopback.

Every test counts at the receiver and compares with our books (``stats()``). The forced fallback
(the private pieces probed unavailable) must put the same records on the wire as the fast path.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

import gyrinx_tracker
from gyrinx_tracker import _api
from gyrinx_tracker._outputs.otlp import exporters
from tests.servers.otlp import OtlpReceiver
from tests.servers.otlp_http import OtlpHttpReceiver

pytest_plugins = ("tests.servers.fixtures",)


@pytest.fixture
def http_receiver(monkeypatch: pytest.MonkeyPatch) -> Iterator[OtlpHttpReceiver]:
    """A receiver, and the standard variables choosing http/protobuf to it (shut down before it stops)."""
    receiver = OtlpHttpReceiver().start()
    monkeypatch.setenv("GYRINX_TRACKER_EXPORTER", "otlp")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.endpoint)
    monkeypatch.setenv("OTEL_SERVICE_NAME", "gyrinx-web")
    yield receiver
    _api.reset()
    receiver.stop()


def _track_a_mix() -> None:
    for status in (200, 200, 500):
        gyrinx_tracker.track("api_call", n=2, endpoint="/a", status=status)
    for value in (10.0, 20.0, 30.0):
        gyrinx_tracker.track("operation_duration", value=value, operation="report")


def _comparable(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The records without what differs between two runs (times, the process's instance id)."""
    drop = {"time_unix_nano", "observed_time_unix_nano", "resource"}
    return [{key: value for key, value in record.items() if key not in drop} for record in records]


class TestHttpProtobuf:
    def test_logs_counter_and_histogram_arrive_and_match_the_books(self, http_receiver: OtlpHttpReceiver) -> None:
        """1,000 events, the counter's sums and the histogram's count reach /v1/logs and /v1/metrics."""
        for i in range(1000):
            gyrinx_tracker.track("user_login", method="password" if i % 2 else "sso")
        _track_a_mix()
        assert gyrinx_tracker.flush(10)
        stats = gyrinx_tracker.stats()
        assert len(http_receiver.log_records()) == stats["exported"] == stats["emitted"] == 1006
        points = http_receiver.metric_points()
        logins = {p["attributes"]["method"]: p["value"] for p in points["tracker.user_login"]}
        assert logins == {"password": 500, "sso": 500}
        assert {p["attributes"]["status"]: p["value"] for p in points["tracker.api_call"]} == {200: 4, 500: 2}
        (histogram,) = points["tracker.operation_duration.value"]
        assert (histogram["count"], histogram["sum"], histogram["unit"]) == (3, 60.0, "ms")
        assert set(http_receiver.paths) == {"/v1/logs", "/v1/metrics"}

    def test_headers_and_gzip_are_those_the_variables_name(self, http_receiver: OtlpHttpReceiver,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
        """OTEL_EXPORTER_OTLP_HEADERS and _COMPRESSION apply to the logs and metrics requests alike."""
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_HEADERS", "x-api-key=s3cret,x-team=web")
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip")
        _track_a_mix()
        assert gyrinx_tracker.flush(10)
        assert len(http_receiver.log_records()) == gyrinx_tracker.stats()["exported"] == 6
        for headers in http_receiver.headers_seen:
            assert (headers["x-api-key"], headers["x-team"], headers["Content-Encoding"]) == ("s3cret", "web", "gzip")

    def test_a_busy_receiver_is_retried_and_nothing_is_counted_twice(self, http_receiver: OtlpHttpReceiver) -> None:
        """Two 503 answers, then success: the batch arrives once and is exported once."""
        http_receiver.fail_next(503, 503)
        gyrinx_tracker.track("user_login")
        assert gyrinx_tracker.flush(20)
        assert len(http_receiver.log_records()) == gyrinx_tracker.stats()["exported"] == 1
        assert http_receiver.failures == 2

    def test_a_refusal_is_counted_as_dropped(self, http_receiver: OtlpHttpReceiver) -> None:
        """A 400 is not retried: the batch is dropped, and the books say so."""
        http_receiver.fail_next(400)
        gyrinx_tracker.track("user_login")
        gyrinx_tracker.flush(10)
        stats = gyrinx_tracker.stats()
        assert (stats["exported"], stats["dropped_by_reason"]) == (0, {"export_failed": 1})
        assert http_receiver.log_records() == []

    def test_the_per_signal_endpoint_is_used_as_given(self, http_receiver: OtlpHttpReceiver,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
        """OTEL_EXPORTER_OTLP_LOGS_ENDPOINT gets no path appended; the generic one does."""
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_LOGS_ENDPOINT", http_receiver.endpoint + "/v1/logs")
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:9")  # metrics would fail there
        gyrinx_tracker.configure(metric_reader=InMemoryMetricReader())  # metrics kept in process
        gyrinx_tracker.track("user_login")
        assert gyrinx_tracker.flush(10)
        assert len(http_receiver.log_records()) == 1 and http_receiver.paths == ["/v1/logs"]


class TestFallback:
    @pytest.mark.parametrize("protocol", ["http/protobuf", "grpc"])
    def test_without_the_private_pieces_the_official_exporter_sends_the_same_records(
            self, protocol: str, http_receiver: OtlpHttpReceiver, otlp_receiver: OtlpReceiver,
            monkeypatch: pytest.MonkeyPatch) -> None:
        """The probe says unavailable: the official exporter of the same protocol sends identical records."""
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", protocol)
        receiver: OtlpReceiver = http_receiver if protocol != "grpc" else otlp_receiver
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.endpoint)
        runs = []
        for forced in (None, False):  # the probe's own answer (True from 1.40 on), then the fallback
            if forced is not None:
                monkeypatch.setattr(exporters, "fast_logs_available", lambda: False)
            receiver.log_requests.clear()
            gyrinx_tracker.configure(metric_reader=InMemoryMetricReader())  # metrics kept in process
            for i in range(50):
                gyrinx_tracker.track("api_call", endpoint=f"/e{i % 3}", status=200, ratio=i / 7, ok=bool(i % 2))
            assert gyrinx_tracker.flush(10)
            assert len(receiver.log_records()) == gyrinx_tracker.stats()["exported"] == 50
            runs.append(_comparable(receiver.log_records()))
            _api.reset()
        assert runs[0] == runs[1]


class TestProtocolChoice:
    def test_an_unknown_protocol_warns_once_and_uses_grpc(self, otlp_receiver: OtlpReceiver,
                                                          monkeypatch: pytest.MonkeyPatch,
                                                          caplog: pytest.LogCaptureFixture) -> None:
        """OTEL_EXPORTER_OTLP_PROTOCOL=http/xml: a warning naming it, the value and the default; events go by gRPC."""
        monkeypatch.setenv("GYRINX_TRACKER_EXPORTER", "otlp")
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/xml")
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", otlp_receiver.endpoint)
        try:
            gyrinx_tracker.track("user_login")
            assert gyrinx_tracker.flush(10)
            assert len(otlp_receiver.log_records()) == gyrinx_tracker.stats()["exported"] == 1
        finally:
            _api.reset()
        warnings = [r.getMessage() for r in caplog.records if "OTEL_EXPORTER_OTLP_PROTOCOL" in r.getMessage()]
        assert len(warnings) == 1
        assert "'http/xml'" in warnings[0] and "using the default, grpc" in warnings[0]

    def test_http_json_warns_and_sends_http_protobuf(self, http_receiver: OtlpHttpReceiver,
                                                     monkeypatch: pytest.MonkeyPatch,
                                                     caplog: pytest.LogCaptureFixture) -> None:
        """The official Python exporters offer no http/json: one warning, and protobuf to the same endpoint."""
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json")
        gyrinx_tracker.track("user_login")
        assert gyrinx_tracker.flush(10)
        assert len(http_receiver.log_records()) == gyrinx_tracker.stats()["exported"] == 1
        warnings = [r.getMessage() for r in caplog.records if "http/json" in r.getMessage()]
        assert any("offer no http/json" in w for w in warnings)

    def test_each_signal_may_have_its_own_protocol(self, http_receiver: OtlpHttpReceiver,
                                                   otlp_receiver: OtlpReceiver,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
        """Logs over HTTP, metrics over gRPC, as OTEL_EXPORTER_OTLP_METRICS_PROTOCOL/_ENDPOINT say."""
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_METRICS_PROTOCOL", "grpc")
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", otlp_receiver.endpoint)
        _track_a_mix()
        assert gyrinx_tracker.flush(10)
        assert len(http_receiver.log_records()) == gyrinx_tracker.stats()["exported"] == 6
        assert http_receiver.metric_requests == []
        counts = {p["attributes"]["status"]: p["value"] for p in otlp_receiver.metric_points()["tracker.api_call"]}
        assert counts == {200: 4, 500: 2}
