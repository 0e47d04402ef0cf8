"""The fault suite, OTLP mode and memory: real child processes against backends the test controls.

The child (``tests/processes/fault_child.py``) exports to the real loopback ``OtlpReceiver`` (or a
refused port, or a TCP black hole) and reports its books after the tracker's exit hook. Every test
asserts balanced books by reason, the receiver's own count equal to ``exported`` with no record
twice, and an exit within Cloud Run's 10 s grace (a functional bound, not a benchmark).
"""

from __future__ import annotations

import threading
from collections import Counter
from pathlib import Path

from tests.faults import CLOUD_RUN_GRACE, BlackHole, ChildRun, assert_books, free_port, run_child
from tests.servers.otlp import OtlpReceiver

pytest_plugins = ("tests.servers.fixtures",)

MB = 1 << 20


def _env(endpoint: str, **extra: str) -> dict[str, str]:
    return {"GYRINX_TRACKER_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint,
            "GYRINX_TRACKER_EXPORT_TIMEOUT": "3", "GYRINX_TRACKER_SHUTDOWN_TIMEOUT": "3",
            "GYRINX_TRACKER_METRIC_INTERVAL": "1", **extra}


def _received(receiver: OtlpReceiver) -> Counter[int]:
    return Counter(int(record["body"]["labels"]["seq"]) for record in receiver.log_records())


def _assert_books(run: ChildRun, events: int, receiver: OtlpReceiver | None = None) -> None:
    """The fault suite's common checks (``assert_books``), against what the receiver stored."""
    assert_books(run, events, _received(receiver) if receiver is not None else Counter())


class TestExporterLogLines:
    def test_the_exporters_retry_and_failure_lines_are_rate_limited(self, tmp_path: Path) -> None:
        """Collector down for several exports of logs and metrics: each of the exporter's messages is logged once."""
        run = run_child(tmp_path, _env(f"http://127.0.0.1:{free_port()}"), events=40, rounds=4, pause=2)
        _assert_books(run, 40)
        assert run.stats["dropped_by_reason"] == {"export_failed": 40}
        assert run.stats["metric_exports_failed"] >= 2  # several exports failed, and retried, meanwhile
        assert run.stderr.count("Transient error") == 1
        assert run.stderr.count("Failed to export") == 1


class TestDown:
    def test_a_refused_connection_drops_and_counts_every_event(self, tmp_path: Path) -> None:
        """Nothing listening: every event dropped as export_failed, the process exits in time."""
        run = run_child(tmp_path, _env(f"http://127.0.0.1:{free_port()}"), events=1_000, rounds=2, pause=0.5)
        _assert_books(run, 1_000)
        assert run.stats["dropped_by_reason"] == {"export_failed": 1_000}


class TestBlackHole:
    def test_a_port_that_never_accepts_costs_the_export_timeout_only(self, tmp_path: Path) -> None:
        """TCP connects into a backlog nobody reads: every event dropped and counted, the process exits in time."""
        with BlackHole() as hole:
            run = run_child(tmp_path, _env(f"http://127.0.0.1:{hole.port}"), events=1_000)
        _assert_books(run, 1_000)
        assert run.stats["dropped_by_reason"] == {"export_failed": 1_000}

    def test_events_still_in_flight_at_exit_are_counted(self, tmp_path: Path) -> None:
        """Exit while the export hangs on a black hole: nothing is left queued or in flight, all counted as dropped."""
        with BlackHole() as hole:
            env = _env(f"http://127.0.0.1:{hole.port}", GYRINX_TRACKER_EXPORT_TIMEOUT="30",
                       GYRINX_TRACKER_SHUTDOWN_TIMEOUT="2")
            run = run_child(tmp_path, env, events=2_000, end="exit")
        _assert_books(run, 2_000)
        assert run.stats["queued"] == run.stats["in_flight"] == 0
        assert run.stats["dropped"] == 2_000


class TestRestart:
    def test_a_receiver_restarted_mid_run_gets_the_rest_once(
            self, tmp_path: Path, otlp_receiver: OtlpReceiver) -> None:
        """The receiver stops after the first round and comes back on its port: exact books, no record twice."""
        runs: list[ChildRun] = []
        child = threading.Thread(target=lambda: runs.append(run_child(
            tmp_path, _env(otlp_receiver.endpoint, GYRINX_TRACKER_EXPORT_TIMEOUT="5"),
            events=1_000, rounds=10, pause=0.7)))
        child.start()
        try:
            assert otlp_receiver.wait_for_logs(100, timeout=60)
            otlp_receiver.stop()
            threading.Event().wait(2.5)  # down for a few rounds
            otlp_receiver.start()
        finally:
            child.join(180)
        (run,) = runs
        _assert_books(run, 1_000, otlp_receiver)
        received = _received(otlp_receiver)
        assert max(received) == 999  # the rounds after the restart arrived
        assert run.stats["exported"] + run.stats["dropped"] == 1_000


class TestMemory:
    def _peak_mb(self, tmp_path: Path, endpoint: str, label_bytes: int) -> ChildRun:
        env = _env(endpoint, GYRINX_TRACKER_EXPORT_TIMEOUT="30", GYRINX_TRACKER_SHUTDOWN_TIMEOUT="2")
        return run_child(tmp_path, env, events=300, end="exit", label_bytes=label_bytes)

    def test_1_mb_labels_do_not_grow_memory_while_the_backend_hangs(self, tmp_path: Path) -> None:
        """300 events with distinct 1 MB labels queued behind a black hole grow peak RSS by under 100 MB."""
        with BlackHole() as hole:
            baseline = self._peak_mb(tmp_path, f"http://127.0.0.1:{hole.port}", 0)
            loaded = self._peak_mb(tmp_path, f"http://127.0.0.1:{hole.port}", MB)
        assert loaded.stats["emitted"] == 300
        assert loaded.exit_seconds < CLOUD_RUN_GRACE
        assert loaded.peak_rss_mb - baseline.peak_rss_mb < 100
