"""Counters and histograms into Cloud Monitoring without a collector: OTLP to Google's Telemetry API.

Why this route (docs/metrics.md, "Metrics on Google Cloud"): ``telemetry.googleapis.com`` takes OTLP logs,
metrics and traces; metrics land in Cloud Monitoring as Managed Service for Prometheus series
(priced per sample, queried with PromQL or the console). It is reached with the official OTLP gRPC
exporter the ``otlp`` extra already brings, authenticated with Application Default Credentials,
so the exact cumulative ``MetricsData`` of ``_signals.metric_data`` goes out unchanged. The other official
route, ``opentelemetry-exporter-gcp-monitoring`` (MetricService ``CreateTimeSeries``), is
deprecated by its maintainers in favour of OTLP.

Keeping instances apart: Cloud Monitoring's ``prometheus_target`` resource takes ``instance``
from ``service.instance.id``, which is the instance id from the metadata server (a random id
when it cannot be read) and the process id: two Cloud Run instances, or two gunicorn workers of
one instance, never write the same time series (each process's totals are its own). ``location``
comes from ``cloud.region``, ``job`` from ``service.name`` (the service or job name unless
``OTEL_SERVICE_NAME`` says otherwise).

Writing limits: Cloud Monitoring takes at most one point per time series every 5 seconds, so
exports are at least 10 seconds apart on the interval, and ``MIN_GAP`` apart always (see
``ExportedMeters``). ``GYRINX_TRACKER_CLOUD_MONITORING_ENDPOINT`` (``host:port``) sends to a
plain-gRPC OTLP stand-in instead, without credentials: that is how the tests reach a real server.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Mapping
from typing import Any

from opentelemetry.sdk.metrics.export import MetricExporter
from opentelemetry.sdk.resources import Resource

from gyrinx_tracker._config import TrackerConfig
from gyrinx_tracker._outputs.gcp.environment import GcpEnvironment, instance_id
from gyrinx_tracker._signals.resource import instance_id as process_instance_id

TELEMETRY_ENDPOINT = "telemetry.googleapis.com:443"
MIN_INTERVAL = 10.0  # seconds between periodic exports (the limit is one point per 5 s per series)
MIN_GAP = 5.0  # seconds between the end times of two points of one series, flushes included
_SCOPES = ("https://www.googleapis.com/auth/cloud-platform",)


def resource(environ: Mapping[str, str], environment: GcpEnvironment, base: Resource, timeout: float) -> Resource:
    """``base`` (the standard variables) with the Cloud Run attributes Cloud Monitoring maps."""
    labels = environment.resource_labels
    name = environ.get("K_SERVICE") or environ.get("CLOUD_RUN_JOB")
    instance = f"{instance_id(environ, timeout) or uuid.uuid4().hex}-{os.getpid()}"
    found: dict[str, Any] = {"cloud.provider": "gcp", "service.instance.id": instance, "faas.instance": instance}
    if environment.project_id:
        found.update({"gcp.project_id": environment.project_id, "cloud.account.id": environment.project_id})
    if labels.get("location"):
        found["cloud.region"] = labels["location"]
    if name:
        found.update({"cloud.platform": "gcp_cloud_run", "faas.name": name})
        if environ.get("K_REVISION"):
            found["faas.version"] = environ["K_REVISION"]
    merged = Resource(found).merge(base)  # the app's OTEL_* variables win
    if base.attributes.get("service.instance.id") == process_instance_id():  # generated, not the app's choice:
        merged = merged.merge(Resource({"service.instance.id": instance}))  # the Cloud Run instance and pid
    if name and str(merged.attributes.get("service.name", "")).startswith("unknown_service"):
        merged = merged.merge(Resource({"service.name": name}))
    return merged


def metric_exporter(config: TrackerConfig, environment: GcpEnvironment) -> MetricExporter:
    """The OTLP metric exporter for the Telemetry API (or the stand-in); raises without the extras."""
    from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter

    if config.cloud_monitoring_endpoint:
        return OTLPMetricExporter(endpoint=f"http://{config.cloud_monitoring_endpoint}", insecure=True,
                                  timeout=config.export_timeout)
    headers = {"x-goog-user-project": environment.project_id} if environment.project_id else None
    return OTLPMetricExporter(endpoint=TELEMETRY_ENDPOINT, credentials=_google_credentials(), headers=headers,
                              timeout=config.export_timeout)


def _google_credentials() -> Any:
    """TLS plus Application Default Credentials, refreshed by google-auth on each call as needed."""
    import google.auth
    import google.auth.transport.grpc
    import google.auth.transport.requests
    import grpc

    credentials, _ = google.auth.default(scopes=_SCOPES)
    plugin = google.auth.transport.grpc.AuthMetadataPlugin(  # type: ignore[no-untyped-call]  # google-auth is untyped
        credentials, google.auth.transport.requests.Request())
    return grpc.composite_channel_credentials(grpc.ssl_channel_credentials(), grpc.metadata_call_credentials(plugin))
