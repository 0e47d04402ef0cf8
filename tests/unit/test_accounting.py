"""The books balance: every ``track()`` call is exported or counted as dropped, exactly.

Eight threads call ``track()`` a fixed number of times (never "for N seconds") against a small
queue; after a flush, ``stats()`` must account for every call. Drops are made certain without
timing: an exporter held shut by a gate cannot drain the queue, so all but ``max_queue`` plus
one batch of the calls must be rejected. Exporters that return FAILURE or raise, and a Cloud
Logging server that refuses writes (tests/integration/test_accounting.py), must have their
losses counted too.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

import pytest

import gyrinx_tracker
from gyrinx_tracker._signals.otel_logs import LogRecordExporter, LogRecordExportResult
from tests.helpers.accounting import BATCH, CALLS, SMALL_QUEUE, hammer, settled, then_separate_batches


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


def configure(exporter: LogRecordExporter, **options: Any) -> None:
    options.setdefault("max_queue", SMALL_QUEUE)
    options.setdefault("batch_size", BATCH)
    gyrinx_tracker.configure(exporter="console", log_exporter=exporter, global_providers="never",
                             handle_sigterm=False, **options)


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
