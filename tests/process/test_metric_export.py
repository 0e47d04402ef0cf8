"""Metrics at exit: a short script's final export, from a child interpreter, carries every series to
a real OTLP gRPC receiver on loopback (the other exports are tests/integration/test_metric_export.py)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from tests.servers.otlp import OtlpReceiver

pytest_plugins = ("tests.servers.fixtures",)


class TestExit:
    def test_a_short_script_exports_its_totals_at_exit(self, otlp_receiver: OtlpReceiver) -> None:
        """No flush, a long interval: the final export at exit carries every series."""
        script = textwrap.dedent("""
            from gyrinx_tracker import track
            for index in range(300):
                track("script_event", index % 3, value=float(index), shard=index % 2)
        """)
        env = {"GYRINX_TRACKER_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_ENDPOINT": otlp_receiver.endpoint,
               "GYRINX_TRACKER_METRIC_INTERVAL": "3600", "PATH": "/usr/bin:/bin"}
        result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, env=env)
        assert result.returncode == 0, result.stderr
        counters = otlp_receiver.latest("tracker.script_event")
        assert {dict(k)["shard"]: p["value"] for k, p in counters.items()} == {
            0: sum(i % 3 for i in range(0, 300, 2)), 1: sum(i % 3 for i in range(1, 300, 2))}
        histograms = otlp_receiver.latest("tracker.script_event.value")
        assert sum(p["count"] for p in histograms.values()) == 300
