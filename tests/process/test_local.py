"""The local default in child interpreters: a script with no logging set-up prints to stderr, and the
original tracker's examples run as a script print every event before exit (the rest of the local
output is tests/unit/test_local.py)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap


class TestUnconfiguredLogging:
    def test_a_script_with_no_logging_config_prints_to_stderr(self) -> None:
        """With no handlers anywhere, the lines go to stderr rather than being swallowed."""
        result = subprocess.run([sys.executable, "-c", "from gyrinx_tracker import track\ntrack('user_login')"],
                                capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr
        event, metric = (json.loads(line) for line in result.stderr.splitlines())
        assert (event["event"], event["n"], event["severity"]) == ("user_login", 1, "INFO")
        assert event["time"].endswith("Z") and "labels" not in event
        assert metric == {"metric": "tracker.user_login", "unit": "{event}", "attributes": {}, "value": 1}
        assert result.stdout == ""


class TestSubprocessScript:
    def test_the_readme_example_runs_as_a_script(self) -> None:
        """The original tracker's examples, run as a short script, print every event before exit."""
        script = textwrap.dedent("""
            import logging, sys
            logging.basicConfig(stream=sys.stdout, level=logging.INFO, format="%(name)s %(message)s")
            from gyrinx_tracker import track
            track("user_login")
            track("api_call", n=5)
            track("response_time", value=123.45)
            track("api_call", endpoint="/api/v1/fighters", method="GET", status=200)
        """)
        result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr
        lines = [line.split(" ", 1) for line in result.stdout.splitlines()]
        assert [name for name, _ in lines] == ["gyrinx.tracker"] * 4 + ["gyrinx.tracker.metrics"] * 5
        assert [json.loads(body)["event"] for _, body in lines[:4]] == [
            "user_login", "api_call", "response_time", "api_call"]
        metrics = {(m["metric"], json.dumps(m["attributes"])): m for m in (json.loads(body) for _, body in lines[4:])}
        assert metrics[("tracker.api_call", "{}")]["value"] == 5
        assert metrics[("tracker.api_call", '{"endpoint": "/api/v1/fighters", "method": "GET", "status": 200}')]["value"] == 1
        assert metrics[("tracker.response_time", "{}")]["value"] == 1
        histogram = metrics[("tracker.response_time.value", "{}")]
        assert (histogram["count"], histogram["sum"], histogram["buckets"]) == (1, 123.45, [[250.0, 1]])
