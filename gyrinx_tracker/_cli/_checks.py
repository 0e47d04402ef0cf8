"""What ``doctor`` can find wrong without sending anything: packages, credentials, endpoints, values.

Each check returns ``Finding``s: a level, what was found, and advice that names the fix (the
extra to install, the variable to set, the command to run). They only look: nothing here changes
the process's configuration or talks to Google beyond what ``google.auth.default()`` does.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from gyrinx_tracker._config import VARIABLES

# Per output: (distribution, the module the tracker imports from it). A package counts as found
# when its module can be imported, which is what the output needs; the version is for the report.
PACKAGES: dict[str, tuple[tuple[str, str], ...]] = {
    "core": (("opentelemetry-api", "opentelemetry.trace"), ("opentelemetry-sdk", "opentelemetry.sdk")),
    "gcp": (("opentelemetry-exporter-gcp-logging", "opentelemetry.exporter.cloud_logging"),
            ("google-cloud-logging", "google.cloud.logging_v2"),
            ("opentelemetry-resourcedetector-gcp", "opentelemetry.resourcedetector.gcp_resource_detector")),
    "otlp": (("opentelemetry-exporter-otlp-proto-grpc", "opentelemetry.exporter.otlp.proto.grpc"),),
}
DEFAULT_OTLP_ENDPOINT = "http://localhost:4317"


@dataclass(frozen=True)
class Finding:
    """One result: ``level`` is ok, warn or error; ``advice`` says what to do about it."""

    level: str
    text: str
    advice: str = ""


def package_versions(extra: str) -> dict[str, str | None]:
    """Each distribution an output needs, with its installed version (None when not importable)."""
    found: dict[str, str | None] = {}
    for name, module in PACKAGES[extra]:
        try:
            importable = importlib.util.find_spec(module) is not None
        except (ImportError, ValueError):
            importable = False
        found[name] = _version(name) if importable else None
    return found


def _version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "(version unknown)"


def missing_extra(extra: str, chosen: str) -> Finding | None:
    """An error when the chosen output's packages are not all installed."""
    missing = [name for name, version in package_versions(extra).items() if version is None]
    if not missing:
        return None
    return Finding("error", f"the {chosen} output needs {', '.join(missing)}, which "
                   f"{'is' if len(missing) == 1 else 'are'} not installed: events would fall back "
                   "to local JSON",
                   f'pip install "gyrinx-tracker[{extra}]"')


def bad_values(environ: Mapping[str, str]) -> list[Finding]:
    """Variables whose values the tracker ignores (it warns once and keeps the default)."""
    findings = []
    for variable in VARIABLES:
        raw = environ.get(variable.name)
        if raw is None or not raw.strip():
            continue
        try:
            variable.parse(raw)
        except ValueError as error:
            findings.append(Finding("error", f"{variable.name}={raw!r} is ignored ({error}); the default is used",
                                    f"fix or unset {variable.name}"))
    return findings


def google_credentials() -> Finding:
    """Whether Application Default Credentials can be found, as the Cloud Logging client will look."""
    try:
        import google.auth
        from google.auth.exceptions import GoogleAuthError
    except ImportError:
        return Finding("error", "google-auth is not installed", 'pip install "gyrinx-tracker[gcp]"')
    try:
        _, project = google.auth.default()
    except GoogleAuthError as error:
        return Finding("error", f"no Google credentials: {error}",
                       "on Cloud Run, run the service as a service account with roles/logging.logWriter; "
                       "on a laptop, run `gcloud auth application-default login` or set "
                       "GOOGLE_APPLICATION_CREDENTIALS to a key file")
    suffix = f" (their project: {project})" if project else ""
    return Finding("ok", f"Google credentials found{suffix}")


def otlp_endpoint(environ: Mapping[str, str]) -> tuple[str, str]:
    """The logs endpoint the OTLP exporter will use, and the variable it came from."""
    for name in ("OTEL_EXPORTER_OTLP_LOGS_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT"):
        if environ.get(name):
            return environ[name], name
    return DEFAULT_OTLP_ENDPOINT, "the OTLP default"


def reachable(endpoint: str, timeout: float, what: str, advice: str) -> Finding:
    """Whether a TCP connection to ``endpoint`` (``host:port`` or a URL) opens within ``timeout``."""
    host, port = _host_port(endpoint)
    if host is None or port is None:
        return Finding("error", f"{what} endpoint {endpoint!r} is not host:port", advice)
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return Finding("ok", f"{what} at {host}:{port} accepts connections")
    except OSError as error:
        return Finding("error", f"{what} at {host}:{port} is unreachable ({error.strerror or error})", advice)


def _host_port(endpoint: str) -> tuple[str | None, int | None]:
    parts = urlsplit(endpoint if "://" in endpoint else "//" + endpoint)
    try:
        port = parts.port or (443 if parts.scheme == "https" else 4317)
    except ValueError:
        return None, None
    return parts.hostname, port


def cloud_run(environ: Mapping[str, str] | None = None) -> str | None:
    """The variable that says this is Cloud Run (``K_SERVICE`` or ``CLOUD_RUN_JOB``), if any."""
    environ = os.environ if environ is None else environ
    return next((name for name in ("K_SERVICE", "CLOUD_RUN_JOB") if environ.get(name)), None)
