"""Choosing and building the outputs for a configuration; runs on the exporter thread.

The choice, in order: the application's global OpenTelemetry SDK providers when it installed them
and nothing was configured otherwise; else the exporter named by ``GYRINX_TRACKER_EXPORTER``, where
``auto`` means Google Cloud when detected and local JSON otherwise. An output whose packages are
missing falls back to local JSON with one warning, as the seed promised.
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Mapping
from typing import Any

from opentelemetry.metrics import Meter
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import MetricReader, PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource

from gyrinx_tracker import _otel_logs, _self_metrics
from gyrinx_tracker._config import TrackerConfig
from gyrinx_tracker._diagnostics import warn_once
from gyrinx_tracker._emit import Emitter
from gyrinx_tracker._gcp_env import detect, on_google_cloud
from gyrinx_tracker._local import LocalJsonExporter
from gyrinx_tracker._metrics import Metrics
from gyrinx_tracker._otel_logs import LogRecordExporter
from gyrinx_tracker._resource import resource_from_env
from gyrinx_tracker._stats import Stats
from gyrinx_tracker._version import VERSION

SCOPE = "gyrinx_tracker"


def resolve_exporter(config: TrackerConfig, environ: Mapping[str, str]) -> str:
    """The concrete exporter for ``auto``: ``gcp`` on Google Cloud, else ``console``."""
    if config.exporter != "auto":
        return config.exporter
    return "gcp" if on_google_cloud(environ) else "console"


def build(config: TrackerConfig, stats: Stats, environ: Mapping[str, str] | None = None) -> Emitter:
    """Everything the worker needs to turn events into records, exports and metrics."""
    environ = os.environ if environ is None else environ
    app_logs, app_meters = _app_providers(config)
    if app_logs is not None and config.log_exporter is None:
        logger = app_logs.get_logger(SCOPE, VERSION)
        app_owned: list[Any] = []
        metrics, flushable = _metrics(config, stats, app_meters, environ, app_owned)
        return Emitter(logger, None, None, metrics, [app_logs, *flushable], app_owned)
    exporter, resource = _exporter(config, environ)
    collector = _otel_logs.Collector()
    provider = _otel_logs.private_logger_provider(resource, collector)
    owned: list[Any] = [exporter, provider]
    metrics, flushable = _metrics(config, stats, app_meters, environ, owned, resource)
    return Emitter(provider.get_logger(SCOPE, VERSION), collector, exporter, metrics,
                   [exporter, *flushable], owned, with_attributes=_reads_attributes(exporter))


def _reads_attributes(exporter: LogRecordExporter) -> bool:
    """Our local and Google Cloud outputs say they read only the body (``reads_attributes =
    False``); any other exporter (OTLP, a custom or test one) may route on attributes."""
    return bool(getattr(exporter, "reads_attributes", True))


def _app_providers(config: TrackerConfig) -> tuple[Any | None, Any | None]:
    """The application's SDK providers, when it installed them and we may use them."""
    if config.global_providers == "never" or config.exporter != "auto":
        return None, None
    from opentelemetry.metrics import get_meter_provider

    meters = get_meter_provider()
    return _otel_logs.app_logger_provider(), meters if isinstance(meters, MeterProvider) else None


def _metrics(config: TrackerConfig, stats: Stats, app_meters: Any | None, environ: Mapping[str, str],
             owned: list[Any], resource: Resource | None = None) -> tuple[Metrics | None, list[Any]]:
    """Metrics go to the app's meter provider, to our own when there is a reader, or nowhere."""
    if app_meters is not None and config.metric_reader is None:
        return _metered(app_meters.get_meter(SCOPE, VERSION), config, stats), [app_meters]
    readers = _metric_readers(config, environ)
    if not readers:
        return None, []
    provider = MeterProvider(metric_readers=readers, resource=resource or resource_from_env(),
                             shutdown_on_exit=False)
    owned.append(provider)
    return _metered(provider.get_meter(SCOPE, VERSION), config, stats), [provider]


def _metered(meter: Meter, config: TrackerConfig, stats: Stats) -> Metrics:
    _self_metrics.observe(meter, stats)
    return Metrics(meter, config, stats)


def _metric_readers(config: TrackerConfig, environ: Mapping[str, str]) -> list[MetricReader]:
    if config.metric_reader is not None:
        return [config.metric_reader]
    if resolve_exporter(config, environ) != "otlp":
        return []
    try:
        from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter
    except ImportError:
        return []
    exporter = OTLPMetricExporter(timeout=_otlp_timeout(config, environ, "METRICS"))
    try:
        return [PeriodicExportingMetricReader(exporter)]
    except RuntimeError:
        # Python 3.12 starts no thread once the interpreter is exiting (CPython gh-113964), and a
        # short script's outputs may first be built then: the metrics go out once, at the final flush.
        return [PeriodicExportingMetricReader(exporter, export_interval_millis=math.inf)]


def _otlp_timeout(config: TrackerConfig, environ: Mapping[str, str], signal: str) -> float | None:
    """Our export timeout, unless the standard OTEL_EXPORTER_OTLP_*TIMEOUT says otherwise.

    The exporters' own default (10 s of retries) would hold the worker, and with it every queued
    event, for longer than a Cloud Run shutdown allows.
    """
    standard = ("OTEL_EXPORTER_OTLP_TIMEOUT", f"OTEL_EXPORTER_OTLP_{signal}_TIMEOUT")
    return None if any(environ.get(name) for name in standard) else config.export_timeout


def _exporter(config: TrackerConfig, environ: Mapping[str, str]) -> tuple[LogRecordExporter, Resource]:
    resource = resource_from_env()
    if config.log_exporter is not None:
        return config.log_exporter, resource
    mode = resolve_exporter(config, environ)
    try:
        if mode == "gcp":
            return _gcp_exporter(config, environ), resource
        if mode == "otlp":
            from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter

            return OTLPLogExporter(timeout=_otlp_timeout(config, environ, "LOGS")), resource
    except Exception as error:  # noqa: BLE001 - missing packages, credentials or project
        warn_once(f"fallback:{mode}", "gyrinx_tracker cannot use the %s output (%s: %s; the "
                  "gyrinx-tracker[%s] extra provides its packages); writing JSON through the "
                  "gyrinx.tracker logger instead", mode, type(error).__name__, error, mode)
    return LocalJsonExporter(), resource


def _gcp_exporter(config: TrackerConfig, environ: Mapping[str, str]) -> LogRecordExporter:
    environment = detect(environ, config.project_id, config.gcp_region, config.metadata_timeout)
    if config.gcp_transport == "stdout":
        from gyrinx_tracker._gcp_stdout import CloudRunStdoutExporter

        return CloudRunStdoutExporter(environment.project_id)
    if not environment.project_id:
        raise LookupError("no Google Cloud project: set GOOGLE_CLOUD_PROJECT")
    with warnings.catch_warnings():
        # The upstream exporter is marked deprecated in favour of OTLP ingestion; we keep it on
        # purpose (see README), so its warning must not reach the application.
        warnings.simplefilter("ignore", DeprecationWarning)
        from gyrinx_tracker import _gcp_api

        client = _gcp_api.make_client(config.cloud_logging_endpoint)
        return _gcp_api.TrackerCloudLoggingExporter(environment, config.log_name, client,
                                                    config.export_timeout)
