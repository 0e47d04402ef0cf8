"""A burst at cold start in API mode with WHEN_FULL=block, in a child process against the loopback
Cloud Logging server (the in-process backpressure tests are tests/unit/test_backpressure.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.helpers.backpressure import BURST
from tests.servers.cloud_logging import CloudLoggingServer

pytest_plugins = ("tests.servers.fixtures",)


COLD_START = f"""
import json, gyrinx_tracker
gyrinx_tracker.configure(when_full="block")
for index in range({BURST}):
    gyrinx_tracker.track("burst", index=index)
gyrinx_tracker.flush(60)
print(json.dumps(gyrinx_tracker.stats()))
"""


class TestColdStartBurst:
    @pytest.mark.slow
    def test_a_burst_at_cold_start_in_api_mode_loses_nothing_with_block(self, cloud_logging_server: CloudLoggingServer) -> None:
        """While the Cloud Logging output is still being built (about a second), a 50,000 burst waits instead of dropping."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("GYRINX_TRACKER_", "OTEL_", "K_", "GOOGLE_"))}
        env.update(GOOGLE_CLOUD_PROJECT="proj", GYRINX_TRACKER_GCP_METRICS="false", GYRINX_TRACKER_HANDLE_SIGTERM="false",
                   GYRINX_TRACKER_CLOUD_LOGGING_ENDPOINT=cloud_logging_server.endpoint)
        result = subprocess.run([sys.executable, "-c", COLD_START], capture_output=True, text=True, timeout=120, env=env)
        assert result.returncode == 0, result.stderr[-2000:]
        books = json.loads(result.stdout.splitlines()[-1])
        assert (books["emitted"], books["exported"], books["dropped"]) == (BURST, BURST, 0)
        assert len(cloud_logging_server.entries()) == BURST
