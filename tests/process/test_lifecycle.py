"""Exit, SIGTERM and fork, each in a real subprocess: nothing queued is lost, nothing is doubled."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from typing import Any

import pytest

from tests.servers.cloud_logging import CloudLoggingServer
from tests.servers.otlp import OtlpReceiver

pytest_plugins = ("tests.servers.fixtures",)

EVENTS = 200
SCRIPT = f"""
from gyrinx_tracker import track
for index in range({EVENTS}):
    track("script_event", index=index)
"""


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GYRINX_TRACKER_", "OTEL_", "K_"))}
    env.pop("GOOGLE_CLOUD_PROJECT", None)
    return {**env, **extra}


def _json_lines(text: str) -> list[dict[str, Any]]:
    """The event lines (the metric lines that follow them at exit have "metric" instead of "event")."""
    return [line for line in (json.loads(text) for text in text.splitlines() if text.startswith("{")) if "event" in line]


class TestExit:
    def test_a_short_script_loses_nothing_locally(self) -> None:
        """A script that tracks and ends at once prints every event before it exits."""
        for _ in range(5):  # the race this guards against (outputs built during shutdown) is timing-dependent
            result = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                                    timeout=60, env=_env())
            assert result.returncode == 0, result.stderr
            assert [e["labels"]["index"] for e in _json_lines(result.stderr)] == list(range(EVENTS))

    def test_a_short_script_loses_nothing_on_cloud_run_stdout(self) -> None:
        """The stdout transport is flushed at exit too."""
        result = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=60,
                                env=_env(GOOGLE_CLOUD_PROJECT="proj", GYRINX_TRACKER_GCP_TRANSPORT="stdout"))
        assert result.returncode == 0, result.stderr
        assert len(_json_lines(result.stdout)) == EVENTS

    def test_a_short_script_loses_nothing_through_the_cloud_logging_api(
            self, cloud_logging_server: CloudLoggingServer) -> None:
        """Exit waits for the WriteLogEntries call (a real gRPC server on loopback)."""
        result = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=60,
                                env=_env(GOOGLE_CLOUD_PROJECT="proj",
                                         GYRINX_TRACKER_CLOUD_LOGGING_ENDPOINT=cloud_logging_server.endpoint))
        assert result.returncode == 0, result.stderr
        assert len(cloud_logging_server.entries()) == EVENTS

    def test_a_short_script_loses_nothing_over_otlp(self, otlp_receiver: OtlpReceiver) -> None:
        """Exit waits for the OTLP export of logs, and the metrics are exported too."""
        result = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=60,
                                env=_env(GYRINX_TRACKER_EXPORTER="otlp",
                                         OTEL_EXPORTER_OTLP_ENDPOINT=otlp_receiver.endpoint))
        assert result.returncode == 0, result.stderr
        assert len(otlp_receiver.log_records()) == EVENTS
        assert otlp_receiver.wait_for_metric("tracker.script_event", timeout=5)
        points = otlp_receiver.metric_points()["tracker.script_event"]
        last = max(point["time_unix_nano"] for point in points)
        # index is unique per event, so it is folded out of the metric after 50 values; the
        # cumulative series of the last export still add up to every event.
        assert sum(point["value"] for point in points if point["time_unix_nano"] == last) == EVENTS

    def test_events_tracked_from_an_atexit_hook_are_exported(self) -> None:
        """An app's own atexit hook that tracks (registered before ours ran) still gets its event out."""
        script = textwrap.dedent("""
            import atexit
            from gyrinx_tracker import track, flush
            atexit.register(lambda: (track("from_atexit"), flush(5)))
            track("before_exit")
        """)
        result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60,
                                env=_env())
        assert result.returncode == 0, result.stderr
        assert [e["event"] for e in _json_lines(result.stderr)] == ["before_exit", "from_atexit"]


SIGTERM_SCRIPT = """
import os, sys, signal, time
{handler}
from gyrinx_tracker import track, configure
configure(flush_interval=60.0)  # nothing leaves before the signal unless the handler flushes
for index in range(50):
    track("before_sigterm", index=index)
print("READY", flush=True)
time.sleep(30)
print("NOT KILLED", flush=True)
"""


class TestSigterm:
    def _run(self, handler: str = "") -> subprocess.CompletedProcess[str]:
        process = subprocess.Popen([sys.executable, "-c", SIGTERM_SCRIPT.format(handler=handler)],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env())
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "READY"
        started = time.monotonic()
        process.send_signal(signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=30)
        assert time.monotonic() - started < 10, "Cloud Run allows 10 s after SIGTERM"
        return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)

    def test_sigterm_flushes_then_dies_by_the_signal(self) -> None:
        """With Python's default disposition, events are flushed and the exit status is still 'killed by SIGTERM'."""
        result = self._run()
        assert result.returncode == -signal.SIGTERM
        assert len(_json_lines(result.stderr)) == 50
        assert "NOT KILLED" not in result.stdout

    def test_sigterm_flushes_then_calls_the_apps_own_handler(self) -> None:
        """An application handler installed before the tracker still runs, after the flush."""
        handler = textwrap.dedent("""
            def on_term(signum, frame):
                print("APP HANDLER", flush=True)
                sys.exit(3)
            signal.signal(signal.SIGTERM, on_term)
        """)
        result = self._run(handler)
        assert result.returncode == 3
        assert "APP HANDLER" in result.stdout
        assert len(_json_lines(result.stderr)) == 50


FORK_SCRIPT = """
import os, sys
from gyrinx_tracker import track, flush, configure
configure(flush_interval=60.0)
track("in_parent_before_fork")          # still queued at fork time: only the parent may export it
pid = os.fork()
if pid == 0:
    track("in_child", pid=os.getpid())
    flush(5)
    os._exit(0)
os.waitpid(pid, 0)
track("in_parent_after_fork")
"""


class TestFork:
    @pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
    def test_a_forked_worker_keeps_working_and_nothing_is_doubled(self) -> None:
        """gunicorn --preload style: the child exports its own events; the parent's queue is exported once."""
        result = subprocess.run([sys.executable, "-c", FORK_SCRIPT], capture_output=True, text=True,
                                timeout=60, env=_env())
        assert result.returncode == 0, result.stderr
        events = sorted(e["event"] for e in _json_lines(result.stderr))
        assert events == ["in_child", "in_parent_after_fork", "in_parent_before_fork"]

    @pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
    def test_a_forked_worker_exports_over_its_own_grpc_channel(self, otlp_receiver: OtlpReceiver) -> None:
        """With OTLP, the parent's gRPC channel is not used in the child: it builds its own and delivers."""
        script = FORK_SCRIPT.replace('track("in_parent_before_fork")', 'track("in_parent_before_fork"); flush(5)')
        result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60,
                                env=_env(GYRINX_TRACKER_EXPORTER="otlp",
                                         OTEL_EXPORTER_OTLP_ENDPOINT=otlp_receiver.endpoint))
        assert result.returncode == 0, result.stderr
        assert otlp_receiver.wait_for_logs(3, timeout=10)
        assert sorted(r["event_name"] for r in otlp_receiver.log_records()) == [
            "in_child", "in_parent_after_fork", "in_parent_before_fork"]
