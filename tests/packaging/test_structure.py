"""The seams issue 7 put in place stay in place: what import loads, what the outputs import."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from gyrinx_tracker._outputs.gcp.cloud_run import CloudRunStdoutWriter
from gyrinx_tracker._outputs.local.writer import LocalJsonWriter
from gyrinx_tracker._outputs.shared.sdk import SdkExporterWriter
from gyrinx_tracker._signals.writers import LogWriter
from gyrinx_tracker._version import VERSION
from tests.servers.cloud_logging import CloudLoggingServer

ROOT = Path(__file__).parents[2]


def _modules_after(code: str, env: dict[str, str] | None = None) -> set[str]:
    """The modules loaded by a fresh interpreter after running ``code``."""
    script = code + "\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    result = subprocess.run([sys.executable, "-W", "error::DeprecationWarning", "-c", script],
                            capture_output=True, text=True, cwd=ROOT, env=env, timeout=60, check=True)
    return set(json.loads(result.stdout.splitlines()[-1]))


class TestImport:
    def test_import_loads_no_output_and_no_metrics_sdk(self) -> None:
        """``import gyrinx_tracker`` stays light: outputs are loaded when the first pipeline is made."""
        loaded = _modules_after("import gyrinx_tracker")
        heavy = {"gyrinx_tracker._outputs.choice", "gyrinx_tracker._outputs.local.writer", "opentelemetry.sdk.metrics",
                 "google.cloud.logging_v2", "grpc", "urllib.request"}
        assert heavy.isdisjoint(loaded), heavy & loaded


class TestCloudLoggingOutput:
    def test_the_deprecated_upstream_exporter_is_never_imported(self, tmp_path: Path) -> None:
        """The API output wraps google-cloud-logging's client; no deprecation warning is silenced."""
        import os

        with CloudLoggingServer() as server:
            env = {**os.environ, "GYRINX_TRACKER_EXPORTER": "gcp", "GOOGLE_CLOUD_PROJECT": "p",
                   "GYRINX_TRACKER_CLOUD_LOGGING_ENDPOINT": server.endpoint,
                   "GYRINX_TRACKER_HANDLE_SIGTERM": "false"}
            loaded = _modules_after("import gyrinx_tracker as t\nt.track('user_login')\nassert t.flush(10)\n"
                                    "assert t.stats()['exported'] == 1, t.stats()", env)
            assert len(server.entries()) == 1
        assert "gyrinx_tracker._outputs.gcp.cloud_logging" in loaded
        assert not any(name.startswith("opentelemetry.exporter.cloud_logging") for name in loaded)


class TestInterfaces:
    def test_every_writer_is_a_log_writer(self) -> None:
        """The writers satisfy the LogWriter protocol (checked by mypy here) and say what they read."""
        from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter

        writers: list[LogWriter] = [LocalJsonWriter(), CloudRunStdoutWriter("p"),
                                    SdkExporterWriter(InMemoryLogRecordExporter())]
        assert [w.reads_attributes for w in writers] == [False, False, True]

    def test_the_version_is_written_once(self) -> None:
        """pyproject.toml reads the version from the package; the installed metadata agrees."""
        from importlib.metadata import version

        assert 'dynamic = ["version"]' in (ROOT / "pyproject.toml").read_text()
        assert version("gyrinx-tracker") == VERSION
