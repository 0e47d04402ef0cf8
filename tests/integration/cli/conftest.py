"""Real inputs for the command line, made by really running the tracker, and a way to run the CLI.

One app script tracks a known set of events (``EXPECTED`` says which), run three ways:
  * local: JSON lines through the ``gyrinx.tracker`` logger into a file, behind the app's own log
    prefix, which shows the record's time, level and trace (``2026-11-29 10:00:01,123 INFO gyrinx.tracker
    trace_id=... {...}``);
  * Cloud Run stdout: ``GYRINX_TRACKER_EXPORTER=gcp GYRINX_TRACKER_GCP_TRANSPORT=stdout``;
  * gcloud JSON: the Cloud Logging API output into the loopback Cloud Logging server, whose
    received entries are converted with ``google.protobuf.json_format`` into the JSON array
    ``gcloud logging read --format=json`` prints.
Each file is made once per session; the CLI runs as ``python -m gyrinx_tracker`` in a subprocess.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from tests.servers.cloud_logging import CloudLoggingServer

ROOT = Path(__file__).resolve().parents[3]
KINDS = ("local", "stdout", "gcloud")
API_CALLS = 40
DURATIONS = [float(i) for i in range(1, 41)]  # operation_duration values 1..40
LOGIN_N = 3

APP = textwrap.dedent(f"""
    import logging, sys
    if sys.argv[1] == "local":
        handler = logging.FileHandler(sys.argv[2])
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s trace_id=%(otelTraceID)s %(message)s"))
        logging.getLogger("gyrinx.tracker").addHandler(handler)
        logging.getLogger("gyrinx.tracker").setLevel(logging.INFO)
    from opentelemetry.sdk.trace import TracerProvider
    from gyrinx_tracker import flush, track
    tracer = TracerProvider().get_tracer("app")
    print("plain app output that is not an event", flush=True)
    for i in range({API_CALLS}):
        with tracer.start_as_current_span("request"):
            track("api_call", endpoint="/api/v1/fighters" if i % 2 else "/api/v1/lists", method="GET",
                  status=500 if i % 4 == 0 else 200)
    for value in {DURATIONS!r}:
        track("operation_duration", value=value, operation="generate_report")
    track("user_login", n={LOGIN_N}, method="password")
    assert flush(10)
""")

BASE_ENV = {"GYRINX_TRACKER_HANDLE_SIGTERM": "false"}
_CLEARED = ("GYRINX_TRACKER_EXPORTER", "GOOGLE_CLOUD_PROJECT", "GCLOUD_PROJECT", "K_SERVICE", "CLOUD_RUN_JOB",
            "NO_COLOR", "OTEL_EXPORTER_OTLP_ENDPOINT", "GYRINX_TRACKER_GCP_TRANSPORT",
            "GYRINX_TRACKER_CLOUD_LOGGING_ENDPOINT", "OTEL_SERVICE_NAME", "OTEL_RESOURCE_ATTRIBUTES",
            "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT", "GOOGLE_APPLICATION_CREDENTIALS")


def clean_env(**extra: str) -> dict[str, str]:
    """The test process's environment without anything that steers the tracker, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if k not in _CLEARED}
    return {**env, **BASE_ENV, **extra}


def _run_app(mode: str, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([sys.executable, "-c", APP, mode, *args], capture_output=True, text=True,
                            timeout=60, env=env, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    return result


def _local(path: Path) -> None:
    _run_app("local", clean_env(GYRINX_TRACKER_EXPORTER="console"), str(path))


def _stdout(path: Path) -> None:
    env = clean_env(GYRINX_TRACKER_EXPORTER="gcp", GYRINX_TRACKER_GCP_TRANSPORT="stdout", GOOGLE_CLOUD_PROJECT="p")
    path.write_text(_run_app("stdout", env).stdout, encoding="utf-8")


def _gcloud(path: Path) -> None:
    with CloudLoggingServer() as server:
        env = clean_env(GYRINX_TRACKER_EXPORTER="gcp", GOOGLE_CLOUD_PROJECT="p",
                        GYRINX_TRACKER_CLOUD_LOGGING_ENDPOINT=server.endpoint, K_SERVICE="gyrinx",
                        K_REVISION="gyrinx-00042-abc", K_CONFIGURATION="gyrinx",
                        GYRINX_TRACKER_GCP_REGION="europe-west2")
        _run_app("gcloud", env)
        entries = server.entries()  # MessageToDict of each received LogEntry: the JSON gcloud prints
    for number, entry in enumerate(entries):  # fields Cloud Logging adds on receipt
        entry["insertId"] = f"{number:012x}"
        entry["receiveTimestamp"] = entry["timestamp"]
    path.write_text(json.dumps(entries, indent=2) + "\n", encoding="utf-8")


@pytest.fixture(scope="session")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """kind -> a file of that kind holding the app's events."""
    folder = tmp_path_factory.mktemp("cli-inputs")
    paths = {kind: folder / f"{kind}.log" for kind in KINDS}
    _local(paths["local"])
    _stdout(paths["stdout"])
    _gcloud(paths["gcloud"])
    return paths


@pytest.fixture(params=KINDS)
def kind(request: pytest.FixtureRequest) -> str:
    """Each input kind in turn."""
    return str(request.param)


Run = Callable[..., subprocess.CompletedProcess[str]]


def run_cli(*args: str, stdin: str | None = None, env: dict[str, str] | None = None,
            timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """``python -m gyrinx_tracker ARGS`` in a subprocess, as a user would run it."""
    return subprocess.run([sys.executable, "-m", "gyrinx_tracker", *args], input=stdin, capture_output=True,
                          text=True, timeout=timeout, env=env or clean_env(), cwd=ROOT)


@pytest.fixture
def cli() -> Run:
    """The CLI runner."""
    return run_cli


def json_lines(text: str) -> list[dict[str, Any]]:
    """The JSON objects printed one per line."""
    return [json.loads(line) for line in text.splitlines() if line.strip()]


@pytest.fixture
def raw_events() -> Callable[[Path], Iterator[dict[str, Any]]]:
    """The events in a file, read independently of the CLI's own reader (for expected values)."""
    def read(path: Path) -> Iterator[dict[str, Any]]:
        text = path.read_text(encoding="utf-8")
        if text.lstrip().startswith("["):
            for entry in json.loads(text):
                yield {**entry["jsonPayload"], "time": entry["timestamp"]}
            return
        for line in text.splitlines():
            if "{" in line:
                event = json.loads(line[line.index("{"):])
                if "event" not in event:  # the local output's metric lines: series, not events
                    continue
                if "time" not in event:  # local lines: %(asctime)s without a zone, which the CLI reads as UTC
                    stamp = datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S,%f").replace(tzinfo=timezone.utc)
                    event["time"] = stamp.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
                yield event
    return read
