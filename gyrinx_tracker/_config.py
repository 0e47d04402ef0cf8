"""The tracker's configuration: one frozen dataclass, one reader of the environment.

Every environment variable the tracker reads is declared once, in ``VARIABLES``, with its type,
default and meaning; the README's table is checked against it by a test, so the two cannot drift.
Nothing here reads the environment at import time: ``from_env`` is called when a pipeline is built.
A bad value warns once and falls back to the default, as the OpenTelemetry SDK does, because a typo
in a deployment must never stop the application from starting.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

from gyrinx_tracker._diagnostics import warn_once

Exporter = Literal["auto", "console", "gcp", "otlp", "none"]
GcpTransport = Literal["api", "stdout"]
GlobalProviders = Literal["auto", "never"]

EXPORTERS: tuple[str, ...] = get_args(Exporter)
GCP_TRANSPORTS: tuple[str, ...] = get_args(GcpTransport)
GLOBAL_PROVIDER_MODES: tuple[str, ...] = get_args(GlobalProviders)


@dataclass(frozen=True)
class TrackerConfig:
    """What the tracker does; see ``VARIABLES`` for the meaning of each field."""

    exporter: Exporter = "auto"
    gcp_transport: GcpTransport = "api"
    cloud_logging_endpoint: str | None = None
    project_id: str | None = None
    gcp_region: str | None = None
    log_name: str = "tracker"
    global_providers: GlobalProviders = "auto"
    max_queue: int = 20_000
    batch_size: int = 512
    flush_interval: float = 0.2
    shutdown_timeout: float = 5.0
    export_timeout: float = 5.0
    metadata_timeout: float = 0.5
    handle_sigterm: bool = True
    strict: bool = False
    redact_allow: tuple[str, ...] = ()
    redact_extra: tuple[str, ...] = ()
    metric_labels: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    metric_label_values: int = 50
    metric_series_per_event: int = 500
    metric_events: int = 1_000
    max_labels: int = 128
    max_string: int = 8_192
    # Set only in code (``configure``), never from the environment: objects, not strings.
    log_exporter: Any = field(default=None, compare=False)
    metric_reader: Any = field(default=None, compare=False)


Parser = Callable[[str], Any]


@dataclass(frozen=True)
class Variable:
    """One environment variable: the field it sets, how to parse it and what it means."""

    name: str
    field: str
    parse: Parser
    meaning: str


def _choice(options: tuple[str, ...]) -> Parser:
    def parse(raw: str) -> str:
        value = raw.strip().lower()
        if value not in options:
            raise ValueError(f"expected one of {', '.join(options)}")
        return value

    return parse


def _positive_int(raw: str) -> int:
    value = int(raw.strip())
    if value <= 0:
        raise ValueError("expected a positive integer")
    return value


def _positive_float(raw: str) -> float:
    value = float(raw.strip())
    if not math.isfinite(value) or value <= 0:
        raise ValueError("expected a positive number")
    return value


def _boolean(raw: str) -> bool:
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ValueError("expected true or false")


def _text(raw: str) -> str | None:
    return raw.strip() or None


def _words(raw: str) -> tuple[str, ...]:
    return tuple(word.strip() for word in raw.split(",") if word.strip())


def _metric_labels(raw: str) -> dict[str, tuple[str, ...]]:
    """Parse ``event=key,key;event=key`` into an allowlist of metric labels per event."""
    rules: dict[str, tuple[str, ...]] = {}
    for rule in filter(None, (part.strip() for part in raw.split(";"))):
        event, sep, keys = rule.partition("=")
        if not sep or not event.strip():
            raise ValueError(f"rule {rule!r} is not event=key,key")
        rules[event.strip()] = _words(keys)
    return rules


VARIABLES: tuple[Variable, ...] = (
    Variable("GYRINX_TRACKER_EXPORTER", "exporter", _choice(EXPORTERS),
             "Where events go: `auto` (Google Cloud when detected, else `console`), `console` "
             "(JSON lines through the `gyrinx.tracker` logger), `gcp`, `otlp`, `none`."),
    Variable("GYRINX_TRACKER_GCP_TRANSPORT", "gcp_transport", _choice(GCP_TRANSPORTS),
             "On Google Cloud: `api` writes to the Cloud Logging API (log `tracker`); `stdout` "
             "prints Cloud Run structured JSON lines."),
    Variable("GYRINX_TRACKER_CLOUD_LOGGING_ENDPOINT", "cloud_logging_endpoint", _text,
             "`host:port` of a Cloud Logging emulator: plain gRPC, anonymous credentials."),
    Variable("GOOGLE_CLOUD_PROJECT", "project_id", _text,
             "The Google Cloud project. On Cloud Run, where it is not set, it is read from the "
             "metadata server."),
    Variable("GYRINX_TRACKER_GCP_REGION", "gcp_region", _text,
             "The Cloud Run region for the entries' `location` label; read from the metadata "
             "server when not set."),
    Variable("GYRINX_TRACKER_LOG_NAME", "log_name", _text,
             "The Cloud Logging log id that events are written to."),
    Variable("GYRINX_TRACKER_GLOBAL_PROVIDERS", "global_providers", _choice(GLOBAL_PROVIDER_MODES),
             "`auto`: when the application installed OpenTelemetry SDK logger/meter providers "
             "(e.g. `opentelemetry-instrument`), emit into them; `never`: always use private ones."),
    Variable("GYRINX_TRACKER_MAX_QUEUE", "max_queue", _positive_int,
             "Events waiting for export at most; beyond it an event is dropped and counted."),
    Variable("GYRINX_TRACKER_BATCH_SIZE", "batch_size", _positive_int,
             "Queued events that wake the exporter thread before its interval is up."),
    Variable("GYRINX_TRACKER_FLUSH_INTERVAL", "flush_interval", _positive_float,
             "Seconds between exports when the queue stays below the batch size."),
    Variable("GYRINX_TRACKER_SHUTDOWN_TIMEOUT", "shutdown_timeout", _positive_float,
             "Seconds that exit and SIGTERM may spend flushing (Cloud Run allows 10)."),
    Variable("GYRINX_TRACKER_EXPORT_TIMEOUT", "export_timeout", _positive_float,
             "Seconds one export (Cloud Logging or OTLP, retries included) may take before its batch "
             "counts as dropped; the standard `OTEL_EXPORTER_OTLP_TIMEOUT` wins for OTLP."),
    Variable("GYRINX_TRACKER_METADATA_TIMEOUT", "metadata_timeout", _positive_float,
             "Seconds to wait for the metadata server when the project or region is missing."),
    Variable("GYRINX_TRACKER_HANDLE_SIGTERM", "handle_sigterm", _boolean,
             "Flush on SIGTERM, then hand the signal to the handler that was there before."),
    Variable("GYRINX_TRACKER_STRICT", "strict", _boolean,
             "Raise on bad input and internal errors instead of warning (for test suites)."),
    Variable("GYRINX_TRACKER_REDACT_ALLOW", "redact_allow", _words,
             "Comma-separated label keys never redacted, even if they look like secrets."),
    Variable("GYRINX_TRACKER_REDACT_EXTRA", "redact_extra", _words,
             "Comma-separated extra regular expressions; label keys matching one are redacted."),
    Variable("GYRINX_TRACKER_METRIC_LABELS", "metric_labels", _metric_labels,
             "Per-event allowlist of metric labels, `event=key,key;event=key`; events not named "
             "use the default rule (see Metrics)."),
    Variable("GYRINX_TRACKER_METRIC_LABEL_VALUES", "metric_label_values", _positive_int,
             "Distinct values one label key may take in an event's metrics before it is folded."),
    Variable("GYRINX_TRACKER_METRIC_SERIES_PER_EVENT", "metric_series_per_event", _positive_int,
             "Metric series one event may have; later combinations go to the overflow series."),
    Variable("GYRINX_TRACKER_METRIC_EVENTS", "metric_events", _positive_int,
             "Distinct event names that get their own instruments; later ones are counted only."),
    Variable("GYRINX_TRACKER_MAX_LABELS", "max_labels", _positive_int,
             "Labels kept per event; the rest are dropped and counted in `_dropped_labels`."),
    Variable("GYRINX_TRACKER_MAX_STRING", "max_string", _positive_int,
             "Characters kept of any one string label value or event field."),
)


def from_env(environ: Mapping[str, str]) -> TrackerConfig:
    """Build the configuration from ``environ``; bad values warn once and keep the default."""
    values: dict[str, Any] = {}
    for variable in VARIABLES:
        raw = environ.get(variable.name)
        if raw is None or not raw.strip():
            continue
        try:
            parsed = variable.parse(raw)
        except ValueError as error:
            warn_once(f"config:{variable.name}",
                      "ignoring %s=%r (%s); using the default", variable.name, raw, error)
            continue
        if parsed is not None:
            values[variable.field] = parsed
    if "project_id" not in values and environ.get("GCLOUD_PROJECT", "").strip():
        values["project_id"] = environ["GCLOUD_PROJECT"].strip()
    return TrackerConfig(**values)


def with_overrides(config: TrackerConfig, overrides: Mapping[str, Any]) -> TrackerConfig:
    """Apply ``configure()`` keyword arguments over ``config``.

    Unknown names raise ``TypeError`` (a typo in code should fail at start-up, like any bad
    keyword); a bad value warns once and keeps what ``config`` had, like a bad variable.
    """
    known = {f.name for f in dataclasses.fields(TrackerConfig)}
    unknown = sorted(set(overrides) - known)
    if unknown:
        raise TypeError(f"unknown tracker option(s): {', '.join(unknown)}")
    valid = {name: value for name, value in _normalised(overrides).items() if _acceptable(name, value)}
    return dataclasses.replace(config, **valid)


_BY_FIELD = {variable.field: variable for variable in VARIABLES}


def _acceptable(name: str, value: Any) -> bool:
    """True when ``value`` is what the variable for ``name`` could have parsed to."""
    variable = _BY_FIELD.get(name)
    if variable is None or value is None or isinstance(value, (tuple, dict)):
        return True
    default = getattr(TrackerConfig, name, None)
    try:
        if isinstance(value, bool) != isinstance(default, bool):
            raise ValueError(f"expected {type(default).__name__}")
        if not isinstance(value, bool):
            variable.parse(str(value))
        return True
    except ValueError as error:
        warn_once(f"configure:{name}", "ignoring configure(%s=%r) (%s); keeping the default",
                  name, value, error)
        return False


def _normalised(overrides: Mapping[str, Any]) -> dict[str, Any]:
    """Let code pass lists where the dataclass keeps tuples, so configs stay hashable and frozen."""
    result = dict(overrides)
    for name in ("redact_allow", "redact_extra"):
        if name in result:
            result[name] = tuple(result[name])
    if "metric_labels" in result:
        result["metric_labels"] = {k: tuple(v) for k, v in result["metric_labels"].items()}
    return result

