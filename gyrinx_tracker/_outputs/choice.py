"""Choosing and building the output for one configuration; runs on the worker thread.

The choice, in order:

1. the application's global OpenTelemetry SDK providers, when it installed them and no exporter
   was named (``ProviderOutput``);
2. the exporter named by ``GYRINX_TRACKER_EXPORTER``, where ``auto`` means Google Cloud when
   detected and local JSON otherwise (``WriterOutput`` with the matching ``LogWriter``);
3. an output whose packages are missing falls back to local JSON with one warning, as the
   original tracker did.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import MetricReader
from opentelemetry.sdk.resources import Resource

from gyrinx_tracker import _otel_logs, _self_metrics
from gyrinx_tracker._catalogue import catalogue_for
from gyrinx_tracker._config import TrackerConfig
from gyrinx_tracker._diagnostics import warn_limited
from gyrinx_tracker._metrics import Metrics
from gyrinx_tracker._outputs import otlp
from gyrinx_tracker._outputs.base import LogWriter, Output
from gyrinx_tracker._outputs.gcp_env import detect, on_google_cloud
from gyrinx_tracker._outputs.local import LocalJsonWriter
from gyrinx_tracker._outputs.sdk import SdkExporterWriter
from gyrinx_tracker._outputs.signals import MeterSide, ProviderOutput, WriterOutput
from gyrinx_tracker._resource import resource_from_env
from gyrinx_tracker._sampling import sampler_for
from gyrinx_tracker._stats import Stats
from gyrinx_tracker._version import VERSION

SCOPE = ("gyrinx_tracker", VERSION)


def resolve_exporter(config: TrackerConfig, environ: Mapping[str, str]) -> str:
    """The concrete exporter for ``auto``: ``gcp`` on Google Cloud, else ``console``."""
    if config.exporter != "auto":
        return config.exporter
    return "gcp" if on_google_cloud(environ) else "console"


def open_output(config: TrackerConfig, stats: Stats, environ: Mapping[str, str] | None = None) -> Output:
    """Everything the worker needs to turn events into records, exports and metrics."""
    environ = os.environ if environ is None else environ
    app_logs, app_meters = _app_providers(config)
    catalogue = catalogue_for(config)
    rates_from = catalogue.sample_rate_for if catalogue is not None and catalogue.has_rates else None
    sampler = sampler_for(config.sample_rates, config.sample_caps, rates_from)
    if app_logs is not None and config.log_exporter is None:
        return ProviderOutput(app_logs, _meter_side(config, stats, app_meters, environ), SCOPE, sampler)
    resource = resource_from_env()
    writer = _writer(config, environ)
    collector = _otel_logs.Collector()
    provider = _otel_logs.private_logger_provider(resource, collector)
    meters = _meter_side(config, stats, app_meters, environ, resource)
    return WriterOutput(provider, collector, writer, meters, SCOPE, sampler)


def _app_providers(config: TrackerConfig) -> tuple[Any | None, MeterProvider | None]:
    """The application's SDK providers, when it installed them and we may use them."""
    if config.global_providers == "never" or config.exporter != "auto":
        return None, None
    from opentelemetry.metrics import get_meter_provider

    meters = get_meter_provider()
    return _otel_logs.app_logger_provider(), meters if isinstance(meters, MeterProvider) else None


def _meter_side(config: TrackerConfig, stats: Stats, app_meters: MeterProvider | None,
                environ: Mapping[str, str], resource: Resource | None = None) -> MeterSide | None:
    """Metrics go to the app's meter provider, to our own when there is a reader, or nowhere."""
    if app_meters is not None and config.metric_reader is None:
        return MeterSide(_metrics(app_meters, config, stats), app_meters, owned=False)
    reader = _metric_reader(config, environ)
    if reader is None:
        return None
    provider = MeterProvider(metric_readers=[reader], resource=resource or resource_from_env(),
                             shutdown_on_exit=False)
    return MeterSide(_metrics(provider, config, stats), provider, owned=True)


def _metrics(provider: MeterProvider, config: TrackerConfig, stats: Stats) -> Metrics:
    meter = provider.get_meter(*SCOPE)
    _self_metrics.observe(meter, stats)
    return Metrics(meter, config, stats)


def _metric_reader(config: TrackerConfig, environ: Mapping[str, str]) -> MetricReader | None:
    if config.metric_reader is not None:
        reader: MetricReader = config.metric_reader
        return reader
    if resolve_exporter(config, environ) != "otlp":
        return None
    return otlp.metric_reader(config, environ)


def _writer(config: TrackerConfig, environ: Mapping[str, str]) -> LogWriter:
    if config.log_exporter is not None:
        return SdkExporterWriter(config.log_exporter)
    mode = resolve_exporter(config, environ)
    try:
        if mode == "gcp":
            return _gcp_writer(config, environ)
        if mode == "otlp":
            return otlp.log_writer(config, environ)
    except Exception as error:  # noqa: BLE001 - missing packages, credentials or project: fall back
        warn_limited(f"fallback:{mode}", "gyrinx_tracker cannot use the %s output (%s: %s; the "
                     "gyrinx-tracker[%s] extra provides its packages); writing JSON through the "
                     "gyrinx.tracker logger instead", mode, type(error).__name__, error, mode)
    return LocalJsonWriter()


def _gcp_writer(config: TrackerConfig, environ: Mapping[str, str]) -> LogWriter:
    environment = detect(environ, config.project_id, config.gcp_region, config.metadata_timeout)
    if config.gcp_transport == "stdout":
        from gyrinx_tracker._outputs.cloud_run import CloudRunStdoutWriter

        return CloudRunStdoutWriter(environment.project_id)
    if not environment.project_id:
        raise LookupError("no Google Cloud project: set GOOGLE_CLOUD_PROJECT")
    from gyrinx_tracker._outputs import cloud_logging

    client = cloud_logging.make_client(config.cloud_logging_endpoint)
    return cloud_logging.CloudLoggingWriter(environment, config.log_name, client, config.export_timeout)
