"""``gyrinx-tracker doctor``: the configuration this process would get, why, and a real test event.

The configuration is read with the tracker's own ``from_env`` and exporter choice, so what is shown
is what an app started with the same environment would do. The test event then goes through the
public API (``configure``, ``track``, ``flush``, ``stats``): delivered means the books say exported,
with nothing dropped, which for the Cloud Logging API and OTLP means the server accepted it.
"""

from __future__ import annotations

import logging
import os
import platform
import time
from collections.abc import Mapping
from typing import TextIO

from gyrinx_tracker._cli import _checks
from gyrinx_tracker._cli._checks import Finding
from gyrinx_tracker._cli._output import Painter
from gyrinx_tracker._config import TrackerConfig, from_env
from gyrinx_tracker._outputs.gcp.environment import GcpEnvironment
from gyrinx_tracker._version import VERSION

TEST_EVENT = "gyrinx_tracker_doctor"
_MARKS = {"ok": ("✓", "green"), "warn": ("!", "yellow"), "error": ("✗", "red")}


class _Collect(logging.Handler):
    """Keeps the tracker's own warnings so the report can show them in place."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def run(out: TextIO, paint: Painter, send: bool, timeout: float) -> int:
    """Print the report; 0 when nothing is wrong (and the test event was delivered), else 1."""
    environ = os.environ
    collected = _Collect()
    logging.getLogger("gyrinx_tracker").addHandler(collected)
    try:
        return _report(environ, out, paint, send, timeout, collected)
    finally:
        logging.getLogger("gyrinx_tracker").removeHandler(collected)


def _report(environ: Mapping[str, str], out: TextIO, paint: Painter, send: bool, timeout: float,
            collected: _Collect) -> int:
    config = from_env(environ)
    exporter, why = _exporter(config, environ)
    findings = _checks.bad_values(environ)
    out.write(paint(f"gyrinx-tracker doctor — gyrinx_tracker {VERSION}, Python {platform.python_version()}",
                    "bold") + "\n")
    _section(out, paint, "Configuration")
    rows, more = _configuration(config, exporter, why, environ, min(2.0, timeout))
    findings += more
    for name, value in rows:
        out.write(f"  {name:<12} {value}\n")
    _section(out, paint, "Packages")
    for extra in _checks.PACKAGES:
        versions = _checks.package_versions(extra)
        listed = ", ".join(f"{name} {version}" if version else paint(f"{name} (missing)", "red")
                           for name, version in versions.items())
        out.write(f"  {extra:<6} {listed}\n")
    findings += _collected(collected)
    _section(out, paint, "Checks")
    if not findings:
        findings.append(Finding("ok", "no misconfiguration found"))
    for finding in findings:
        _finding(out, paint, finding)
    failed = any(finding.level == "error" for finding in findings)
    if send and exporter != "none":
        detail = config.gcp_transport if exporter == "gcp" else exporter
        failed = not _send_test_event(out, paint, exporter, detail, collected, timeout) or failed
    out.write("\n" + (paint("FAILED", "red") if failed else paint("OK", "green")) + "\n")
    return 1 if failed else 0


def _exporter(config: TrackerConfig, environ: Mapping[str, str]) -> tuple[str, str]:
    """The exporter ``auto`` resolves to here, and the variable or detection that chose it."""
    if config.exporter != "auto":
        return config.exporter, "set by GYRINX_TRACKER_EXPORTER"
    detected = next((n for n in ("GOOGLE_CLOUD_PROJECT", "K_SERVICE", "CLOUD_RUN_JOB") if environ.get(n)), None)
    if detected:
        return "gcp", f"auto: {detected}={environ[detected]} is set, so Google Cloud was detected"
    return "console", "auto: none of GOOGLE_CLOUD_PROJECT, K_SERVICE, CLOUD_RUN_JOB is set, so local JSON"


def _configuration(config: TrackerConfig, exporter: str, why: str, environ: Mapping[str, str],
                   timeout: float) -> tuple[list[tuple[str, str]], list[Finding]]:
    """Rows of (name, value and source) and the findings resolving them turned up."""
    rows = [("exporter", f"{exporter}  ({why})")]
    findings: list[Finding] = []
    if config.exporter == "auto" and config.global_providers == "auto":
        rows.append(("app SDK", "if the app installs OpenTelemetry SDK providers (opentelemetry-instrument), "
                                "events go into those instead (GYRINX_TRACKER_GLOBAL_PROVIDERS=never opts out)"))
    if exporter == "gcp":
        findings += _gcp_rows(config, environ, rows, timeout)
    elif exporter == "otlp":
        endpoint, source = _checks.otlp_endpoint(environ)
        rows.append(("endpoint", f"{endpoint}  ({source})"))
        rows.append(("resource", _otel_resource(environ)))
        findings.append(_checks.missing_extra("otlp", "otlp") or _checks.reachable(
            endpoint, timeout, "the OTLP collector",
            "start the collector (see README: Running with a collector) or set OTEL_EXPORTER_OTLP_ENDPOINT "
            "to where it listens"))
    elif exporter == "console":
        rows.append(("log", "JSON lines through the Python logger gyrinx.tracker (stderr if logging is not configured)"))
    else:
        rows.append(("log", "none: the tracker is disabled"))
        findings.append(Finding("warn", "GYRINX_TRACKER_EXPORTER=none: track() does nothing here, so no test "
                                        "event is sent", "unset it (or pick an output) to track events"))
    rows.append(("metrics", _metrics(config, exporter)))
    rows.append(("redaction", _redaction(config)))
    rows.append(("sampling", "not available yet: the tracker has no sampling settings (every event is exported)"))
    return rows, findings


def _gcp_rows(config: TrackerConfig, environ: Mapping[str, str], rows: list[tuple[str, str]],
              timeout: float) -> list[Finding]:
    """Transport, project, region, resource and log, resolved as the gcp output will resolve them."""
    from gyrinx_tracker._outputs.gcp.environment import detect

    transport = config.gcp_transport
    source = "GYRINX_TRACKER_GCP_TRANSPORT" if environ.get("GYRINX_TRACKER_GCP_TRANSPORT") else "default"
    rows.append(("transport", f"{transport}  ({source})"))
    environment = detect(environ, config.project_id, config.gcp_region, config.metadata_timeout)
    rows.append(("project", _project(config, environment, environ)))
    findings = [] if environment.project_id else [_no_project(transport, environ)]
    if transport == "stdout":
        rows.append(("resource", "set by the platform's logging agent (cloud_run_revision on Cloud Run)"))
        rows.append(("log", "run.googleapis.com/stdout (Cloud Run's agent names the log; LOG_NAME is unused)"))
        return findings
    return findings + _cloud_logging_api(config, environment, rows, timeout)


def _cloud_logging_api(config: TrackerConfig, environment: GcpEnvironment, rows: list[tuple[str, str]],
                       timeout: float) -> list[Finding]:
    """The API transport's rows, then its packages and its credentials (or emulator)."""
    rows.append(("region", environment.resource_labels.get("location") or "—"))
    labels = ", ".join(f"{k}={v}" for k, v in environment.resource_labels.items())
    rows.append(("resource", f"{environment.resource_type} {{{labels}}}"))
    rows.append(("log", f"projects/{environment.project_id or '?'}/logs/{config.log_name}"))
    missing = _checks.missing_extra("gcp", "gcp (Cloud Logging API)")
    if missing is not None:
        return [missing]
    if not config.cloud_logging_endpoint:
        return [_checks.google_credentials()]
    rows.append(("endpoint", f"{config.cloud_logging_endpoint}  (GYRINX_TRACKER_CLOUD_LOGGING_ENDPOINT: "
                             "an emulator, anonymous)"))
    return [_checks.reachable(config.cloud_logging_endpoint, timeout, "the Cloud Logging emulator",
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


def _metrics(config: TrackerConfig, exporter: str) -> str:
    if exporter == "otlp":
        return "OTLP metric exporter to the same collector (counters tracker.<event>, histograms tracker.<event>.value)"
    return ("none from the tracker with this output (use log-based metrics, collector-config/monitoring/), "
            "unless the app has its own meter provider")


def _redaction(config: TrackerConfig) -> str:
    allow = ", ".join(config.redact_allow) or "—"
    extra = ", ".join(config.redact_extra) or "—"
    return f"secret-looking label keys and credential values; allowed keys: {allow}; extra patterns: {extra}"


def _collected(collected: _Collect) -> list[Finding]:
    found = [Finding("warn", f"the tracker warned: {message}") for message in collected.messages]
    collected.messages.clear()
    return found


def _send_test_event(out: TextIO, paint: Painter, exporter: str, detail: str, collected: _Collect,
                     timeout: float) -> bool:
    """One event through the public API; True when the books say it was exported and nothing dropped."""
    import gyrinx_tracker

    _section(out, paint, "Test event")
    started = time.monotonic()
    gyrinx_tracker.configure()
    gyrinx_tracker.track(TEST_EVENT, check="doctor")
    flushed = gyrinx_tracker.flush(timeout)
    books = gyrinx_tracker.stats()
    gyrinx_tracker.shutdown(timeout)
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
