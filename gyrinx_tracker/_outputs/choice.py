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
from typing import Any, Literal

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import MetricExporter
from opentelemetry.sdk.resources import Resource

from gyrinx_tracker._catalogue.catalogue import catalogue_for
from gyrinx_tracker._config import TrackerConfig, standard_metric_interval
from gyrinx_tracker._diagnostics import warn_limited
from gyrinx_tracker._outputs.gcp.environment import detect, on_google_cloud
from gyrinx_tracker._outputs.local.metric_lines import LocalMetricLines
from gyrinx_tracker._outputs.local.writer import LocalJsonWriter
from gyrinx_tracker._outputs.otlp import exporters as otlp
from gyrinx_tracker._outputs.shared import exporter_logs
from gyrinx_tracker._outputs.shared.sdk import SdkExporterWriter
from gyrinx_tracker._outputs.shared.senders import Senders
from gyrinx_tracker._pipeline.port import Output
from gyrinx_tracker._signals import otel_logs as _otel_logs
from gyrinx_tracker._signals import self_metrics as _self_metrics
from gyrinx_tracker._signals.meters import AggregateExporter, ExportedMeters, MeterSide, SdkInstruments, SdkMeters
from gyrinx_tracker._signals.metrics import Metrics
from gyrinx_tracker._signals.output import ProviderOutput, WriterOutput
from gyrinx_tracker._signals.resource import app_resource, resource_from_env
from gyrinx_tracker._signals.sampling import sampler_for
from gyrinx_tracker._signals.writers import EventLogWriter, LogWriter
from gyrinx_tracker._stats import Stats
from gyrinx_tracker._version import VERSION

SCOPE = ("gyrinx_tracker", VERSION)


def resolve_exporter(config: TrackerConfig, environ: Mapping[str, str]) -> str:
    """The concrete exporter for ``auto``: ``gcp`` on Google Cloud, else ``console``."""
    if config.exporter != "auto":
        return config.exporter
    return "gcp" if on_google_cloud(environ) else "console"


def writes_stdlib_records(config: TrackerConfig, environ: Mapping[str, str]) -> bool:
    """Whether events may become stdlib records (the local output), which carry the caller's
    thread and call site: only then does ``track()`` pay to capture them."""
    if config.log_exporter is not None:
        return config.mirror_to_logger
    return resolve_exporter(config, environ) == "console"


def open_output(config: TrackerConfig, stats: Stats, environ: Mapping[str, str] | None = None) -> Output:
    """Everything the worker needs to turn events into records, exports and metrics."""
    environ = os.environ if environ is None else environ
    app_logs, app_meters = _app_providers(config)
    catalogue = catalogue_for(config)
    rates_from = catalogue.sample_rate_for if catalogue is not None and catalogue.has_rates else None
    sampler = sampler_for(config.sample_rates, config.sample_caps, rates_from)
    if app_logs is not None and config.log_exporter is None:
        return ProviderOutput(app_logs, _meter_side(config, stats, app_meters, environ), SCOPE, sampler)
    resource = resource_from_env(environ, app_resource())
    writer = _writer(config, environ, stats)
    collector = _otel_logs.Collector()
    provider = _otel_logs.private_logger_provider(resource, collector)
    meters = _meter_side(config, stats, app_meters, environ, resource)
    mirror = (LocalJsonWriter(config.project_id, stderr_fallback=False)
              if config.log_exporter is not None and config.mirror_to_logger else None)
    return WriterOutput(provider, collector, writer, meters, SCOPE, sampler, mirror)


def _app_providers(config: TrackerConfig) -> tuple[Any | None, MeterProvider | None]:
    """The application's SDK providers, when it installed them and we may use them."""
    if config.global_providers == "never" or config.exporter != "auto":
        return None, None
    from opentelemetry.metrics import get_meter_provider

    meters = get_meter_provider()
    return _otel_logs.app_logger_provider(), meters if isinstance(meters, MeterProvider) else None


MetricsRoute = Literal["app", "reader", "exporter", "gcp", "otlp", "local", "off"]


def metrics_route(config: TrackerConfig, environ: Mapping[str, str], app_meters: bool) -> MetricsRoute:
    """Where metrics go for this configuration: the one decision ``_meter_side`` acts on and
    ``gyrinx-tracker doctor`` reports, so the two cannot disagree."""
    if app_meters and config.metric_reader is None and config.metric_exporter is None:
        return "app"
    if config.metric_reader is not None:
        return "reader"
    if config.metric_exporter is not None:
        return "exporter"
    mode = resolve_exporter(config, environ)
    if mode == "gcp":
        return "gcp" if config.gcp_metrics else "off"
    if mode == "otlp":
        return "otlp"
    return "local" if mode == "console" and config.local_metrics else "off"


def _meter_side(config: TrackerConfig, stats: Stats, app_meters: MeterProvider | None,
                environ: Mapping[str, str], resource: Resource | None = None) -> MeterSide | None:
    """Where metrics go: the app's meter provider, a ``metric_reader=``, our exporters, or nowhere."""
    route = metrics_route(config, environ, app_meters is not None)
    if route == "app" and app_meters is not None:
        return SdkMeters(_instruments(app_meters, config, stats), app_meters, owned=False)
    resource = resource or resource_from_env(environ, app_resource())
    if route == "reader":
        provider = MeterProvider(metric_readers=[config.metric_reader], resource=resource, shutdown_on_exit=False)
        return SdkMeters(_instruments(provider, config, stats), provider, owned=True)
    if route == "gcp":
        return _gcp_meters(config, stats, environ, resource)
    if route == "off":
        return None
    exporters = _metric_exporters(config, environ)
    if not exporters:
        return None
    return ExportedMeters(Metrics(config, stats), stats, exporters, metric_interval(config, environ), resource, SCOPE,
                          config.export_timeout)


def _gcp_meters(config: TrackerConfig, stats: Stats, environ: Mapping[str, str], base: Resource) -> MeterSide | None:
    """Cloud Monitoring through the Telemetry API; without credentials or packages, one warning."""
    if not config.gcp_metrics:
        return None
    try:
        from gyrinx_tracker._outputs.gcp import cloud_monitoring as monitoring

        environment = detect(environ, config.project_id, config.gcp_region, config.metadata_timeout)
        exporter = monitoring.metric_exporter(config, environment)
        exporter_logs.install()  # the Telemetry API exporter is the OTLP one
        resource = monitoring.resource(environ, environment, base, config.metadata_timeout)
    except Exception as error:  # noqa: BLE001 - missing packages or credentials: logs still go
        warn_limited("fallback:gcp_metrics", "cannot export metrics to Cloud Monitoring: "
                     "%s; events are still logged", why_unavailable("gcp", error))
        return None
    interval = max(metric_interval(config, environ), monitoring.MIN_INTERVAL)
    return ExportedMeters(Metrics(config, stats), stats, [exporter], interval, resource, SCOPE,
                          config.export_timeout, min_gap=monitoring.MIN_GAP)


def _instruments(provider: MeterProvider, config: TrackerConfig, stats: Stats) -> SdkInstruments:
    meter = provider.get_meter(*SCOPE)
    _self_metrics.observe(meter, stats)
    return SdkInstruments(meter, Metrics(config, stats))


def metric_interval(config: TrackerConfig, environ: Mapping[str, str]) -> float:
    """Ours, else the standard OTEL_METRIC_EXPORT_INTERVAL (milliseconds), else 60 seconds."""
    if config.metric_interval is not None:
        return config.metric_interval
    standard = standard_metric_interval(environ)  # a bad value warns there
    return 60.0 if standard is None else standard


def _metric_exporters(config: TrackerConfig, environ: Mapping[str, str]) -> list[MetricExporter | AggregateExporter]:
    """The exporters of the routes ``exporter``, ``otlp`` and ``local``."""
    if config.metric_exporter is not None:
        return [config.metric_exporter]
    if resolve_exporter(config, environ) == "otlp":
        exporter_logs.install()
        exporter = otlp.metric_exporter(config, environ)
        return [exporter] if exporter is not None else []
    return [LocalMetricLines()]


def _writer(config: TrackerConfig, environ: Mapping[str, str], stats: Stats) -> LogWriter | EventLogWriter:
    if config.log_exporter is not None:
        return SdkExporterWriter(config.log_exporter)
    mode = resolve_exporter(config, environ)
    try:
        if mode == "gcp":
            return _gcp_writer(config, environ, stats)
        if mode == "otlp":
            exporter_logs.install()
            return _concurrent(otlp.log_writer(config, environ), config, stats)
    except Exception as error:  # noqa: BLE001 - missing packages, credentials or project: fall back
        warn_limited(f"fallback:{mode}", "cannot use the %s output: %s; writing JSON "
                     "through the gyrinx.tracker logger instead", mode, why_unavailable(mode, error))
    return LocalJsonWriter(config.project_id)


def _concurrent(writer: LogWriter | EventLogWriter, config: TrackerConfig, stats: Stats) -> LogWriter | EventLogWriter:
    """Give a writer that can send concurrently (``send_with``) its bounded senders, as Cloud Logging's."""
    send_with = getattr(writer, "send_with", None)
    if send_with is not None:
        send_with(Senders(_concurrency(config), stats))
    return writer


def _concurrency(config: TrackerConfig) -> int:
    return 0 if config.delivery == "sync" else config.export_concurrency  # sync: sent before track() returns


def why_unavailable(mode: str, error: Exception) -> str:
    """What failed, in terms a deployer can act on: a missing package, credentials, or project.

    One message naming the extra for every failure sent people installing a package they had
    when the real problem was credentials (``google.auth`` raises ``DefaultCredentialsError``).
    """
    if isinstance(error, ImportError):
        return f"a package is missing ({error}); the gyrinx-tracker[{mode}] extra provides it"
    if any(kind.__name__ == "DefaultCredentialsError" for kind in type(error).__mro__):
        return (f"no Google credentials were found ({error}); on Google Cloud the service account "
                "provides them, elsewhere set GOOGLE_APPLICATION_CREDENTIALS or run "
                "`gcloud auth application-default login`")
    if isinstance(error, NoProject):
        return str(error)
    return f"{type(error).__name__}: {error}"


class NoProject(LookupError):
    """Neither the configuration, the environment nor the metadata server named a project."""


def _gcp_writer(config: TrackerConfig, environ: Mapping[str, str], stats: Stats) -> LogWriter | EventLogWriter:
    environment = detect(environ, config.project_id, config.gcp_region, config.metadata_timeout)
    if config.gcp_transport == "stdout":
        from gyrinx_tracker._outputs.gcp.cloud_run import CloudRunStdoutWriter

        return CloudRunStdoutWriter(environment.project_id)
    if not environment.project_id:
        raise NoProject("no Google Cloud project was found (set GOOGLE_CLOUD_PROJECT)")
    from gyrinx_tracker._outputs.gcp import cloud_logging

    client = cloud_logging.make_client(config.cloud_logging_endpoint)
    return cloud_logging.CloudLoggingWriter(environment, config.log_name, client, config.export_timeout, stats,
                                            _concurrency(config))
