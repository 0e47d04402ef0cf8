"""The tracker's configuration: one frozen dataclass, one reader of the environment.

Every environment variable the tracker reads is declared once, in ``VARIABLES``, with its type,
default and meaning; docs/configuration.md's table is checked against it by a test, so the two cannot drift.
Nothing here reads the environment at import time: ``from_env`` is called when a pipeline is built.
A bad value warns (rate-limited) and falls back to the default, as the OpenTelemetry SDK does, because a typo
in a deployment must never stop the application from starting.
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

from gyrinx_tracker._diagnostics import warn_limited

Exporter = Literal["auto", "console", "gcp", "otlp", "none"]
Delivery = Literal["background", "sync"]
GcpTransport = Literal["api", "stdout"]
GlobalProviders = Literal["auto", "never"]
RequestFlush = Literal["before", "after", "off"]
WhenFull = Literal["block", "drop"]

EXPORTERS: tuple[str, ...] = get_args(Exporter)
GCP_TRANSPORTS: tuple[str, ...] = get_args(GcpTransport)
GLOBAL_PROVIDER_MODES: tuple[str, ...] = get_args(GlobalProviders)
DELIVERIES: tuple[str, ...] = get_args(Delivery)
REQUEST_FLUSH_MODES: tuple[str, ...] = get_args(RequestFlush)
WHEN_FULL_POLICIES: tuple[str, ...] = get_args(WhenFull)


@dataclass(frozen=True)
class TrackerConfig:
    """What the tracker does; see ``VARIABLES`` for the meaning of each field."""

    exporter: Exporter = "auto"
    gcp_transport: GcpTransport = "api"
    cloud_logging_endpoint: str | None = None
    cloud_monitoring_endpoint: str | None = None
    gcp_metrics: bool = True
    project_id: str | None = None
    gcp_region: str | None = None
    log_name: str = "tracker"
    global_providers: GlobalProviders = "auto"
    delivery: Delivery = "background"
    max_queue: int = 20_000
    when_full: WhenFull = "block"
    block_timeout: float = 1.0
    max_queue_bytes: int = 32_000_000
    batch_size: int = 512
    flush_interval: float = 0.2
    shutdown_timeout: float = 5.0
    sigterm_flush_timeout: float = 1.0
    export_timeout: float = 5.0
    export_concurrency: int = 4
    request_flush: RequestFlush = "before"
    request_flush_timeout: float = 1.0
    metadata_timeout: float = 0.5
    handle_sigterm: bool = True
    strict: bool = False
    redact_allow: tuple[str, ...] = ()
    redact_extra: tuple[str, ...] = ()
    redact_emails: bool = False
    metric_labels: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    metric_label_values: int = 50
    metric_series_per_event: int = 500
    metric_events: int = 1_000
    metric_interval: float | None = None
    local_metrics: bool = True
    max_labels: int = 128
    max_string: int = 8_192
    sample_rates: Mapping[str, float] = field(default_factory=dict)
    sample_caps: Mapping[str, float] = field(default_factory=dict)
    catalogue: str | None = None
    # Set only in code (``configure``), never from the environment: objects, not strings.
    log_exporter: Any = field(default=None, compare=False)
    metric_reader: Any = field(default=None, compare=False)
    # With log_exporter: also hand each record to the gyrinx.tracker logger, as the console output
    # does (capture_events uses it so a capture mixes with pytest's caplog).
    mirror_to_logger: bool = False
    metric_exporter: Any = field(default=None, compare=False)


Parser = Callable[[object], Any]


@dataclass(frozen=True)
class Variable:
    """One environment variable: the field it sets, how to parse it and what it means.

    The same parser reads the variable's text and a ``configure()`` keyword's value, so
    ``configure(max_queue="100")`` and ``GYRINX_TRACKER_MAX_QUEUE=100`` mean the same thing and a
    bad value is refused the same way.
    """

    name: str
    field: str
    parse: Parser
    meaning: str


def _text_of(raw: object) -> str:
    if not isinstance(raw, str):
        raise ValueError(f"expected text, got {type(raw).__name__}")
    return raw.strip()


def _choice(options: tuple[str, ...]) -> Parser:
    def parse(raw: object) -> str:
        value = _text_of(raw).lower()
        if value not in options:
            raise ValueError(f"expected one of {', '.join(options)}")
        return value

    return parse


def _positive_int(raw: object) -> int:
    """A whole number above 0; Python's own wording ("invalid literal for int()") is never shown."""
    if isinstance(raw, bool) or not isinstance(raw, (int, str)):
        raise ValueError("expected a positive integer")
    try:
        value = int(raw.strip()) if isinstance(raw, str) else raw
    except ValueError:
        raise ValueError("expected a positive integer") from None
    if value <= 0:
        raise ValueError("expected a positive integer")
    return value


def _positive_float(raw: object) -> float:
    if isinstance(raw, bool) or not isinstance(raw, (int, float, str)):
        raise ValueError("expected a positive number")
    try:
        value = float(raw.strip()) if isinstance(raw, str) else float(raw)
    except (ValueError, OverflowError):
        raise ValueError("expected a positive number") from None
    if not math.isfinite(value) or value <= 0:
        raise ValueError("expected a positive number")
    return value


def _boolean(raw: object) -> bool:
    if isinstance(raw, bool):
        return raw
    value = _text_of(raw).lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ValueError("expected true or false")


def _optional_text(raw: object) -> str | None:
    return None if raw is None else _text_of(raw) or None


def _optional_path(raw: object) -> str | None:
    """A file path as text, or a ``pathlib.Path`` from code."""
    return _optional_text(os.fspath(raw) if isinstance(raw, os.PathLike) else raw)


def _name(raw: object) -> str:
    value = _text_of(raw)
    if not value:
        raise ValueError("expected a non-empty name")
    return value


def _words(raw: object) -> tuple[str, ...]:
    """``"a, b"`` from the environment, or a list/tuple of strings from code (not a bare string's
    characters: ``redact_allow="session_id"`` is one key)."""
    if isinstance(raw, str):
        return tuple(word.strip() for word in raw.split(",") if word.strip())
    if isinstance(raw, (list, tuple, set, frozenset)) and all(isinstance(word, str) for word in raw):
        return tuple(word.strip() for word in raw if word.strip())
    raise ValueError("expected comma-separated text or a list of strings")


def _metric_labels(raw: object) -> dict[str, tuple[str, ...]]:
    """``event=key,key;event=key`` from the environment, or ``{event: [key, ...]}`` from code."""
    if isinstance(raw, Mapping):
        return {_name(event): _words(keys) for event, keys in raw.items()}
    rules: dict[str, tuple[str, ...]] = {}
    for rule in filter(None, (part.strip() for part in _text_of(raw).split(";"))):
        event, sep, keys = rule.partition("=")
        if not sep or not event.strip():
            raise ValueError(f"rule {rule!r} is not event=key,key")
        rules[event.strip()] = _words(keys)
    return rules


def _per_event(what: str, variable: str, low: float, high: float) -> Parser:
    """A parser of ``event=number,*=number`` text, or ``{event: number}`` from code.

    A bad entry (no ``=``, no name, a number outside [low, high]) warns, rate-limited, and is left
    out: the other entries still apply, because one typo must not turn sampling off for every
    event. Anything that is neither text nor a mapping is refused as a whole.
    """
    def parse(raw: object) -> dict[str, float]:
        if isinstance(raw, Mapping):
            pairs = [(str(name), number) for name, number in raw.items()]
        elif isinstance(raw, str):
            pairs = [_number_pair(entry) for entry in raw.split(",") if entry.strip()]
        else:
            raise ValueError(f"expected event={what} pairs separated by commas, or a mapping of event to {what}")
        numbers: dict[str, float] = {}
        bad: list[str] = []
        for name, number in pairs:
            parsed = _number_within(number, low, high)
            if not name.strip() or parsed is None:
                bad.append(f"{name}={number}" if name else str(number))
            else:
                numbers[name.strip()] = parsed
        if bad:
            warn_limited(("config", variable, tuple(bad)), "ignoring the %s entries %s of %s (each must be "
                         "event=number, the number from %g to %g); the other entries apply, and an event "
                         "not named keeps the default (no %s)", what, ", ".join(map(repr, bad)), variable, low, high,
                         what)
        return numbers

    return parse


def _number_pair(entry: str) -> tuple[str, object]:
    name, sep, number = entry.partition("=")
    return (name, number) if sep else ("", entry)


def _number_within(raw: object, low: float, high: float) -> float | None:
    """A number from ``low`` to ``high``, or None when ``raw`` is not one."""
    if isinstance(raw, bool) or not isinstance(raw, (int, float, str)):
        return None
    try:
        number = float(raw)
    except ValueError:
        return None
    return number if low <= number <= high else None


def _log_exporter(raw: object) -> object:
    """An OpenTelemetry ``LogExporter`` (duck-typed: the SDK's class lives in a private module)."""
    if raw is not None and not (callable(getattr(raw, "export", None)) and callable(getattr(raw, "shutdown", None))):
        raise TypeError(f"configure(log_exporter=...) takes an OpenTelemetry LogExporter (an object with export() "
                        f"and shutdown()) or None, not {_described(raw)}")
    return raw


def _metric_exporter(raw: object) -> object:
    """An OpenTelemetry ``MetricExporter`` (or one of ours reading the aggregates)."""
    if raw is None or callable(getattr(raw, "export_aggregates", None)):
        return raw
    from opentelemetry.sdk.metrics.export import MetricExporter

    if not isinstance(raw, MetricExporter):
        raise TypeError("configure(metric_exporter=...) takes an opentelemetry.sdk.metrics.export.MetricExporter "
                        f"or None, not {_described(raw)}")
    return raw


def _metric_reader(raw: object) -> object:
    from opentelemetry.sdk.metrics.export import MetricReader

    if raw is not None and not isinstance(raw, MetricReader):
        raise TypeError("configure(metric_reader=...) takes an opentelemetry.sdk.metrics.export.MetricReader "
                        f"(e.g. InMemoryMetricReader) or None, not {_described(raw)}")
    return raw


def _code_boolean(raw: object) -> bool:
    if not isinstance(raw, bool):
        raise TypeError(f"configure(mirror_to_logger=...) takes True or False, not {_described(raw)}")
    return raw


def _described(raw: object) -> str:
    text = repr(raw)
    return f"{type(raw).__name__} {text if len(text) <= 60 else text[:57] + '...'}"


def shown_value(value: object) -> str:
    """A configuration value as a warning shows it: ``20000``, ``'api'``, ``none`` for None."""
    if value is None:
        return "none"
    if isinstance(value, Mapping):
        return repr(dict(value)) if value else "none"
    if isinstance(value, tuple):
        return ", ".join(map(str, value)) if value else "none"
    return repr(value)


def shown_default(name: str) -> str:
    """The default of field ``name``, for "using the default ..." in a warning."""
    default = next(f for f in dataclasses.fields(TrackerConfig) if f.name == name)
    factory: Any = default.default_factory
    value = factory() if default.default is dataclasses.MISSING else default.default
    if name == "metric_interval" and value is None:
        return "OTEL_METRIC_EXPORT_INTERVAL, else 60 s"
    return shown_value(value)


def standard_metric_interval(environ: Mapping[str, str]) -> float | None:
    """Seconds from the standard ``OTEL_METRIC_EXPORT_INTERVAL`` (milliseconds); None when unset.

    A bad value warns, as ours do, and is ignored (the SDK would fail on it differently).
    """
    raw = environ.get("OTEL_METRIC_EXPORT_INTERVAL", "").strip()
    if not raw:
        return None
    try:
        return _positive_float(raw) / 1000
    except ValueError as error:
        warn_limited(("config", "OTEL_METRIC_EXPORT_INTERVAL", raw), "ignoring OTEL_METRIC_EXPORT_INTERVAL=%r "
                     "(%s, in milliseconds); using the default, 60 s", raw, error)
        return None


VARIABLES: tuple[Variable, ...] = (
    Variable("GYRINX_TRACKER_EXPORTER", "exporter", _choice(EXPORTERS),
             "Where events go: `auto` (Google Cloud when detected, else `console`), `console` "
             "(JSON lines through the `gyrinx.tracker` logger), `gcp`, `otlp`, `none`."),
    Variable("GYRINX_TRACKER_GCP_TRANSPORT", "gcp_transport", _choice(GCP_TRANSPORTS),
             "On Google Cloud: `api` writes to the Cloud Logging API (log `tracker`); `stdout` "
             "prints Cloud Run structured JSON lines."),
    Variable("GYRINX_TRACKER_CLOUD_LOGGING_ENDPOINT", "cloud_logging_endpoint", _optional_text,
             "`host:port` of a Cloud Logging emulator: plain gRPC, anonymous credentials."),
    Variable("GYRINX_TRACKER_CLOUD_MONITORING_ENDPOINT", "cloud_monitoring_endpoint", _optional_text,
             "`host:port` of a plain-gRPC OTLP stand-in for Google's Telemetry API (metrics), no credentials."),
    Variable("GYRINX_TRACKER_GCP_METRICS", "gcp_metrics", _boolean,
             "On Google Cloud, export the counters and histograms to Cloud Monitoring through the "
             "Telemetry API (`telemetry.googleapis.com`, OTLP); needs the `otlp` extra."),
    Variable("GOOGLE_CLOUD_PROJECT", "project_id", _optional_text,
             "The Google Cloud project. On Cloud Run, where it is not set, it is read from the "
             "metadata server."),
    Variable("GYRINX_TRACKER_GCP_REGION", "gcp_region", _optional_text,
             "The Cloud Run region for the entries' `location` label; read from the metadata "
             "server when not set."),
    Variable("GYRINX_TRACKER_LOG_NAME", "log_name", _name,
             "The Cloud Logging log id that events are written to."),
    Variable("GYRINX_TRACKER_GLOBAL_PROVIDERS", "global_providers", _choice(GLOBAL_PROVIDER_MODES),
             "`auto`: when the application installed OpenTelemetry SDK logger/meter providers "
             "(e.g. `opentelemetry-instrument`), emit into them; `never`: always use private ones."),
    Variable("GYRINX_TRACKER_DELIVERY", "delivery", _choice(DELIVERIES),
             "`background`: `track()` queues and one thread exports; `sync`: the event is exported before "
             "`track()` returns (what the pytest plugin uses; slower, for tests and one-off scripts)."),
    Variable("GYRINX_TRACKER_MAX_QUEUE", "max_queue", _positive_int,
             "Events waiting for export at most; what `track()` does beyond it is `WHEN_FULL`'s choice."),
    Variable("GYRINX_TRACKER_WHEN_FULL", "when_full", _choice(WHEN_FULL_POLICIES),
             "A full queue: `block` waits up to `BLOCK_TIMEOUT` for room, then drops and counts (and, "
             "until the exporter takes an event again, later calls drop at once); `drop` never waits. "
             "See Bursts and a full queue."),
    Variable("GYRINX_TRACKER_BLOCK_TIMEOUT", "block_timeout", _positive_float,
             "Seconds one `track()` may wait for room in a full queue with `WHEN_FULL=block`."),
    Variable("GYRINX_TRACKER_MAX_QUEUE_BYTES", "max_queue_bytes", _positive_int,
             "Bytes that large queued events (converted on the caller) may hold in all; beyond it a "
             "large event keeps its name, n and value but its labels are dropped, counted in "
             "`_dropped_labels`. See the memory bound in Safety."),
    Variable("GYRINX_TRACKER_BATCH_SIZE", "batch_size", _positive_int,
             "Queued events that wake the exporter thread before its interval is up."),
    Variable("GYRINX_TRACKER_FLUSH_INTERVAL", "flush_interval", _positive_float,
             "Seconds between exports when the queue stays below the batch size."),
    Variable("GYRINX_TRACKER_SHUTDOWN_TIMEOUT", "shutdown_timeout", _positive_float,
             "One deadline for the way out, from SIGTERM (or exit, without one): the signal's flush, "
             "the app's handler and the exit hook share it (Cloud Run allows 10 s); what is left then "
             "is counted as dropped (`shutdown_timeout`) and reported in one line."),
    Variable("GYRINX_TRACKER_SIGTERM_FLUSH_TIMEOUT", "sigterm_flush_timeout", _positive_float,
             "Seconds, of that deadline, the SIGTERM handler flushes before calling the app's own "
             "handler (with none, the signal flushes for the whole deadline)."),
    Variable("GYRINX_TRACKER_EXPORT_TIMEOUT", "export_timeout", _positive_float,
             "Seconds one export (Cloud Logging or OTLP, retries included) may take before its batch "
             "counts as dropped; the standard `OTEL_EXPORTER_OTLP_TIMEOUT` wins for OTLP."),
    Variable("GYRINX_TRACKER_EXPORT_CONCURRENCY", "export_concurrency", _positive_int,
             "Requests in flight at once (Cloud Logging API and OTLP); the exporter thread waits only "
             "when this many await an answer (throughput at a slow receiver scales with it)."),
    Variable("GYRINX_TRACKER_REQUEST_FLUSH", "request_flush", _choice(REQUEST_FLUSH_MODES),
             "When the web integrations send a request's events out of the process: `before` the "
             "response completes (safe when the CPU is throttled between requests), `after` it was "
             "handed to the server (no added latency), or `off` (see Deploying on Cloud Run)."),
    Variable("GYRINX_TRACKER_REQUEST_FLUSH_TIMEOUT", "request_flush_timeout", _positive_float,
             "Seconds a request may wait for its events to leave the process; past it the request "
             "goes on and the events follow from the background thread."),
    Variable("GYRINX_TRACKER_METADATA_TIMEOUT", "metadata_timeout", _positive_float,
             "Seconds to wait for the metadata server when the project or region is missing."),
    Variable("GYRINX_TRACKER_HANDLE_SIGTERM", "handle_sigterm", _boolean,
             "Flush on SIGTERM, then hand the signal to the handler that was there before."),
    Variable("GYRINX_TRACKER_STRICT", "strict", _boolean,
             "Raise on bad input and internal errors instead of warning (for test suites)."),
    Variable("GYRINX_TRACKER_REDACT_ALLOW", "redact_allow", _words,
             "Comma-separated label keys never redacted, even if they look like secrets."),
    Variable("GYRINX_TRACKER_REDACT_EXTRA", "redact_extra", _words,
             "Comma-separated extra regular expressions; label keys matching one are redacted. Checked at start-up: "
             "one that can backtrack exponentially is refused with a warning (unless google-re2 is installed)."),
    Variable("GYRINX_TRACKER_REDACT_EMAILS", "redact_emails", _boolean,
             "Redact e-mail addresses found in label values (and keys), not only credentials."),
    Variable("GYRINX_TRACKER_METRIC_LABELS", "metric_labels", _metric_labels,
             "Per-event allowlist of metric labels, `event=key,key;event=key`; events not named "
             "use the default rule (see Metrics)."),
    Variable("GYRINX_TRACKER_METRIC_LABEL_VALUES", "metric_label_values", _positive_int,
             "Distinct values one label key may take in an event's metrics before it is folded."),
    Variable("GYRINX_TRACKER_METRIC_SERIES_PER_EVENT", "metric_series_per_event", _positive_int,
             "Metric series one event may have; later combinations go to the overflow series."),
    Variable("GYRINX_TRACKER_METRIC_EVENTS", "metric_events", _positive_int,
             "Distinct event names that get their own instruments; later ones are counted only."),
    Variable("GYRINX_TRACKER_METRIC_INTERVAL", "metric_interval", _positive_float,
             "Seconds between metric exports (cumulative totals; also at every flush and at exit). "
             "Unset: the standard `OTEL_METRIC_EXPORT_INTERVAL` (milliseconds), else 60."),
    Variable("GYRINX_TRACKER_LOCAL_METRICS", "local_metrics", _boolean,
             "With the `console` exporter, one JSON line per metric series through the "
             "`gyrinx.tracker.metrics` logger at each metric export."),
    Variable("GYRINX_TRACKER_MAX_LABELS", "max_labels", _positive_int,
             "Labels kept per event; the rest are dropped and counted in `_dropped_labels`."),
    Variable("GYRINX_TRACKER_MAX_STRING", "max_string", _positive_int,
             "Characters kept of any one string label value or event field."),
    Variable("GYRINX_TRACKER_SAMPLE_RATES", "sample_rates", _per_event("sample rate", "GYRINX_TRACKER_SAMPLE_RATES", 0.0, 1.0),
             "Share of log records written per event, `page_view=0.1,api_call=0.01,*=1` (`*`: events "
             "not named); metrics always count every event. A bad entry warns and is ignored. "
             "See Sampling."),
    Variable("GYRINX_TRACKER_SAMPLE_CAPS", "sample_caps", _per_event("sample cap", "GYRINX_TRACKER_SAMPLE_CAPS", 1.0, 1e9),
             "Log records written per second at most, per event and process, `page_view=100,*=1000`; "
             "the rest of a spike is sampled out (metrics still count it). See Sampling."),
    Variable("GYRINX_TRACKER_CATALOGUE", "catalogue", _optional_path,
             "Path of the event catalogue (JSON): events are checked against it on the exporter thread "
             "(strict mode: at the call site). See Event catalogue."),
)


# Set only in code, never from the environment: objects, not text.
# A bad one raises at ``configure()`` (TypeError naming it): only a programmer sets these, and an
# object that cannot export would otherwise turn every event into ``export_failed``.
CODE_ONLY: dict[str, Parser] = {"log_exporter": _log_exporter, "metric_reader": _metric_reader,
                                 "mirror_to_logger": _code_boolean, "metric_exporter": _metric_exporter}
# The environment variable of each field, for callers that must know whether one was set.
VARIABLE_OF: dict[str, str] = {variable.field: variable.name for variable in VARIABLES}
_PARSERS: dict[str, Parser] = {**{v.field: v.parse for v in VARIABLES}, **CODE_ONLY}


def from_env(environ: Mapping[str, str]) -> TrackerConfig:
    """Build the configuration from ``environ``; bad values warn (rate-limited) and keep the default."""
    values: dict[str, Any] = {}
    for variable in VARIABLES:
        raw = environ.get(variable.name)
        if raw is None or not raw.strip():
            continue
        try:
            parsed = variable.parse(raw)
        except ValueError as error:
            warn_limited(("config", variable.name, raw), "ignoring %s=%r (%s); using the default, %s",
                         variable.name, raw, error, shown_default(variable.field))
            continue
        if parsed is not None:
            values[variable.field] = parsed
    if "project_id" not in values and environ.get("GCLOUD_PROJECT", "").strip():
        values["project_id"] = environ["GCLOUD_PROJECT"].strip()
    return TrackerConfig(**values)


def with_overrides(config: TrackerConfig, overrides: Mapping[str, object]) -> TrackerConfig:
    """Apply ``configure()`` keyword arguments over ``config``, each parsed by its variable's parser.

    Unknown names raise ``TypeError`` (a typo in code should fail at start-up), and so does a bad
    code-only option (``CODE_ONLY``); a bad value of an option that has a variable warns and keeps
    what ``config`` had, like a bad variable.
    """
    unknown = sorted(set(overrides) - set(_PARSERS))
    if unknown:
        raise TypeError(f"unknown tracker option(s): {', '.join(unknown)}")
    values: dict[str, Any] = {}
    for name, raw in overrides.items():
        if name in CODE_ONLY:
            values[name] = CODE_ONLY[name](raw)
            continue
        try:
            values[name] = _PARSERS[name](raw)
        except (ValueError, TypeError) as error:
            warn_limited(("configure", name, repr(raw)), "ignoring configure(%s=%r) (%s); keeping %s",
                         name, raw, error, shown_value(getattr(config, name)))
    return dataclasses.replace(config, **values)
