"""The loopback servers in tests/servers work with the real clients the tracker uses.

Other tests trust these servers instead of mocks, so each behaviour they promise - recording,
plain-data views, fault injection, delays, clean shutdown - is checked here against the
official clients: google-cloud-logging's GAPIC client and CloudLoggingExporter, the OTLP gRPC
exporters, and urllib for the metadata server.
"""

from __future__ import annotations

import http.client
import json
import logging
import math
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
import warnings
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlsplit

import grpc
import pytest
from google.api.monitored_resource_pb2 import MonitoredResource
from google.api_core import exceptions as api_exceptions
from google.cloud.logging_v2.services.logging_service_v2 import LoggingServiceV2Client
from google.cloud.logging_v2.services.logging_service_v2.transports.grpc import LoggingServiceV2GrpcTransport
from google.cloud.logging_v2.types import ListLogsRequest, LogEntry, WriteLogEntriesRequest
from opentelemetry import trace
from opentelemetry._logs import SeverityNumber
from opentelemetry.exporter.cloud_logging import CloudLoggingExporter
from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter
from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk._logs import LoggerProvider, ReadableLogRecord
from opentelemetry.sdk._logs.export import (
    InMemoryLogRecordExporter,
    LogRecordExportResult,
    SimpleLogRecordProcessor,
)
from opentelemetry.sdk.metrics import Counter, Histogram, MeterProvider, UpDownCounter
from opentelemetry.sdk.metrics.export import (
    AggregationTemporality,
    InMemoryMetricReader,
    MetricExportResult,
    MetricsData,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags

from tests.servers import CloudLoggingServer, MetadataServer, OtlpReceiver

pytest_plugins = ("tests.servers.fixtures",)

TRACE_ID = 0x0AF7651916CD43DD8448EB211C80319C
SPAN_ID = 0x00F067AA0BA902B7


# -- helpers ----------------------------------------------------------------------


def log_batch(**emit: Any) -> Sequence[ReadableLogRecord]:
    """SDK log records as the SDK's own pipeline builds them, inside a sampled span."""
    captured = InMemoryLogRecordExporter()  # type: ignore[no-untyped-call]
    provider = LoggerProvider(resource=Resource.create({"service.name": "gyrinx"}), shutdown_on_exit=False)
    provider.add_log_record_processor(SimpleLogRecordProcessor(captured))
    span = NonRecordingSpan(SpanContext(TRACE_ID, SPAN_ID, is_remote=False, trace_flags=TraceFlags(1)))
    emit.setdefault("context", trace.set_span_in_context(span))
    provider.get_logger("gyrinx_tracker").emit(**emit)
    provider.shutdown()
    return captured.get_finished_logs()


def page_view() -> Sequence[ReadableLogRecord]:
    """The canonical one-record batch used by the exporter tests."""
    return log_batch(
        event_name="page.view",
        body={"n": 1, "path": "/lists"},
        attributes={"user": "u1", "ok": True},
        severity_number=SeverityNumber.INFO,
        severity_text="INFO",
    )


def write_one(client: LoggingServiceV2Client, text: str = "hello", **call: Any) -> None:
    """Write one text entry through the GAPIC client."""
    request = WriteLogEntriesRequest(log_name="projects/p/logs/app", entries=[LogEntry(text_payload=text)])
    client.write_log_entries(request, **call)


def cloud_logging_exporter(client: LoggingServiceV2Client) -> CloudLoggingExporter:
    """The official exporter on the given client, without its (expected) deprecation warning."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "CloudLoggingExporter is deprecated", DeprecationWarning)
        return CloudLoggingExporter(project_id="p", client=client)


def metrics_data(temporality: AggregationTemporality = AggregationTemporality.CUMULATIVE) -> MetricsData:
    """One collection of a counter, up-down counter, histogram and gauge from the real SDK."""
    instruments = (Counter, UpDownCounter, Histogram)
    preferred: dict[type, AggregationTemporality] = {kind: temporality for kind in instruments}
    reader = InMemoryMetricReader(preferred_temporality=preferred)
    provider = MeterProvider(
        metric_readers=[reader], resource=Resource.create({"service.name": "gyrinx"}), shutdown_on_exit=False
    )
    meter = provider.get_meter("gyrinx_tracker")
    meter.create_counter("events", unit="1").add(3, {"event": "page.view"})
    meter.create_up_down_counter("in_flight").add(-2)
    meter.create_histogram("latency", unit="ms", explicit_bucket_boundaries_advisory=[10, 100]).record(42)
    meter.create_gauge("queue").set(7.5)
    data = reader.get_metrics_data()
    provider.shutdown()
    assert data is not None
    return data


def http_get(url: str, *, flavor: bool = True, timeout: float = 5.0) -> tuple[int, dict[str, str], str]:
    """(status, headers, body) of a GET, closing the response even for HTTP errors."""
    request = urllib.request.Request(url, headers={"Metadata-Flavor": "Google"} if flavor else {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, dict(response.headers.items()), response.read().decode()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, dict(error.headers.items()), error.read().decode()


def _wait(predicate: Callable[[], bool], timeout: float = 5.0) -> bool:
    """Poll `predicate` until true; for counters updated on server threads after a reply."""
    end = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > end:
            return False
        time.sleep(0.01)
    return True


# -- Cloud Logging -----------------------------------------------------------------------------


class TestCloudLoggingLifecycle:
    """Binding, restarting and shutting down the Cloud Logging server."""

    def test_endpoint_is_loopback_with_os_chosen_port(self, cloud_logging_server: CloudLoggingServer) -> None:
        """The endpoint is 127.0.0.1 with a non-zero port picked by the OS."""
        host, port = cloud_logging_server.endpoint.split(":")
        assert host == "127.0.0.1" and int(port) == cloud_logging_server.port > 0

    def test_restart_keeps_the_port_and_stop_is_idempotent(self) -> None:
        """A stopped server can start again on the same port, and stop() twice is harmless."""
        server = CloudLoggingServer()
        with server:
            port = server.port
        server.stop()
        with server:
            assert server.port == port and server.running
        assert not server.running

    def test_other_methods_are_unimplemented(self, logging_client: LoggingServiceV2Client) -> None:
        """Methods besides WriteLogEntries fail as UNIMPLEMENTED, like an absent feature."""
        with pytest.raises(api_exceptions.MethodNotImplemented):
            logging_client.list_logs(ListLogsRequest(parent="projects/p"), retry=None)


class TestCloudLoggingRecording:
    """What the server records from the GAPIC client and how entries() presents it."""

    def test_entries_use_rest_json_keys_with_request_defaults(
        self, cloud_logging_server: CloudLoggingServer, logging_client: LoggingServiceV2Client
    ) -> None:
        """Entries come out camelCased, with the request's logName, resource and labels filled in."""
        entry = LogEntry(json_payload={"n": 2}, severity="WARNING", labels={"k": "entry"}, span_id="00f0")
        request = WriteLogEntriesRequest(
            log_name="projects/p/logs/app",
            resource=MonitoredResource(type="cloud_run_revision", labels={"service_name": "web"}),
            labels={"k": "request", "region": "eu"},
            entries=[entry],
        )
        logging_client.write_log_entries(request)
        assert cloud_logging_server.entries() == [
            {
                "logName": "projects/p/logs/app",
                "resource": {"type": "cloud_run_revision", "labels": {"service_name": "web"}},
                "jsonPayload": {"n": 2.0},
                "severity": "WARNING",
                "spanId": "00f0",
                "labels": {"k": "entry", "region": "eu"},
            }
        ]

    def test_raw_requests_and_metadata_are_kept(
        self, cloud_logging_server: CloudLoggingServer, logging_client: LoggingServiceV2Client
    ) -> None:
        """Each request is kept as the raw protobuf along with the client's call metadata."""
        write_one(logging_client, "a")
        write_one(logging_client, "b")
        assert [r.entries[0].text_payload for r in cloud_logging_server.requests] == ["a", "b"]
        assert "gapic/" in cloud_logging_server.request_metadata[0]["x-goog-api-client"]

    def test_wait_for_reports_timeout_as_false(self, cloud_logging_server: CloudLoggingServer) -> None:
        """wait_for() returns False once its timeout passes without enough entries."""
        assert cloud_logging_server.wait_for(1, timeout=0.05) is False

    def test_reset_forgets_records_and_counters(
        self, cloud_logging_server: CloudLoggingServer, logging_client: LoggingServiceV2Client
    ) -> None:
        """reset() empties the records, the counters and pending faults."""
        write_one(logging_client)
        cloud_logging_server.fail_next(3)
        cloud_logging_server.reset()
        server = cloud_logging_server
        assert (server.entries(), server.attempts, server.pending_faults) == ([], 0, 0)


class TestCloudLoggingFaults:
    """Injected failures and delays as the GAPIC client experiences them."""

    def test_unavailable_is_retried_by_the_client_default_policy(
        self, cloud_logging_server: CloudLoggingServer, logging_client: LoggingServiceV2Client
    ) -> None:
        """Two UNAVAILABLE answers are retried away: three attempts, one recorded request."""
        cloud_logging_server.fail_next(2)
        write_one(logging_client)
        server = cloud_logging_server
        assert (server.attempts, server.failures, len(server.requests)) == (3, 2, 1)

    def test_non_retryable_code_reaches_the_caller(
        self, cloud_logging_server: CloudLoggingServer, logging_client: LoggingServiceV2Client
    ) -> None:
        """PERMISSION_DENIED is raised at once and nothing is recorded."""
        cloud_logging_server.fail_next(1, grpc.StatusCode.PERMISSION_DENIED)
        with pytest.raises(api_exceptions.PermissionDenied):
            write_one(logging_client)
        assert (cloud_logging_server.attempts, cloud_logging_server.requests) == (1, [])

    def test_delay_past_the_deadline_is_abandoned_not_recorded(
        self, cloud_logging_server: CloudLoggingServer, logging_client: LoggingServiceV2Client
    ) -> None:
        """A call that outlives its deadline fails for the client and is counted as abandoned."""
        cloud_logging_server.set_delay(0.5)
        with pytest.raises(api_exceptions.DeadlineExceeded):
            write_one(logging_client, timeout=0.1, retry=None)
        cloud_logging_server.set_delay(0)
        write_one(logging_client, "after")
        assert cloud_logging_server.wait_for_requests(1)
        assert _wait(lambda: cloud_logging_server.abandoned == 1)
        assert [e["textPayload"] for e in cloud_logging_server.entries()] == ["after"]

    def test_stop_interrupts_a_delayed_call(self) -> None:
        """stop() does not wait out an injected delay, and the waiting client gets an error."""
        with CloudLoggingServer() as server, server.channel() as channel, ThreadPoolExecutor(1) as pool:
            server.set_delay(30)
            client = LoggingServiceV2Client(transport=LoggingServiceV2GrpcTransport(channel=channel))
            call = pool.submit(write_one, client, retry=None, timeout=10)
            assert _wait(lambda: server.attempts == 1)
            started = time.monotonic()
            server.stop()
            assert isinstance(call.exception(timeout=5), api_exceptions.GoogleAPICallError)
            assert time.monotonic() - started < 3


class TestCloudLoggingExporter:
    """The OpenTelemetry CloudLoggingExporter writing through the real client to the server."""

    def test_sdk_log_record_becomes_a_log_entry(
        self, cloud_logging_server: CloudLoggingServer, logging_client: LoggingServiceV2Client
    ) -> None:
        """One SDK record arrives with log name, payload, trace, span, severity and labels."""
        result = cloud_logging_exporter(logging_client).export(page_view())
        assert result is LogRecordExportResult.SUCCESS and cloud_logging_server.wait_for(1)
        (entry,) = cloud_logging_server.entries()
        assert entry["logName"] == "projects/p/logs/page.view"
        assert entry["jsonPayload"] == {"n": 1.0, "path": "/lists"}
        assert entry["trace"] == f"projects/p/traces/{TRACE_ID:032x}"
        assert (entry["spanId"], entry["traceSampled"]) == (f"{SPAN_ID:016x}", True)
        assert entry["severity"] == "INFO"
        assert entry["labels"] == {"user": "u1", "ok": "true", "event.name": "page.view"}
        assert entry["resource"]["type"] == "generic_task"  # service.name alone maps to generic_task
        assert "timestamp" in entry

    def test_exporter_reports_success_when_the_write_is_rejected(
        self,
        cloud_logging_server: CloudLoggingServer,
        logging_client: LoggingServiceV2Client,
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        """A rejected write is only logged: the exporter still says SUCCESS, so the SDK counts no drop."""
        cloud_logging_server.fail_next(1, grpc.StatusCode.INVALID_ARGUMENT)
        with caplog.at_level(logging.ERROR):
            result = cloud_logging_exporter(logging_client).export(page_view())
        assert result is LogRecordExportResult.SUCCESS
        assert (cloud_logging_server.failures, cloud_logging_server.entries()) == (1, [])
        assert "Error while writing to Cloud Logging" in caplog.text


# -- OTLP -----------------------------------------------------------------------------------


class TestOtlpLogs:
    """Log records sent by the official OTLP gRPC log exporter."""

    def test_log_records_are_flattened_to_plain_data(self, otlp_receiver: OtlpReceiver) -> None:
        """The exported record reads back with body, attributes, ids and resource as Python values."""
        exporter = OTLPLogExporter(endpoint=otlp_receiver.endpoint, insecure=True, timeout=5)
        assert exporter.export(page_view()) is LogRecordExportResult.SUCCESS
        exporter.shutdown()
        assert otlp_receiver.wait_for_logs(1)
        (record,) = otlp_receiver.log_records()
        assert record["event_name"] == "page.view"
        assert (record["severity_number"], record["severity_text"]) == (SeverityNumber.INFO.value, "INFO")
        assert record["body"] == {"n": 1, "path": "/lists"}
        assert record["attributes"] == {"user": "u1", "ok": True}
        assert (record["trace_id"], record["span_id"]) == (f"{TRACE_ID:032x}", f"{SPAN_ID:016x}")
        assert record["resource"]["service.name"] == "gyrinx" and record["scope"] == "gyrinx_tracker"

    def test_absent_trace_context_reads_as_none(self, otlp_receiver: OtlpReceiver) -> None:
        """A record outside any span has trace_id and span_id None, and a list body stays a list."""
        exporter = OTLPLogExporter(endpoint=otlp_receiver.endpoint, insecure=True, timeout=5)
        no_span = trace.set_span_in_context(trace.INVALID_SPAN)
        exporter.export(log_batch(body=[1, "two", None], context=no_span))
        exporter.shutdown()
        (record,) = otlp_receiver.log_records()
        assert (record["trace_id"], record["span_id"], record["body"]) == (None, None, [1, "two", None])

    def test_exporter_headers_are_recorded(self, otlp_receiver: OtlpReceiver) -> None:
        """Headers configured on the exporter are visible in request_metadata."""
        headers = {"x-tenant": "gyrinx"}
        exporter = OTLPLogExporter(endpoint=otlp_receiver.endpoint, insecure=True, headers=headers)
        exporter.export(page_view())
        exporter.shutdown()
        assert otlp_receiver.request_metadata[0]["x-tenant"] == "gyrinx"


class TestOtlpMetrics:
    """Metric data points sent by the official OTLP gRPC metric exporter."""

    @staticmethod
    def export(otlp_receiver: OtlpReceiver, data: MetricsData) -> dict[str, list[dict[str, Any]]]:
        """Export `data` and return the receiver's view of it."""
        exporter = OTLPMetricExporter(endpoint=otlp_receiver.endpoint, insecure=True, timeout=5)
        assert exporter.export(data) is MetricExportResult.SUCCESS
        exporter.shutdown()
        assert otlp_receiver.wait_for_metric("events")
        return otlp_receiver.metric_points()

    def test_sums_and_gauges_read_back_with_their_shape(self, otlp_receiver: OtlpReceiver) -> None:
        """Counters are monotonic sums, up-down counters are not, and gauges have no temporality."""
        points = self.export(otlp_receiver, metrics_data())
        (events,) = points["events"]
        assert (events["kind"], events["value"], events["attributes"]) == ("sum", 3, {"event": "page.view"})
        assert (events["is_monotonic"], events["temporality"], events["unit"]) == (True, "cumulative", "1")
        assert (points["in_flight"][0]["value"], points["in_flight"][0]["is_monotonic"]) == (-2, False)
        (queue,) = points["queue"]
        assert (queue["kind"], queue["value"]) == ("gauge", 7.5)
        assert (queue["temporality"], queue["is_monotonic"]) == (None, None)

    def test_histogram_points_carry_buckets(self, otlp_receiver: OtlpReceiver) -> None:
        """A histogram point has count, sum, min, max and (upper bound, count) buckets."""
        (latency,) = self.export(otlp_receiver, metrics_data())["latency"]
        assert (latency["count"], latency["sum"], latency["min"], latency["max"]) == (1, 42, 42, 42)
        assert latency["buckets"] == [(10.0, 0), (100.0, 1), (math.inf, 0)]

    def test_delta_temporality_is_reported(self, otlp_receiver: OtlpReceiver) -> None:
        """Points collected with delta temporality say so."""
        points = self.export(otlp_receiver, metrics_data(AggregationTemporality.DELTA))
        assert {p["temporality"] for name in ("events", "latency") for p in points[name]} == {"delta"}


class TestOtlpTraces:
    """Spans, accepted so an exporter for them never sees UNIMPLEMENTED."""

    def test_span_is_recorded(self, otlp_receiver: OtlpReceiver) -> None:
        """A span from the real SDK arrives with its name and attributes."""
        provider = TracerProvider(shutdown_on_exit=False)
        exporter = OTLPSpanExporter(endpoint=otlp_receiver.endpoint, insecure=True, timeout=5)
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        with provider.get_tracer("t").start_as_current_span("work", attributes={"k": 1}):
            pass
        provider.shutdown()
        assert [(s["name"], s["attributes"]) for s in otlp_receiver.spans()] == [("work", {"k": 1})]


class TestOtlpFaults:
    """Injected failures and delays as the OTLP exporters experience them."""

    def test_retry_info_hint_makes_the_exporter_retry_quickly(self, otlp_receiver: OtlpReceiver) -> None:
        """Two UNAVAILABLE answers with a 50 ms RetryInfo are retried within a second, then recorded."""
        otlp_receiver.fail_next(2, retry_delay=0.05)
        exporter = OTLPLogExporter(endpoint=otlp_receiver.endpoint, insecure=True, timeout=5)
        started = time.monotonic()
        assert exporter.export(page_view()) is LogRecordExportResult.SUCCESS
        exporter.shutdown()
        assert time.monotonic() - started < 1
        receiver = otlp_receiver
        assert (receiver.attempts, receiver.failures, len(receiver.log_records())) == (3, 2, 1)

    def test_non_retryable_code_is_a_dropped_batch(self, otlp_receiver: OtlpReceiver) -> None:
        """INVALID_ARGUMENT fails the export after one attempt and nothing is recorded."""
        otlp_receiver.fail_next(1, grpc.StatusCode.INVALID_ARGUMENT)
        exporter = OTLPMetricExporter(endpoint=otlp_receiver.endpoint, insecure=True, timeout=5)
        assert exporter.export(metrics_data()) is MetricExportResult.FAILURE
        exporter.shutdown()
        assert (otlp_receiver.attempts, otlp_receiver.metric_points()) == (1, {})

    def test_delay_past_the_exporter_timeout_fails_the_export(self, otlp_receiver: OtlpReceiver) -> None:
        """A stall longer than the exporter's timeout is a failed export, and the call is abandoned."""
        otlp_receiver.set_delay(0.6)
        exporter = OTLPLogExporter(endpoint=otlp_receiver.endpoint, insecure=True, timeout=0.2)
        assert exporter.export(page_view()) is LogRecordExportResult.FAILURE
        exporter.shutdown()
        assert _wait(lambda: otlp_receiver.abandoned == 1) and otlp_receiver.log_records() == []

    def test_exporter_reconnects_after_a_restart(self, otlp_receiver: OtlpReceiver) -> None:
        """While stopped the export fails; after start() on the same port it succeeds again."""
        exporter = OTLPLogExporter(endpoint=otlp_receiver.endpoint, insecure=True, timeout=0.5)
        otlp_receiver.stop()
        assert exporter.export(page_view()) is LogRecordExportResult.FAILURE
        otlp_receiver.start()
        assert exporter.export(page_view()) is LogRecordExportResult.SUCCESS
        exporter.shutdown()
        assert len(otlp_receiver.log_records()) == 1


# -- metadata mock --------------------------------------------------------------------------------


class TestMetadataValues:
    """The values the metadata mock serves."""

    def test_defaults_look_like_cloud_run(self, metadata_server: MetadataServer) -> None:
        """Project id, region path and instance id are served as plain text."""
        assert http_get(metadata_server.url + "project/project-id")[2] == "test-project"
        assert http_get(metadata_server.url + "instance/region")[2] == "projects/123456/regions/europe-west1"
        assert http_get(metadata_server.url + "instance/id")[0] == 200

    def test_values_are_configurable(self) -> None:
        """Constructor keywords shape the defaults and `values` can be edited while running."""
        with MetadataServer(project_id="gyrinx-prod", region="us-central1") as server:
            server.values["instance/id"] = "42"
            assert http_get(server.url + "project/project-id")[2] == "gyrinx-prod"
            assert http_get(server.url + "instance/region")[2].endswith("/regions/us-central1")
            assert http_get(server.url + "instance/id")[2] == "42"

    def test_unknown_key_is_404(self, metadata_server: MetadataServer) -> None:
        """A key that is not configured answers 404."""
        assert http_get(metadata_server.url + "instance/nope")[0] == 404

    def test_directories_list_and_recurse(self, metadata_server: MetadataServer) -> None:
        """A directory lists its children, and ?recursive=true returns camelCased JSON."""
        assert "project-id\n" in http_get(metadata_server.url + "project/")[2]
        tree = json.loads(http_get(metadata_server.url + "?recursive=true")[2])
        assert tree["project"]["projectId"] == "test-project"


class TestMetadataProtocol:
    """The request and response conventions copied from the real server."""

    def test_missing_flavor_header_is_forbidden(self, metadata_server: MetadataServer) -> None:
        """Without Metadata-Flavor: Google the answer is 403."""
        assert http_get(metadata_server.url + "project/project-id", flavor=False)[0] == 403

    def test_every_response_carries_the_flavor_header(self, metadata_server: MetadataServer) -> None:
        """Success, 403 and 404 answers, and the root, all say Metadata-Flavor: Google."""
        base = metadata_server.url
        urls = [base + "project/project-id", base + "missing", f"http://{metadata_server.host}/"]
        answers = [http_get(u) for u in urls] + [http_get(urls[0], flavor=False)]
        assert {headers["Metadata-Flavor"] for _, headers, _ in answers} == {"Google"}

    def test_fixture_points_the_standard_env_vars_here(self, metadata_server: MetadataServer) -> None:
        """The fixture sets GCE_METADATA_HOST to host:port, without a scheme."""
        host = metadata_server.host
        assert os.environ["GCE_METADATA_HOST"] == host == metadata_server.env()["GCE_METADATA_IP"]
        assert metadata_server.host.startswith("127.0.0.1:") and "//" not in metadata_server.host

    def test_google_auth_metadata_client_understands_it(self, metadata_server: MetadataServer) -> None:
        """google-auth's metadata client pings and reads it (in a child: google-auth reads the env once)."""
        code = (
            "from google.auth.transport.requests import Request\n"
            "from google.auth.compute_engine import _metadata as m\n"
            "r = Request()\n"
            "print(m.ping(r), m.get_project_id(r), m.get(r, 'instance/region'))\n"
        )
        argv = [sys.executable, "-W", "error", "-c", code]
        child = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=True)
        assert child.stdout.split() == ["True", "test-project", "projects/123456/regions/europe-west1"]

    def test_requests_are_recorded(self, metadata_server: MetadataServer) -> None:
        """Every request is kept with its headers, so tests can check caching."""
        http_get(metadata_server.url + "project/project-id")
        http_get(metadata_server.url + "project/project-id")
        assert metadata_server.paths() == ["/computeMetadata/v1/project/project-id"] * 2
        assert metadata_server.requests[0].headers["Metadata-Flavor"] == "Google"


class TestMetadataMisbehaviour:
    """Delays and hangs for timeout tests, and shutdown while they are in effect."""

    def test_delay_longer_than_client_timeout_times_out(self, metadata_server: MetadataServer) -> None:
        """A delay past the client's timeout surfaces as a timeout in urllib."""
        metadata_server.set_delay(1.0)
        with pytest.raises((TimeoutError, urllib.error.URLError)):
            http_get(metadata_server.url + "project/project-id", timeout=0.1)

    def test_hang_then_release(self, metadata_server: MetadataServer) -> None:
        """A hung request times out; after release() requests are answered again."""
        metadata_server.hang()
        with pytest.raises((TimeoutError, urllib.error.URLError)):
            http_get(metadata_server.url + "project/project-id", timeout=0.1)
        metadata_server.release()
        assert http_get(metadata_server.url + "project/project-id")[2] == "test-project"

    def test_stop_releases_a_hung_request(self) -> None:
        """stop() returns promptly and the hung client sees the connection close."""
        with MetadataServer() as server:
            server.hang()
            connection = http.client.HTTPConnection(server.host, timeout=5)
            path = urlsplit(server.url).path + "project/project-id"
            connection.request("GET", path, headers={"Metadata-Flavor": "Google"})
            assert _wait(lambda: len(server.requests) == 1)
            started = time.monotonic()
            server.stop()
            with pytest.raises(http.client.RemoteDisconnected):
                connection.getresponse()
            connection.close()
            assert time.monotonic() - started < 2

