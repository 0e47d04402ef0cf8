"""What ``doctor`` can find wrong without sending anything: packages, credentials, endpoints, values.

Each check returns ``Finding``s: a level, what was found, and advice that names the fix (the
extra to install, the variable to set, the command to run). They only look: nothing here changes
the process's configuration or talks to Google beyond what ``google.auth.default()`` does.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import os
import re
import socket
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from gyrinx_tracker._config import VARIABLES, shown_default

# The outputs that need an extra, by the extra's name in pyproject.toml.
OUTPUT_EXTRAS = ("gcp", "otlp")
DISTRIBUTION = "gyrinx-tracker"
DEFAULT_OTLP_ENDPOINT = "http://localhost:4317"
_EXTRA_MARKER = re.compile(r"""extra\s*==\s*["']([^"']+)["']""")
_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


@dataclass(frozen=True)
class Finding:
    """One result: ``level`` is ok, warn or error; ``advice`` says what to do about it."""

    level: str
    text: str
    advice: str = ""


def extra_requirements(extra: str) -> tuple[str, ...]:
    """The distributions the extra ``extra`` installs, as the installed package's metadata says
    (built from pyproject.toml, so it is what ``pip install "gyrinx-tracker[extra]"`` gives);
    nothing when the package was never installed (a bare checkout on ``sys.path``)."""
    try:
        requires = importlib.metadata.requires(DISTRIBUTION) or []
    except importlib.metadata.PackageNotFoundError:
        return ()
    names = []
    for requirement in requires:
        requirement_text, _, marker = requirement.partition(";")
        match = _EXTRA_MARKER.search(marker)
        name = _NAME.match(requirement_text)
        if match and match.group(1) == extra and name:
            names.append(name.group(1))
    return tuple(dict.fromkeys(names))


def package_versions(extra: str) -> dict[str, str | None]:
    """Each distribution of the extra with its installed version (None when not installed)."""
    found: dict[str, str | None] = {}
    for name in extra_requirements(extra):
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            found[name] = None
    return found


def unloadable(modules: tuple[str, ...]) -> str | None:
    """The first of ``modules`` (the ones the output's own code imports) that cannot be imported, and why."""
    for module in modules:
        try:
            importlib.import_module(module)
        except ImportError as error:
            return f"{module}: {error}"
    return None


def missing_extra(extra: str, chosen: str, modules: tuple[str, ...]) -> Finding | None:
    """An error when the chosen output cannot load what it imports; it names the extra's missing
    distributions, from the extra itself, so the advice cannot send anyone in a loop."""
    problem = unloadable(modules)
    if problem is None:
        return None
    missing = [name for name, version in package_versions(extra).items() if version is None]
    what = (f"{', '.join(missing)}, which {'is' if len(missing) == 1 else 'are'} not installed" if missing
            else f"a module it imports ({problem})")
    return Finding("error", f"the {chosen} output needs {what}: events would fall back to local JSON",
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
            findings.append(Finding("error", f"{variable.name}={raw!r} is ignored ({error}); the default, "
                                    f"{shown_default(variable.field)}, is used", f"fix or unset {variable.name}"))
    raw = environ.get("OTEL_METRIC_EXPORT_INTERVAL", "").strip()
    if raw and not _positive_number(raw):
        findings.append(Finding("error", f"OTEL_METRIC_EXPORT_INTERVAL={raw!r} is ignored (expected a positive "
                                "number of milliseconds); the default, 60 s, is used",
                                "fix or unset OTEL_METRIC_EXPORT_INTERVAL"))
    return findings


def _positive_number(raw: str) -> bool:
    try:
        return float(raw) > 0
    except ValueError:
        return False


def google_credentials(timeout: float) -> Finding:
    """Whether Application Default Credentials can be found, as the Cloud Logging client will look,
    within ``timeout`` seconds: off Google Cloud, ``google.auth.default()`` asks the metadata server
    and can wait several seconds for it, so it runs on a daemon thread that is left behind when the
    time is up."""
    outcome: list[Finding] = []
    thread = threading.Thread(target=lambda: outcome.append(_google_credentials()), daemon=True,
                              name="gyrinx-tracker-doctor-credentials")
    thread.start()
    thread.join(max(0.0, timeout))
    if outcome:
        return outcome[0]
    return Finding("warn", f"the Google credentials check did not finish within {timeout:.1f} s (--timeout)",
                   "run doctor with a longer --timeout, or set GOOGLE_APPLICATION_CREDENTIALS")


def _google_credentials() -> Finding:
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
