"""``gyrinx-tracker doctor``: the configuration this process would get, why, and a real test event.

Every row is derived from the code that decides what the tracker does, never restated here, so
it cannot go stale: the configuration from ``from_env``, the output from ``resolve_exporter``,
the packages from the extras' own metadata (what ``pip install "gyrinx-tracker[gcp]"`` installs)
and the modules the output itself imports, metrics from ``metrics_route`` (what the pipeline
builds), sampling from ``sampler_for``, the catalogue from the catalogue's own loader. The test
event then goes through the public API (``configure``, ``track``, ``flush``, ``stats``): delivered
means the books say exported, with nothing dropped, which for the Cloud Logging API and OTLP
means the server accepted it. It is sent without the catalogue and the sample rates (they are
checked above, and apply to the application's events, not to this one).

``--timeout`` bounds the whole run: every step that can wait (the metadata server, a collector's
port, Google's credential search, the test event's flush and shutdown) gets what is left of it.
"""

from __future__ import annotations

import logging
import os
import platform
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TextIO

from gyrinx_tracker._cli import _checks
from gyrinx_tracker._cli._checks import Finding
from gyrinx_tracker._cli._output import Painter
from gyrinx_tracker._config import TrackerConfig, from_env
from gyrinx_tracker._outputs.gcp.environment import GcpEnvironment
from gyrinx_tracker._version import VERSION

TEST_EVENT = "gyrinx_tracker_doctor"
_MARKS = {"ok": ("✓", "green"), "warn": ("!", "yellow"), "error": ("✗", "red")}
# What each output's own code imports, by module (choice builds it from these).
_LOG_MODULES = {"gcp": "gyrinx_tracker._outputs.gcp.cloud_logging", "otlp": "gyrinx_tracker._outputs.otlp.logs"}
_METRIC_MODULE = "opentelemetry.exporter.otlp.proto.grpc.metric_exporter"  # gcp and otlp metrics
_CONNECT_AT_MOST = 2.0  # seconds for one connection check, within the budget


# Of the whole command's time, what the way out needs after the report: the interpreter's exit,
# the gRPC core's teardown (about half a second measured here), so --timeout holds for the command.
_EXIT_RESERVE = 0.6
_EXIT_SHARE = 0.1


@dataclass
class Budget:
    """The run's deadline: each step asks for what is left (never below zero)."""

    deadline: float

    @classmethod
    def of(cls, seconds: float, started: float | None = None) -> Budget:
        """``seconds`` for the whole command, counted from ``started`` (``time.monotonic()`` when the
        command began: its imports are part of what the user waits for; now if not given), less
        what the exit needs."""
        reserve = min(max(_EXIT_RESERVE, _EXIT_SHARE * seconds), seconds / 2)
        began = time.monotonic() if started is None else min(started, time.monotonic())
        return cls(began + max(0.0, seconds - reserve))

    def left(self, at_most: float | None = None) -> float:
        remaining = max(0.0, self.deadline - time.monotonic())
        return remaining if at_most is None else min(at_most, remaining)


class _Collect(logging.Handler):
    """Keeps the tracker's own warnings so the report can show them in place."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def run(out: TextIO, paint: Painter, send: bool, timeout: float, started: float | None = None) -> int:
    """Print the report; 0 when nothing is wrong (and the test event was delivered), else 1.

    ``started``: when the command began (``time.monotonic()``), which ``timeout`` counts from."""
    budget = Budget.of(timeout, started)
    collected = _Collect()
    logging.getLogger("gyrinx_tracker").addHandler(collected)
    try:
        return _report(os.environ, out, paint, send, budget, collected)
    finally:
        logging.getLogger("gyrinx_tracker").removeHandler(collected)


def _report(environ: Mapping[str, str], out: TextIO, paint: Painter, send: bool, budget: Budget,
            collected: _Collect) -> int:
    config = from_env(environ)
    exporter, why = _exporter(config, environ)
    findings = _checks.bad_values(environ)
    out.write(paint(f"gyrinx-tracker doctor — gyrinx_tracker {VERSION}, Python {platform.python_version()}",
                    "bold") + "\n")
    _section(out, paint, "Configuration")
    rows, more = _configuration(config, exporter, why, environ, budget)
    findings += more
    for name, value in rows:
        out.write(f"  {name:<12} {value}\n")
    _section(out, paint, "Packages")
    for extra in _checks.OUTPUT_EXTRAS:
        versions = _checks.package_versions(extra)
        listed = ", ".join(f"{name} {version}" if version else paint(f"{name} (missing)", "red")
                           for name, version in versions.items())
        out.write(f"  {extra:<6} {listed}\n")
    named = tuple(f"ignoring {finding.text.partition('=')[0]}=" for finding in findings if "=" in finding.text)
    findings += [finding for finding in _collected(collected) if not any(n in finding.text for n in named)]
    _section(out, paint, "Checks")
    if not findings:
        findings.append(Finding("ok", "no misconfiguration found"))
    for finding in findings:
        _finding(out, paint, finding)
    failed = any(finding.level == "error" for finding in findings)
    if send and exporter != "none":
        detail = config.gcp_transport if exporter == "gcp" else exporter
        failed = not _send_test_event(out, paint, exporter, detail, collected, budget) or failed
    out.write("\n" + (paint("FAILED", "red") if failed else paint("OK", "green")) + "\n")
    return 1 if failed else 0


def _exporter(config: TrackerConfig, environ: Mapping[str, str]) -> tuple[str, str]:
    """The exporter the tracker's own ``resolve_exporter`` picks here, and what chose it."""
    from gyrinx_tracker._outputs.choice import resolve_exporter

    exporter = resolve_exporter(config, environ)
    if config.exporter != "auto":
        return exporter, "set by GYRINX_TRACKER_EXPORTER"
    detected = next((n for n in ("GOOGLE_CLOUD_PROJECT", "K_SERVICE", "CLOUD_RUN_JOB") if environ.get(n)), None)
    if exporter == "gcp":
        return exporter, f"auto: {detected}={environ[detected]} is set, so Google Cloud was detected" if detected \
            else "auto: Google Cloud was detected"
    return exporter, "auto: none of GOOGLE_CLOUD_PROJECT, K_SERVICE, CLOUD_RUN_JOB is set, so local JSON"


def _configuration(config: TrackerConfig, exporter: str, why: str, environ: Mapping[str, str],
                   budget: Budget) -> tuple[list[tuple[str, str]], list[Finding]]:
    """Rows of (name, value and source) and the findings resolving them turned up."""
    rows = [("exporter", f"{exporter}  ({why})")]
    findings: list[Finding] = []
    if config.exporter == "auto" and config.global_providers == "auto":
        rows.append(("app SDK", "if the app installs OpenTelemetry SDK providers (opentelemetry-instrument), "
                                "events go into those instead (GYRINX_TRACKER_GLOBAL_PROVIDERS=never opts out)"))
    if exporter == "gcp":
        findings += _gcp_rows(config, environ, rows, budget)
    elif exporter == "otlp":
        endpoint, source = _otlp_logs_endpoint(environ)
        rows.append(("endpoint", f"{endpoint}  ({source})"))
        rows.append(("resource", _otel_resource(environ)))
        findings.append(_checks.missing_extra("otlp", "otlp", (_LOG_MODULES["otlp"],)) or _checks.reachable(
            endpoint, budget.left(_CONNECT_AT_MOST), "the OTLP collector",
            "start the collector (see docs/collector.md) or set OTEL_EXPORTER_OTLP_ENDPOINT "
            "to where it listens"))
    elif exporter == "console":
        rows.append(("log", "JSON lines through the Python logger gyrinx.tracker (stderr if logging is not configured)"))
    else:
        rows.append(("log", "none: the tracker is disabled"))
        findings.append(Finding("warn", "GYRINX_TRACKER_EXPORTER=none: track() does nothing here, so no test "
                                        "event is sent", "unset it (or pick an output) to track events"))
    if exporter != "none":
        metrics, finding = _metrics(config, exporter, environ)
        rows.append(("metrics", metrics))
        findings += [finding] if finding is not None else []
        catalogue, rates_from, more = _catalogue(config)
        rows.append(("catalogue", catalogue))
        findings += more
        rows.append(("sampling", _sampling(config, rates_from)))
    rows.append(("redaction", _redaction(config)))
    return rows, findings


def _gcp_rows(config: TrackerConfig, environ: Mapping[str, str], rows: list[tuple[str, str]],
              budget: Budget) -> list[Finding]:
    """Transport, project, region, resource and log, resolved as the gcp output will resolve them."""
    from gyrinx_tracker._outputs.gcp.environment import detect

    transport = config.gcp_transport
    source = "GYRINX_TRACKER_GCP_TRANSPORT" if environ.get("GYRINX_TRACKER_GCP_TRANSPORT") else "default"
    rows.append(("transport", f"{transport}  ({source})"))
    environment = detect(environ, config.project_id, config.gcp_region, budget.left(config.metadata_timeout))
    rows.append(("project", _project(config, environment, environ)))
    findings = [] if environment.project_id else [_no_project(transport, environ)]
    if transport == "stdout":
        rows.append(("resource", "set by the platform's logging agent (cloud_run_revision on Cloud Run)"))
        rows.append(("log", "run.googleapis.com/stdout (Cloud Run's agent names the log; LOG_NAME is unused)"))
        return findings
    return findings + _cloud_logging_api(config, environment, rows, budget)


def _cloud_logging_api(config: TrackerConfig, environment: GcpEnvironment, rows: list[tuple[str, str]],
                       budget: Budget) -> list[Finding]:
    """The API transport's rows, then its packages and its credentials (or emulator)."""
    rows.append(("region", environment.resource_labels.get("location") or "—"))
    labels = ", ".join(f"{k}={v}" for k, v in environment.resource_labels.items())
    rows.append(("resource", f"{environment.resource_type} {{{labels}}}"))
    rows.append(("log", f"projects/{environment.project_id or '?'}/logs/{config.log_name}"))
    missing = _checks.missing_extra("gcp", "gcp (Cloud Logging API)", (_LOG_MODULES["gcp"],))
    if missing is not None:
        return [missing]
    if not config.cloud_logging_endpoint:
        return [_checks.google_credentials(budget.left())]
    rows.append(("endpoint", f"{config.cloud_logging_endpoint}  (GYRINX_TRACKER_CLOUD_LOGGING_ENDPOINT: "
                             "an emulator, anonymous)"))
    return [_checks.reachable(config.cloud_logging_endpoint, budget.left(_CONNECT_AT_MOST),
                              "the Cloud Logging emulator",
                              "start the emulator or unset GYRINX_TRACKER_CLOUD_LOGGING_ENDPOINT")]


def _no_project(transport: str, environ: Mapping[str, str]) -> Finding:
    """The API output cannot work without a project (it falls back); stdout only loses trace links."""
    cloud_run = _checks.cloud_run(environ)
    where = f" on Cloud Run ({cloud_run} is set)" if cloud_run else ""
    if transport == "api":
        level, effect = "error", "events would fall back to local JSON"
    else:
        level, effect = "warn", "lines carry no trace correlation"
    return Finding(level, f"no Google Cloud project{where}: {effect}",
                   "set GOOGLE_CLOUD_PROJECT (Cloud Run does not set it; the metadata server supplies it "
                   "only inside Google Cloud)")


def _project(config: TrackerConfig, environment: GcpEnvironment, environ: Mapping[str, str]) -> str:
    if config.project_id:
        source = next((n for n in ("GOOGLE_CLOUD_PROJECT", "GCLOUD_PROJECT") if environ.get(n)), "configure()")
        return f"{config.project_id}  ({source})"
    if environment.project_id:
        return f"{environment.project_id}  (metadata server)"
    return "—  (not set, and no metadata server answered)"


def _otel_resource(environ: Mapping[str, str]) -> str:
    """The OpenTelemetry resource the OTLP output sends, as the tracker builds it."""
    from gyrinx_tracker._signals.resource import resource_from_env

    attributes = resource_from_env().attributes
    shown = ", ".join(f"{key}={_attribute(attributes[key])}" for key in sorted(attributes)
                      if not key.startswith("telemetry."))
    sources = [name for name in ("OTEL_SERVICE_NAME", "OTEL_RESOURCE_ATTRIBUTES") if environ.get(name)]
    return f"{{{shown}}}  ({', '.join(sources) or 'no OTEL_SERVICE_NAME: set it to name your service'})"


def _attribute(value: object) -> str:
    return value if isinstance(value, str) else repr(value)


def _otlp_logs_endpoint(environ: Mapping[str, str]) -> tuple[str, str]:
    """Where the OTLP output sends logs, and why: the protocol the exporter chooses, then that protocol's
    endpoint as its transport reads it (gRPC's default port is 4317, OTLP/HTTP's 4318 with ``/v1/logs``)."""
    from gyrinx_tracker._outputs.otlp import settings

    chosen = settings.protocol(environ, "LOGS")
    if chosen == settings.GRPC:
        return _checks.otlp_endpoint(environ)
    variable = settings.protocol_source(environ, "LOGS")
    endpoint = settings.http_endpoint(environ, "LOGS")
    source = settings.http_endpoint_source(environ, "LOGS") or "the OTLP/HTTP default"
    return endpoint, f"{source}, {chosen} from {variable}"


def _metrics(config: TrackerConfig, exporter: str, environ: Mapping[str, str]) -> tuple[str, Finding | None]:
    """The pipeline's own metrics decision (``metrics_route``), with its interval, and whether it can load."""
    from gyrinx_tracker._outputs.choice import metric_interval, metrics_route

    route = metrics_route(config, environ, app_meters=False)
    interval = metric_interval(config, environ)
    app = "; into the app's meter provider instead, if it installs one" if config.global_providers == "auto" else ""
    if route == "local":
        return (f"JSON lines through the logger gyrinx.tracker.metrics every {interval:g} s, at each flush and "
                f"at exit (GYRINX_TRACKER_LOCAL_METRICS=false turns them off){app}"), None
    if route == "gcp":
        from gyrinx_tracker._outputs.gcp.cloud_monitoring import MIN_INTERVAL

        text = (f"Cloud Monitoring through the Telemetry API (OTLP) every {max(interval, MIN_INTERVAL):g} s, "
                f"counters tracker.<event>, histograms tracker.<event>.value{app}")
        problem = _checks.unloadable((_METRIC_MODULE,))
        finding = None if problem is None else Finding(
            "warn", f"metrics cannot go to Cloud Monitoring ({problem}); events are still logged",
            'pip install "gyrinx-tracker[gcp]"')
        return text, finding
    if route == "otlp":
        return (f"OTLP metric exporter to the same collector every {interval:g} s (counters tracker.<event>, "
                f"histograms tracker.<event>.value){app}"), None
    off = {"gcp": "GYRINX_TRACKER_GCP_METRICS=false", "console": "GYRINX_TRACKER_LOCAL_METRICS=false"}
    return f"none: {off.get(exporter, 'no metric exporter for this output')}{app}", None


RatesFrom = Callable[[str], "float | None"] | None


def _catalogue(config: TrackerConfig) -> tuple[str, RatesFrom, list[Finding]]:
    """The catalogue row, its sample rates (for the sampling row) and a failing finding if it cannot be used."""
    path = config.catalogue
    if path is None:
        return "none (GYRINX_TRACKER_CATALOGUE is unset: events are not checked)", None, []
    from gyrinx_tracker._catalogue.catalogue import load

    try:
        catalogue = load(path)
    except Exception as error:  # noqa: BLE001 - the loader's verdict, whatever it is, is the finding
        return f"{path}  (cannot be used)", None, [Finding(
            "error", f"the event catalogue {path} cannot be used ({error}): the tracker would track without it",
            "fix the file (gyrinx-tracker events check) or unset GYRINX_TRACKER_CATALOGUE")]
    rates = catalogue.sample_rate_for if catalogue.has_rates else None
    return f"{path}  ({len(catalogue)} events; checked on the exporter thread)", rates, []


def _sampling(config: TrackerConfig, rates_from: RatesFrom) -> str:
    """The sampler the pipeline would build (``sampler_for``): none, or its rates and caps."""
    from gyrinx_tracker._signals.sampling import sampler_for

    if sampler_for(config.sample_rates, config.sample_caps, rates_from) is None:
        return "none: every event is logged (GYRINX_TRACKER_SAMPLE_RATES and SAMPLE_CAPS are unset or 1)"
    parts = []
    if config.sample_rates:
        parts.append("rates " + ", ".join(f"{name}={rate:g}" for name, rate in config.sample_rates.items()))
    if config.sample_caps:
        parts.append("caps " + ", ".join(f"{name}={cap:g}/s" for name, cap in config.sample_caps.items()))
    if rates_from is not None:
        parts.append("rates from the catalogue")
    return "; ".join(parts) + " (metrics still count every event)"


def _redaction(config: TrackerConfig) -> str:
    allow = ", ".join(config.redact_allow) or "—"
    extra = ", ".join(config.redact_extra) or "—"
    return f"secret-looking label keys and credential values; allowed keys: {allow}; extra patterns: {extra}"


def _collected(collected: _Collect) -> list[Finding]:
    found = [Finding("warn", f"the tracker warned: {message}") for message in collected.messages]
    collected.messages.clear()
    return found


def _send_test_event(out: TextIO, paint: Painter, exporter: str, detail: str, collected: _Collect,
                     budget: Budget) -> bool:
    """One event through the public API; True when the books say it was exported and nothing dropped."""
    import gyrinx_tracker

    _section(out, paint, "Test event")
    started = time.monotonic()
    gyrinx_tracker.configure(catalogue=None, sample_rates={}, sample_caps={})  # this event is the doctor's own
    gyrinx_tracker.track(TEST_EVENT, check="doctor")
    flushed = gyrinx_tracker.flush(budget.left())
    books = gyrinx_tracker.stats()
    gyrinx_tracker.shutdown(budget.left())
    elapsed = time.monotonic() - started
    out.write(f"  track({TEST_EVENT!r}, check='doctor'); flush() -> {flushed} in {elapsed:.2f} s\n")
    out.write(f"  stats(): emitted {books['emitted']}, exported {books['exported']}, dropped {books['dropped']}"
              + (f" {books['dropped_by_reason']}" if books["dropped"] else "") + "\n")
    warnings = _collected(collected)
    for finding in warnings:
        _finding(out, paint, finding)
    fell_back = any("cannot use the" in finding.text for finding in warnings)
    delivered = flushed and books["exported"] >= 1 and books["dropped"] == 0 and not fell_back
    if delivered:
        where = {"console": " (the JSON line on stderr: this process configures no logging)",
                 "stdout": " (the structured JSON line on stdout, above)"}.get(detail, "")
        _finding(out, paint, Finding("ok", f"delivered: the {exporter} output accepted the test event{where}"))
    else:
        _finding(out, paint, Finding("error", "not delivered" + (": it fell back to local JSON" if fell_back else ""),
                                     "fix the errors above and run doctor again"))
    return delivered


def _section(out: TextIO, paint: Painter, title: str) -> None:
    out.write("\n" + paint(title, "bold") + "\n")


def _finding(out: TextIO, paint: Painter, finding: Finding) -> None:
    mark, style = _MARKS[finding.level]
    out.write(f"  {paint(mark, style)} {finding.text}\n")
    if finding.advice:
        out.write(f"    → {finding.advice}\n")
