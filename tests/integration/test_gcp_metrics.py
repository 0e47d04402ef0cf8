"""Counters and histograms on Google Cloud: OTLP to the Telemetry API, here a real OTLP gRPC
receiver on loopback standing in for telemetry.googleapis.com (GYRINX_TRACKER_CLOUD_MONITORING_ENDPOINT).

The metadata server is a mock (``tests/servers/metadata.py``): Google's cannot run here. The
credentialed path to Google itself cannot be exercised here either; only its failure (no
credentials) is.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

import gyrinx_tracker
from gyrinx_tracker import _api
from tests.servers.cloud_logging import CloudLoggingServer
from tests.servers.metadata import MetadataServer
from tests.servers.otlp import OtlpReceiver

pytest_plugins = ("tests.servers.fixtures",)


@pytest.fixture
def cloud_run(cloud_logging_server: CloudLoggingServer, otlp_receiver: OtlpReceiver, metadata_server: MetadataServer,
              monkeypatch: pytest.MonkeyPatch) -> Iterator[OtlpReceiver]:
    """A Cloud Run revision: logs to the Cloud Logging stand-in, metrics to the Telemetry API stand-in."""
    for name, value in {"K_SERVICE": "gyrinx", "K_REVISION": "gyrinx-00042-abc", "K_CONFIGURATION": "gyrinx",
                        "GYRINX_TRACKER_CLOUD_LOGGING_ENDPOINT": cloud_logging_server.endpoint,
                        "GYRINX_TRACKER_CLOUD_MONITORING_ENDPOINT": otlp_receiver.address}.items():
        monkeypatch.setenv(name, value)
    yield otlp_receiver
    _api.reset()


class TestOnByDefault:
    def test_counters_and_histograms_reach_the_telemetry_api_exactly(self, cloud_run: OtlpReceiver,
                                                                     cloud_logging_server: CloudLoggingServer) -> None:
        """With no option set, a Cloud Run service logs each event and exports exact totals."""
        for index in range(1_000):
            gyrinx_tracker.track("api_call", 1 + index % 2, status=200 if index % 5 else 500, user_id=str(index))
            gyrinx_tracker.track("render_ms", value=float(index % 300))
        assert gyrinx_tracker.flush(20)
        counters = {dict(k)["status"]: p["value"] for k, p in cloud_run.latest("tracker.api_call").items()}
        assert counters == {200: sum(1 + i % 2 for i in range(1_000) if i % 5),
                            500: sum(1 + i % 2 for i in range(1_000) if not i % 5)}
        (histogram,) = cloud_run.latest("tracker.render_ms.value").values()
        assert (histogram["count"], histogram["sum"]) == (1_000, float(sum(i % 300 for i in range(1_000))))
        assert len(cloud_logging_server.entries()) == 2_000
        assert gyrinx_tracker.stats()["metric_exports_failed"] == 0

    def test_the_resource_keeps_instances_apart_and_maps_to_prometheus_target(self, cloud_run: OtlpReceiver) -> None:
        """service.instance.id is the metadata server's instance id and the process id (gunicorn workers of one
        instance keep their series apart); region, platform and job name are set."""
        gyrinx_tracker.track("user_login")
        assert gyrinx_tracker.flush(20)
        (point,) = cloud_run.latest("tracker.user_login").values()
        resource = point["resource"]
        assert resource["service.instance.id"] == f"0087244a2c5a1b2c3d4e5f-{os.getpid()}"
        assert (resource["cloud.region"], resource["cloud.platform"], resource["service.name"]) == (
            "europe-west1", "gcp_cloud_run", "gyrinx")
        assert (resource["gcp.project_id"], resource["faas.version"]) == ("test-project", "gyrinx-00042-abc")

    def test_two_instances_write_different_series(self, cloud_run: OtlpReceiver, monkeypatch: pytest.MonkeyPatch) -> None:
        """Two pipelines whose metadata answers differ (two instances) never share a resource, hence a series."""
        gyrinx_tracker.track("user_login")
        assert gyrinx_tracker.flush(20)
        with MetadataServer(instance_id="second-instance") as other:
            for name, value in other.env().items():
                monkeypatch.setenv(name, value)
            gyrinx_tracker.configure()
            gyrinx_tracker.track("user_login")
            assert gyrinx_tracker.flush(20)
        instances = {p["resource"]["service.instance.id"] for p in cloud_run.metric_points()["tracker.user_login"]}
        assert instances == {f"0087244a2c5a1b2c3d4e5f-{os.getpid()}", f"second-instance-{os.getpid()}"}


class TestWritingLimits:
    def test_points_of_a_series_are_at_least_five_seconds_apart_even_when_flushed_at_once(
            self, cloud_run: OtlpReceiver) -> None:
        """Two flushes in a row: the second point is stamped 5 s after the first, with the new total."""
        gyrinx_tracker.track("checkout", 2)
        assert gyrinx_tracker.flush(20)
        gyrinx_tracker.track("checkout", 3)
        assert gyrinx_tracker.flush(20)
        first, second = cloud_run.metric_points()["tracker.checkout"]
        assert (first["value"], second["value"]) == (2, 5)
        assert second["time_unix_nano"] - first["time_unix_nano"] >= 5_000_000_000

    def test_the_interval_is_at_least_ten_seconds(self, cloud_run: OtlpReceiver) -> None:
        """A shorter metric_interval is raised to Cloud Monitoring's safe minimum."""
        from gyrinx_tracker._outputs import choice

        gyrinx_tracker.configure(metric_interval=1)
        gyrinx_tracker.track("user_login")
        assert gyrinx_tracker.flush(20)
        pipeline: Any = _api._pipeline
        meters = pipeline._worker.output._meters
        assert meters._interval == 10.0 and choice.metric_interval(pipeline.config, {}) == 1.0

    def test_refused_exports_are_counted(self, cloud_run: OtlpReceiver) -> None:
        """A refused export counts in stats()["metric_exports_failed"]; the next carries the totals."""
        import grpc

        cloud_run.fail_next(1, grpc.StatusCode.PERMISSION_DENIED)
        gyrinx_tracker.track("checkout", 4)
        gyrinx_tracker.flush(20)
        assert gyrinx_tracker.stats()["metric_exports_failed"] == 1
        gyrinx_tracker.track("checkout", 1)
        assert gyrinx_tracker.flush(20)
        assert [p["value"] for p in cloud_run.metric_points()["tracker.checkout"]] == [5]


class TestWithoutCredentials:
    def test_no_credentials_costs_the_metrics_only(self, cloud_logging_server: CloudLoggingServer,
                                                   monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
        """Off Google Cloud with no credentials, one warning; the events are still logged."""
        monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", "/nonexistent/credentials.json")
        gyrinx_tracker.configure(exporter="gcp", project_id="proj", cloud_logging_endpoint=cloud_logging_server.endpoint)
        gyrinx_tracker.track("user_login")
        assert gyrinx_tracker.flush(20)
        assert len(cloud_logging_server.entries()) == 1
        assert any("cannot export metrics to Cloud Monitoring" in r.getMessage() for r in caplog.records)
        _api.reset()
