"""The books balance: every ``track()`` call is exported or counted as dropped, exactly.

Eight threads call ``track()`` a fixed number of times (never "for N seconds") against a small
queue; after a flush, ``stats()`` must account for every call. Drops are made certain without
timing: an exporter held shut by a gate cannot drain the queue, so all but ``max_queue`` plus
one batch of the calls must be rejected. Exporters that return FAILURE or raise, and a Cloud
Logging server that refuses writes, must have their losses counted too.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

import grpc
import pytest

import gyrinx_tracker
from gyrinx_tracker._signals.otel_logs import LogRecordExporter, LogRecordExportResult
from gyrinx_tracker._stats import Snapshot
from tests.servers.cloud_logging import CloudLoggingServer

pytest_plugins = ("tests.servers.fixtures",)

THREADS = 8
CALLS_PER_THREAD = 1_500
CALLS = THREADS * CALLS_PER_THREAD
SMALL_QUEUE = 64
BATCH = 16


class CountingExporter(LogRecordExporter):
    """Accepts batches (or fails them by ``outcome``), counting records by what it answered."""

    def __init__(self, outcome: Callable[[int], str] = lambda call: "ok",
                 gate: threading.Event | None = None) -> None:
        self.outcome = outcome
        self.gate = gate
        self.calls = 0
        self.accepted = 0
        self.refused = 0
        self.lock = threading.Lock()

    def export(self, batch: Sequence[Any]) -> LogRecordExportResult:
        if self.gate is not None:
            self.gate.wait(30)
        with self.lock:
            self.calls += 1
            outcome = self.outcome(self.calls)
            if outcome == "ok":
                self.accepted += len(batch)
                return LogRecordExportResult.SUCCESS
            self.refused += len(batch)
        if outcome == "raise":
            raise RuntimeError("exporter exploded")
        return LogRecordExportResult.FAILURE

    def shutdown(self) -> None:
        return None

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return True


def hammer(threads: int = THREADS, calls_per_thread: int = CALLS_PER_THREAD) -> int:
    """Call ``track()`` from ``threads`` threads, ``calls_per_thread`` each; return the calls made."""
    made = [0] * threads
    start = threading.Barrier(threads)

    def work(slot: int) -> None:
        start.wait()
        for index in range(calls_per_thread):
            gyrinx_tracker.track("api_request", 1, float(index), endpoint="/api/v1/fighters",
                                 method="GET", status=200, user_id=f"{slot}-{index}")
            made[slot] += 1

    workers = [threading.Thread(target=work, args=(slot,)) for slot in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return sum(made)


def configure(exporter: LogRecordExporter, **options: Any) -> None:
    options.setdefault("max_queue", SMALL_QUEUE)
    options.setdefault("batch_size", BATCH)
    gyrinx_tracker.configure(exporter="console", log_exporter=exporter, global_providers="never",
                             handle_sigterm=False, **options)


def then_separate_batches(count: int = 3) -> int:
    """``count`` more calls, each flushed alone: at least ``count`` more export calls, whatever the timing."""
    for index in range(count):
        gyrinx_tracker.track("api_request", 1, float(index), endpoint="/api/v1/lists")
        assert gyrinx_tracker.flush(30)
    return count


def settled() -> Snapshot:
    """The books after a flush: nothing may be left queued or in flight."""
    assert gyrinx_tracker.flush(30)
    stats = gyrinx_tracker.stats()
    assert stats["queued"] == 0
    assert stats["in_flight"] == 0
    return stats


class TestEightThreads:
    def test_every_call_is_exported_or_dropped(self) -> None:
        """With a free-running exporter, emitted = calls = exported + dropped; exported is what it got."""
        exporter = CountingExporter()
        configure(exporter)
        calls = hammer()
        stats = settled()
        assert stats["emitted"] == calls == CALLS
        assert stats["emitted"] == stats["exported"] + stats["dropped"]
        assert stats["exported"] == exporter.accepted
        assert stats["dropped"] == sum(stats["dropped_by_reason"].values())
        assert set(stats["dropped_by_reason"]) <= {"queue_full"}

    def test_a_full_queue_drops_and_counts_the_overflow(self) -> None:
        """While the exporter is held shut the queue overflows; every rejected call is counted as queue_full."""
        gate = threading.Event()
        exporter = CountingExporter(gate=gate)
        configure(exporter)
        calls = hammer()
        gate.set()
        stats = settled()
        assert stats["emitted"] == calls
        assert stats["exported"] == exporter.accepted
        # At most the queue and one batch in the exporter's hands can have survived.
        assert stats["exported"] <= SMALL_QUEUE + BATCH
        assert stats["dropped_by_reason"] == {"queue_full": calls - stats["exported"]}

    def test_unbounded_room_loses_nothing(self) -> None:
        """With a queue larger than the calls, all of them are exported and none dropped."""
        exporter = CountingExporter()
        configure(exporter, max_queue=CALLS + 1)
        calls = hammer()
        stats = settled()
        assert (stats["emitted"], stats["exported"], stats["dropped"]) == (calls, calls, 0)
        assert exporter.accepted == calls


class TestExportFailures:
    @pytest.mark.parametrize("outcome", ["fail", "raise"])
    def test_every_failed_batch_is_counted(self, outcome: str) -> None:
        """An exporter that returns FAILURE or raises on every batch: all calls end up dropped, none exported."""
        exporter = CountingExporter(lambda call: outcome)
        configure(exporter)
        calls = hammer()
        stats = settled()
        assert stats["emitted"] == calls
        assert stats["exported"] == 0
        assert stats["dropped"] == calls
        assert stats["dropped_by_reason"].get("export_failed", 0) == exporter.refused

    @pytest.mark.parametrize("outcome", ["fail", "raise"])
    def test_intermittent_failures_split_the_books_exactly(self, outcome: str) -> None:
        """Every third batch failing: exported equals what the exporter accepted, export_failed what it refused."""
        exporter = CountingExporter(lambda call: outcome if call % 3 == 0 else "ok")
        configure(exporter)
        calls = hammer() + then_separate_batches()
        stats = settled()
        assert stats["emitted"] == calls == stats["exported"] + stats["dropped"]
        assert stats["exported"] == exporter.accepted
        assert stats["dropped_by_reason"].get("export_failed", 0) == exporter.refused
        assert exporter.refused > 0


class TestCloudLoggingApi:
    def test_refused_writes_are_counted_and_the_rest_arrive(
            self, cloud_logging_server: CloudLoggingServer) -> None:
        """Against the loopback server refusing some writes, exported equals the entries the server stored."""
        cloud_logging_server.fail_next(3, grpc.StatusCode.PERMISSION_DENIED)
        gyrinx_tracker.configure(exporter="gcp", gcp_transport="api", project_id="proj",
                                 cloud_logging_endpoint=cloud_logging_server.endpoint,
                                 global_providers="never", handle_sigterm=False,
                                 max_queue=SMALL_QUEUE * 4, batch_size=BATCH * 4)
        calls = hammer(calls_per_thread=250) + then_separate_batches()
        stats = settled()
        assert stats["emitted"] == calls == stats["exported"] + stats["dropped"]
        assert stats["exported"] == len(cloud_logging_server.entries())
        assert cloud_logging_server.failures == 3
        assert stats["dropped_by_reason"].get("export_failed", 0) > 0


class TestAfterShutdown:
    def test_calls_after_shutdown_are_counted_as_closed(self) -> None:
        """track() after shutdown() is not lost silently: it is emitted and dropped as closed."""
        exporter = CountingExporter()
        configure(exporter, shutdown_timeout=0.5)
        calls = hammer(threads=2, calls_per_thread=10)
        assert gyrinx_tracker.shutdown()
        late = hammer(threads=2, calls_per_thread=10)
        stats = gyrinx_tracker.stats()
        assert stats["emitted"] == calls + late
        assert stats["exported"] + stats["dropped"] == calls + late
        assert stats["dropped_by_reason"].get("closed", 0) == late
