"""The seams issue 7 put in place stay in place: what import loads, what the outputs import, each
in a fresh interpreter (the writers' interface and the version are tests/unit/test_structure.py)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

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
