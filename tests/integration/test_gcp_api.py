"""The Cloud Logging API output, against a real gRPC WriteLogEntries server on loopback.

Only the metadata server is a mock (``tests/servers/metadata.py``): Google's cannot run here.
The fallbacks without the packages or credentials run in children (tests/process/test_gcp_api.py);
the words for each failure are tests/unit/test_gcp_api.py.
"""

from __future__ import annotations

import grpc
import pytest
from opentelemetry.sdk.trace import TracerProvider

import gyrinx_tracker
from tests.servers.cloud_logging import CloudLoggingServer
from tests.servers.metadata import MetadataServer

pytest_plugins = ("tests.servers.fixtures",)

CLOUD_RUN = {"K_SERVICE": "gyrinx", "K_REVISION": "gyrinx-00042-abc", "K_CONFIGURATION": "gyrinx"}


@pytest.fixture(autouse=True)
def _logs_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests pin the log side; metrics on Google Cloud (which need credentials, absent here)
    are pinned against their stand-in in test_gcp_metrics.py."""
    monkeypatch.setenv("GYRINX_TRACKER_GCP_METRICS", "false")


def _configure(server: CloudLoggingServer, **options: object) -> None:
    gyrinx_tracker.configure(exporter="gcp", gcp_transport="api",
                             cloud_logging_endpoint=server.endpoint, **options)  # type: ignore[arg-type]


class TestEntries:
    def test_entries_land_in_the_tracker_log_with_the_original_payload(
            self, cloud_logging_server: CloudLoggingServer) -> None:
        """Each event is one entry in projects/P/logs/tracker whose jsonPayload is the original tracker's shape."""
        _configure(cloud_logging_server, project_id="proj")
        gyrinx_tracker.track("api_call", endpoint="/api/v1/fighters", method="GET", status=200)
        gyrinx_tracker.track("operation_duration", value=123.45, operation="generate_report")
        assert gyrinx_tracker.flush(10)
        entries = cloud_logging_server.entries()
        assert [e["logName"] for e in entries] == ["projects/proj/logs/tracker"] * 2
        assert entries[0]["jsonPayload"] == {
            "event": "api_call", "n": 1.0,
            "labels": {"endpoint": "/api/v1/fighters", "method": "GET", "status": 200.0}}
        assert entries[1]["jsonPayload"]["value"] == 123.45
        assert entries[0]["severity"] == "INFO"
        assert entries[0]["timestamp"].endswith("Z")

    def test_original_queries_select_the_entry(self, cloud_logging_server: CloudLoggingServer) -> None:
        """The original tracker's filters (jsonPayload.event, jsonPayload.labels.endpoint) match the stored entry."""
        _configure(cloud_logging_server, project_id="proj")
        gyrinx_tracker.track("api_call", endpoint="/api/v1/fighters", method="GET", status=200)
        gyrinx_tracker.track("api_call", endpoint="/other", method="GET", status=200)
        assert gyrinx_tracker.flush(10)
        matching = [e for e in cloud_logging_server.entries()
                    if e["jsonPayload"]["event"] == "api_call"
                    and e["jsonPayload"]["labels"]["endpoint"] == "/api/v1/fighters"]
        assert len(matching) == 1

    def test_entries_carry_the_trace_of_the_call_site(self, cloud_logging_server: CloudLoggingServer) -> None:
        """trace, spanId and traceSampled come from the span current where track() was called."""
        _configure(cloud_logging_server, project_id="proj")
        tracer = TracerProvider().get_tracer("test")
        with tracer.start_as_current_span("request") as span:
            gyrinx_tracker.track("user_login")
        gyrinx_tracker.track("outside_span")
        assert gyrinx_tracker.flush(10)
        inside, outside = cloud_logging_server.entries()
        context = span.get_span_context()
        assert inside["trace"] == f"projects/proj/traces/{context.trace_id:032x}"
        assert inside["spanId"] == f"{context.span_id:016x}"
        assert inside["traceSampled"] is True
        assert "trace" not in outside and "spanId" not in outside

    def test_a_batch_is_one_request(self, cloud_logging_server: CloudLoggingServer) -> None:
        """Events queued together are written in one WriteLogEntries call, not one call each."""
        _configure(cloud_logging_server, project_id="proj", flush_interval=5.0)
        for index in range(50):
            gyrinx_tracker.track("bulk", index=index)
        assert gyrinx_tracker.flush(10)
        assert len(cloud_logging_server.requests) == 1
        assert len(cloud_logging_server.entries()) == 50


    def test_large_batches_are_split_into_requests_of_at_most_1000_entries(
            self, cloud_logging_server: CloudLoggingServer) -> None:
        """2,500 events exported together arrive whole, in requests of 1,000, 1,000 and 500 entries.

        Requests go out concurrently (``EXPORT_CONCURRENCY``), so they may be answered in any
        order (each entry carries its own timestamp); within a request the entries keep theirs.
        """
        _configure(cloud_logging_server, project_id="proj", flush_interval=60.0, batch_size=5_000)
        for index in range(2_500):
            gyrinx_tracker.track("bulk", index=index)
        assert gyrinx_tracker.flush(30)
        requests = [[entry["jsonPayload"]["labels"]["index"] for entry in request]
                    for request in cloud_logging_server.entries_by_request()]
        assert sorted(requests) == [list(range(0, 1_000)), list(range(1_000, 2_000)),
                                    list(range(2_000, 2_500))]


class TestResource:
    def test_cloud_run_service_gets_the_cloud_run_revision_resource(
            self, cloud_logging_server: CloudLoggingServer, metadata_server: MetadataServer,
            monkeypatch: pytest.MonkeyPatch) -> None:
        """On Cloud Run the project and region come from the metadata server (mock) and the resource is cloud_run_revision."""
        for name, value in CLOUD_RUN.items():
            monkeypatch.setenv(name, value)
        _configure(cloud_logging_server)
        gyrinx_tracker.track("user_login")
        assert gyrinx_tracker.flush(10)
        (entry,) = cloud_logging_server.entries()
        assert entry["logName"] == "projects/test-project/logs/tracker"
        assert entry["resource"] == {"type": "cloud_run_revision", "labels": {
            "project_id": "test-project", "service_name": "gyrinx", "revision_name": "gyrinx-00042-abc",
            "configuration_name": "gyrinx", "location": "europe-west1"}}

    def test_cloud_run_job_gets_the_cloud_run_job_resource(
            self, cloud_logging_server: CloudLoggingServer, metadata_server: MetadataServer,
            monkeypatch: pytest.MonkeyPatch) -> None:
        """A Cloud Run job's entries carry cloud_run_job with the job name and location."""
        monkeypatch.setenv("CLOUD_RUN_JOB", "nightly-report")
        _configure(cloud_logging_server, project_id="proj")
        gyrinx_tracker.track("report_generated")
        assert gyrinx_tracker.flush(10)
        (entry,) = cloud_logging_server.entries()
        assert entry["resource"] == {"type": "cloud_run_job", "labels": {
            "project_id": "proj", "job_name": "nightly-report", "location": "europe-west1"}}

    def test_environment_detection_picks_gcp_when_k_service_is_set(
            self, cloud_logging_server: CloudLoggingServer, metadata_server: MetadataServer,
            monkeypatch: pytest.MonkeyPatch) -> None:
        """With no exporter named, Cloud Run's variables alone select the Cloud Logging output."""
        for name, value in CLOUD_RUN.items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("GYRINX_TRACKER_CLOUD_LOGGING_ENDPOINT", cloud_logging_server.endpoint)
        gyrinx_tracker.track("user_login")
        assert gyrinx_tracker.flush(10)
        assert len(cloud_logging_server.entries()) == 1

    def test_an_unreachable_metadata_server_costs_only_the_location(
            self, cloud_logging_server: CloudLoggingServer, metadata_server: MetadataServer,
            monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
        """When the metadata server does not answer in time, entries still go out with an empty location."""
        for name, value in CLOUD_RUN.items():
            monkeypatch.setenv(name, value)
        metadata_server.hang()
        _configure(cloud_logging_server, project_id="proj", metadata_timeout=0.2)
        gyrinx_tracker.track("user_login")
        assert gyrinx_tracker.flush(10)
        metadata_server.release()
        (entry,) = cloud_logging_server.entries()
        assert entry["resource"]["labels"]["location"] == ""
        assert "instance/region" in caplog.text


class TestFailures:
    def test_a_transient_failure_is_retried_and_delivered(self, cloud_logging_server: CloudLoggingServer) -> None:
        """UNAVAILABLE once: the write is retried within the export timeout and nothing is lost."""
        _configure(cloud_logging_server, project_id="proj")
        cloud_logging_server.fail_next(1, grpc.StatusCode.UNAVAILABLE)
        gyrinx_tracker.track("user_login")
        assert gyrinx_tracker.flush(10)
        assert len(cloud_logging_server.entries()) == 1
        assert gyrinx_tracker.stats()["exported"] == 1

    def test_a_rejected_write_is_counted_as_dropped(
            self, cloud_logging_server: CloudLoggingServer, caplog: pytest.LogCaptureFixture) -> None:
        """PERMISSION_DENIED is not retried; the batch is counted as dropped and a warning says why."""
        _configure(cloud_logging_server, project_id="proj")
        cloud_logging_server.fail_next(1, grpc.StatusCode.PERMISSION_DENIED)
        for _ in range(3):
            gyrinx_tracker.track("user_login")
        assert gyrinx_tracker.flush(10)
        stats = gyrinx_tracker.stats()
        assert stats["dropped_by_reason"] == {"export_failed": 3}
        assert stats["emitted"] == stats["exported"] + stats["dropped"] == 3
        assert "could not write 3 entries" in caplog.text

    def test_an_unreachable_server_never_blocks_the_caller(self) -> None:
        """With nothing listening, track() returns at once and the events are counted as dropped."""
        gyrinx_tracker.configure(exporter="gcp", gcp_transport="api", project_id="proj",
                                 cloud_logging_endpoint="127.0.0.1:1", export_timeout=0.5)
        gyrinx_tracker.track("user_login")
        assert gyrinx_tracker.flush(10)
        assert gyrinx_tracker.stats()["dropped_by_reason"] == {"export_failed": 1}
