"""Hundreds of forks while the parent exports over gRPC (API transport): every child keeps its events.

gunicorn ``--preload`` forks workers from a master whose exporter thread may be inside a gRPC call;
gRPC's own fork handlers skip themselves then ("Other threads are currently calling into gRPC"),
and a child forked that way could not export. ``_forksafe`` holds every fork until the exporter
thread is out of gRPC. A real loopback Cloud Logging server; children run one after another.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.servers.cloud_logging import CloudLoggingServer

pytest_plugins = ("tests.servers.fixtures",)

SCRIPT = str(Path(__file__).parents[1] / "processes" / "fork_under_load.py")
FORKS = 150


@pytest.mark.slow
@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
class TestForksUnderLoad:
    @pytest.mark.parametrize("fork_support", ["default", "true"])
    def test_every_child_forked_mid_traffic_exports_all_its_events(
            self, cloud_logging_server: CloudLoggingServer, fork_support: str) -> None:
        """150 children forked while the parent tracks and exports each export all 1,000 events (gRPC fork support default and on)."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("GYRINX_TRACKER_", "OTEL_", "K_", "GOOGLE_", "GRPC_"))}
        env.update(GOOGLE_CLOUD_PROJECT="proj", GYRINX_TRACKER_GCP_METRICS="false", GYRINX_TRACKER_HANDLE_SIGTERM="false",
                   GYRINX_TRACKER_CLOUD_LOGGING_ENDPOINT=cloud_logging_server.endpoint,
                   PYTHONPATH=str(Path(__file__).parents[2]))
        if fork_support == "true":
            env["GRPC_ENABLE_FORK_SUPPORT"] = "true"
        result = subprocess.run([sys.executable, SCRIPT, str(FORKS)], capture_output=True, text=True, timeout=600, env=env)
        assert result.returncode == 0, result.stderr[-2000:]
        last = result.stdout.strip().splitlines()[-1]
        assert last.startswith(f"FORKS {FORKS} BAD 0 "), (last, result.stderr[-2000:])
        children = sum(1 for entry in cloud_logging_server.entries() if "child_event" in str(entry))
        assert children == FORKS * 1_000
