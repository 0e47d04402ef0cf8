"""The OTLP output's exporters, for the protocol the standard variables choose (``settings``).

Logs: the request bytes ``wire`` writes from events, sent over gRPC by the official exporter with
its stub's serializer replaced (``logs``), or POSTed over HTTP (``http``). Both lean on private
pieces of the exporter packages (``wire``'s value encoders; ``logs``' stub and translation hooks),
so ``fast_logs_available()`` probes them once (the hooks are there, and ``probe``: wire's bytes
equal the installed official encoder's for sample events); without them the official exporter of the same
protocol gets SDK records (``Logger.emit`` and the official encoder): the same records on the
wire, slower (docs/opentelemetry.md gives the cost).

Metrics: the official exporter of the chosen protocol. Only the timeout is ours by default: the
exporters' own (10 s of retries) would hold the worker, and with it every queued event, for longer
than a Cloud Run shutdown allows.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import TYPE_CHECKING, Any

from opentelemetry.sdk.metrics.export import MetricExporter

from gyrinx_tracker._config import TrackerConfig
from gyrinx_tracker._diagnostics import warn_limited
from gyrinx_tracker._outputs.otlp import settings
from gyrinx_tracker._outputs.shared.sdk import SdkExporterWriter

if TYPE_CHECKING:
    from gyrinx_tracker._outputs.otlp.logs import WireLogWriter


def _timeout(config: TrackerConfig, environ: Mapping[str, str], signal: str) -> float | None:
    """Our export timeout, unless the standard OTEL_EXPORTER_OTLP_*TIMEOUT says otherwise."""
    standard = ("OTEL_EXPORTER_OTLP_TIMEOUT", f"OTEL_EXPORTER_OTLP_{signal}_TIMEOUT")
    return None if any(environ.get(name) for name in standard) else config.export_timeout


@cache
def fast_logs_available() -> bool:
    """Whether the private pieces the fast log path needs are there (probed once per process)."""
    try:
        from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter

        from gyrinx_tracker._outputs.otlp import logs  # noqa: F401 - imports wire, and its private helpers
    except ImportError:
        return False
    from gyrinx_tracker._outputs.otlp.probe import same_bytes

    stub = getattr(OTLPLogExporter, "_initialize_channel_and_stub", None)
    code = getattr(stub, "__code__", None)  # the hook must still be where the stub (_client) is made
    hooks = callable(getattr(OTLPLogExporter, "_translate_data", None)) and code is not None and "_client" in code.co_names
    return hooks and same_bytes()  # and wire's bytes must be the installed encoder's (probe)


def log_writer(config: TrackerConfig, environ: Mapping[str, str]) -> SdkExporterWriter | WireLogWriter:
    """The OTLP log writer for the chosen protocol; raises ImportError without the ``otlp`` extra."""
    protocol = settings.protocol(environ, "LOGS")
    timeout = _timeout(config, environ, "LOGS")
    if not fast_logs_available():
        _warn_slow_path()
        return SdkExporterWriter(_official_log_exporter(protocol, timeout))
    from gyrinx_tracker._outputs.otlp.logs import BatchEncodingLogExporter, WireLogWriter

    if protocol == settings.GRPC:
        return WireLogWriter(BatchEncodingLogExporter(timeout=timeout))
    from gyrinx_tracker._outputs.otlp.http import HttpLogExporter

    return WireLogWriter(HttpLogExporter(settings.http_settings(environ, "LOGS", timeout)))  # type: ignore[arg-type]  # an SDK exporter of bytes, as the gRPC one


def _official_log_exporter(protocol: str, timeout: float | None) -> Any:
    """The official exporter, unchanged, for the public fallback."""
    if protocol == settings.GRPC:
        from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter
    else:
        from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter  # type: ignore[assignment]
    return OTLPLogExporter(timeout=timeout)


def _warn_slow_path() -> None:
    from opentelemetry.sdk.version import __version__

    warn_limited("otlp:fallback", "gyrinx_tracker: opentelemetry %s lacks a private piece of the OTLP "
                 "exporter the fast log encoding uses; using the official exporter unchanged (the same "
                 "records, more CPU per event)", __version__)


def metric_exporter(config: TrackerConfig, environ: Mapping[str, str]) -> MetricExporter | None:
    """The OTLP metric exporter (cumulative) for the chosen protocol, or None without the ``otlp`` extra."""
    timeout = _timeout(config, environ, "METRICS")
    try:
        if settings.protocol(environ, "METRICS") == settings.GRPC:
            from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter

            return OTLPMetricExporter(timeout=timeout)
        from opentelemetry.exporter.otlp.proto.http import Compression
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter as HttpExporter
    except ImportError as error:
        warn_limited("otlp:metrics_package", "gyrinx_tracker cannot export OTLP metrics: a package is missing "
                     "(%s); the gyrinx-tracker[otlp] extra provides it. Events are still logged", error)
        return None
    # The compression is read (and a bad value warned about) here: the official exporter raises on one.
    return HttpExporter(timeout=timeout if timeout is not None else settings.http_timeout(environ, "METRICS"),
                        compression=Compression(settings.compression(environ, "METRICS")))
