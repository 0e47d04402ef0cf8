"""The fault suite, Cloud Logging API mode: real child processes against backends the test controls.

Each child (``tests/processes/fault_child.py``) tracks events with a unique ``seq`` label against
the loopback Cloud Logging server (or a refused port, or a TCP black hole) and reports its books
after the tracker's exit hook. Every test asserts that the books balance by reason, that the
server's own count equals ``exported`` with no entry stored twice, and that the process exits
within Cloud Run's 10 s grace (a functional bound, not a benchmark).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import grpc
import pytest

from tests.faults import CLOUD_RUN_GRACE, BlackHole, ChildRun, assert_books, free_port, run_child
from tests.servers.cloud_logging import CloudLoggingServer

pytest_plugins = ("tests.servers.fixtures",)



def _env(endpoint: str, **extra: str) -> dict[str, str]:
    return {"GYRINX_TRACKER_EXPORTER": "gcp", "GYRINX_TRACKER_GCP_TRANSPORT": "api",
            "GOOGLE_CLOUD_PROJECT": "proj", "GYRINX_TRACKER_GCP_METRICS": "false",
            "GYRINX_TRACKER_CLOUD_LOGGING_ENDPOINT": endpoint, "GYRINX_TRACKER_EXPORT_TIMEOUT": "2",
            "GYRINX_TRACKER_SHUTDOWN_TIMEOUT": "3", **extra}


def _stored(server: CloudLoggingServer) -> Counter[int]:
    return Counter(int(e["jsonPayload"]["labels"]["seq"]) for e in server.entries())


def _assert_books(run: ChildRun, events: int, server: CloudLoggingServer | None = None) -> None:
    """The fault suite's common checks (``assert_books``), against what the server stored."""
    assert_books(run, events, _stored(server) if server is not None else Counter())


class TestDown:
    def test_a_refused_connection_drops_and_counts_every_event(self, tmp_path: Path) -> None:
        """Nothing listening: every event is dropped as export_failed, the process exits in time."""
        run = run_child(tmp_path, _env(f"127.0.0.1:{free_port()}"), events=1_000, rounds=2, pause=0.5)
        _assert_books(run, 1_000)
        assert run.stats["dropped_by_reason"] == {"export_failed": 1_000}
        assert run.stderr.count("could not write") == 1  # one rate-limited warning, not one per request


class TestHang:
    def test_a_server_that_never_answers_costs_the_export_timeout_only(
            self, tmp_path: Path, cloud_logging_server: CloudLoggingServer) -> None:
        """Calls accepted and never answered: dropped at the export timeout, nothing stored, exit in time.

        The client cannot tell this server from one that stored the entries and answered late
        (tests/process/test_unknown_outcome.py), so they are booked export_unknown, not export_failed.
        """
        cloud_logging_server.set_delay(60)
        run = run_child(tmp_path, _env(cloud_logging_server.endpoint), events=1_000)
        _assert_books(run, 1_000, cloud_logging_server)
        assert run.stats["dropped_by_reason"] == {"export_unknown": 1_000}
        assert cloud_logging_server.attempts >= 2  # two requests of 512 entries, concurrently

    def test_events_still_queued_or_in_flight_at_exit_are_counted(
            self, tmp_path: Path, cloud_logging_server: CloudLoggingServer) -> None:
        """Exit while every request hangs: what is queued or unanswered at the deadline is counted as dropped."""
        cloud_logging_server.set_delay(60)
        env = _env(cloud_logging_server.endpoint, GYRINX_TRACKER_EXPORT_TIMEOUT="30",
                   GYRINX_TRACKER_SHUTDOWN_TIMEOUT="2")
        run = run_child(tmp_path, env, events=5_000, end="exit")
        _assert_books(run, 5_000, cloud_logging_server)
        assert run.stats["queued"] == run.stats["in_flight"] == 0
        assert run.stats["dropped"] == 5_000


class TestBlackHole:
    def test_a_port_that_never_accepts_costs_the_export_timeout_only(self, tmp_path: Path) -> None:
        """TCP connects into a backlog nobody reads: every event dropped and counted, the process exits in time."""
        with BlackHole() as hole:
            run = run_child(tmp_path, _env(f"127.0.0.1:{hole.port}"), events=1_000)
        _assert_books(run, 1_000)
        assert run.stats["dropped_by_reason"] == {"export_failed": 1_000}


class TestOutage:
    def _outage(self, tmp_path: Path, server: CloudLoggingServer, seconds: float, rounds: int) -> ChildRun:
        server.fail_for(seconds, grpc.StatusCode.UNAVAILABLE)
        run = run_child(tmp_path, _env(server.endpoint), events=rounds * 100, rounds=rounds, pause=1.0,
                        timeout=seconds + rounds + 120)
        _assert_books(run, rounds * 100, server)
        return run

    def test_unavailable_for_a_while_then_recovery(
            self, tmp_path: Path, cloud_logging_server: CloudLoggingServer) -> None:
        """UNAVAILABLE for 6 s then healthy: events past the export timeout are dropped, the rest stored once."""
        run = self._outage(tmp_path, cloud_logging_server, 6, rounds=12)
        stats = run.stats
        assert stats["dropped_by_reason"].get("export_failed", 0) > 0  # the outage outlasted the timeout
        assert stats["exported"] > 0  # and the rounds after it were delivered
        assert cloud_logging_server.failures > 0

    @pytest.mark.slow
    def test_unavailable_for_30_seconds_then_recovery(
            self, tmp_path: Path, cloud_logging_server: CloudLoggingServer) -> None:
        """The issue's 30 s outage: the books stay exact through it and delivery resumes after it."""
        run = self._outage(tmp_path, cloud_logging_server, 30, rounds=36)
        stats = run.stats
        assert stats["dropped_by_reason"].get("export_failed", 0) > 0
        assert stats["exported"] >= 500  # at least the last five rounds, after the outage


class TestPartialErrors:
    def test_rejected_entries_alone_are_dropped_and_nothing_is_stored_twice(
            self, tmp_path: Path, cloud_logging_server: CloudLoggingServer) -> None:
        """Every tenth entry invalid, one in twenty-five refused once as UNAVAILABLE: exact books, no duplicates."""
        cloud_logging_server.reject_entries(lambda e: int(e.json_payload["labels"]["seq"]) % 10 == 3)
        run = run_child(tmp_path, _env(cloud_logging_server.endpoint), events=4_000, rounds=4, pause=0.2)
        _assert_books(run, 4_000, cloud_logging_server)
        assert run.stats["exported"] == 3_600
        assert run.stats["dropped_by_reason"] == {"export_failed": 400}

    def test_retryable_entry_errors_are_resent_alone(
            self, tmp_path: Path, cloud_logging_server: CloudLoggingServer) -> None:
        """Entries refused with UNAVAILABLE on the first calls are resent alone: all stored exactly once."""
        cloud_logging_server.reject_entries(lambda e: int(e.json_payload["labels"]["seq"]) % 25 == 0,
                                            code=grpc.StatusCode.UNAVAILABLE,
                                            entry_code=grpc.StatusCode.UNAVAILABLE, calls=3)
        run = run_child(tmp_path, _env(cloud_logging_server.endpoint), events=2_000)
        _assert_books(run, 2_000, cloud_logging_server)
        assert run.stats["exported"] == 2_000
        assert cloud_logging_server.rejected_entries > 0


class TestSlow:
    def test_a_slow_server_gets_every_event_with_requests_in_parallel(
            self, tmp_path: Path, cloud_logging_server: CloudLoggingServer) -> None:
        """One second per call: all 4,096 events stored once, four requests in the server at a time."""
        cloud_logging_server.set_delay(1.0)
        run = run_child(tmp_path, _env(cloud_logging_server.endpoint, GYRINX_TRACKER_EXPORT_TIMEOUT="5"),
                        events=4_096)
        _assert_books(run, 4_096, cloud_logging_server)
        assert run.stats["exported"] == 4_096
        assert cloud_logging_server.peak_in_server == 4


class TestMemory:
    def test_1_mb_labels_do_not_grow_memory_while_the_api_hangs(
            self, tmp_path: Path, cloud_logging_server: CloudLoggingServer) -> None:
        """300 events with distinct 1 MB labels behind a hung API grow peak RSS by under 100 MB."""
        cloud_logging_server.set_delay(60)
        env = _env(cloud_logging_server.endpoint, GYRINX_TRACKER_EXPORT_TIMEOUT="30",
                   GYRINX_TRACKER_SHUTDOWN_TIMEOUT="2")
        baseline = run_child(tmp_path, env, events=300, end="exit")
        loaded = run_child(tmp_path, env, events=300, end="exit", label_bytes=1 << 20)
        assert loaded.stats["emitted"] == 300
        assert loaded.exit_seconds < CLOUD_RUN_GRACE
        assert loaded.peak_rss_mb - baseline.peak_rss_mb < 100

