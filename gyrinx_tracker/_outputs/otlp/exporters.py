"""The OTLP output: the official OpenTelemetry gRPC exporters for logs and metrics.

They honour the standard ``OTEL_EXPORTER_OTLP_*`` variables themselves. Only their timeout is
ours by default: the exporters' own default (10 s of retries) would hold the worker, and with it
every queued event, for longer than a Cloud Run shutdown allows.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from opentelemetry.sdk.metrics.export import MetricExporter

from gyrinx_tracker._config import TrackerConfig

if TYPE_CHECKING:
    from gyrinx_tracker._outputs.otlp.logs import WireLogWriter


def _timeout(config: TrackerConfig, environ: Mapping[str, str], signal: str) -> float | None:
    """Our export timeout, unless the standard OTEL_EXPORTER_OTLP_*TIMEOUT says otherwise."""
    standard = ("OTEL_EXPORTER_OTLP_TIMEOUT", f"OTEL_EXPORTER_OTLP_{signal}_TIMEOUT")
    return None if any(environ.get(name) for name in standard) else config.export_timeout


def log_writer(config: TrackerConfig, environ: Mapping[str, str]) -> WireLogWriter:
    """The OTLP log exporter (encoding whole batches, ``logs``) as a writer; raises ImportError
    without the ``otlp`` extra."""
    from gyrinx_tracker._outputs.otlp.logs import BatchEncodingLogExporter, WireLogWriter

    return WireLogWriter(BatchEncodingLogExporter(timeout=_timeout(config, environ, "LOGS")))


def metric_exporter(config: TrackerConfig, environ: Mapping[str, str]) -> MetricExporter | None:
    """The OTLP metric exporter (cumulative), or None without the ``otlp`` extra."""
    try:
        from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter
    except ImportError:
        return None
    return OTLPMetricExporter(timeout=_timeout(config, environ, "METRICS"))
