"""A full queue (WHEN_FULL=block|drop) and flush() under load, in process, with the local output.

Events go through the console output into a counting logging handler (no stderr flood), so the
count seen there is what the local output really wrote. The burst at cold start, in a child
process, is tests/process/test_backpressure.py.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator

import pytest

import gyrinx_tracker
from tests.helpers.backpressure import BURST


class Counting(logging.Handler):
    """Counts the event records the local output writes, by event name."""

    def __init__(self) -> None:
        super().__init__()
        self.counts: dict[str, int] = {}
        self._guard = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        name = str(json.loads(record.getMessage())["event"])
        with self._guard:
            self.counts[name] = self.counts.get(name, 0) + 1


@pytest.fixture
def written() -> Iterator[Counting]:
    handler = Counting()
    events = logging.getLogger("gyrinx.tracker")
    events.addHandler(handler)
    events.setLevel(logging.INFO)
    events.propagate = False
    yield handler
    events.propagate = True
    events.removeHandler(handler)


def burst(count: int = BURST) -> None:
    for index in range(count):
        gyrinx_tracker.track("burst", index=index)


class TestWhenFull:
    def test_block_loses_nothing_in_a_burst_far_larger_than_the_queue(self, written: Counting) -> None:
        """With block, 50,000 events into a queue of 1,000 all arrive and the books are exact."""
        gyrinx_tracker.configure(exporter="console", max_queue=1_000, when_full="block", local_metrics=False,
                                 global_providers="never")
        burst()
        assert gyrinx_tracker.flush(60)
        books = gyrinx_tracker.stats()
        assert (books["emitted"], books["exported"], books["dropped"]) == (BURST, BURST, 0)
        assert written.counts == {"burst": BURST}

    def test_drop_counts_every_event_it_drops(self, written: Counting) -> None:
        """With drop, a burst overflows the queue, and every event is either written or counted as queue_full."""
        gyrinx_tracker.configure(exporter="console", max_queue=1_000, when_full="drop", local_metrics=False,
                                 global_providers="never")
        burst()
        assert gyrinx_tracker.flush(60)
        books = gyrinx_tracker.stats()
        assert books["dropped_by_reason"]["queue_full"] > 0
        assert books["emitted"] == BURST == books["exported"] + books["dropped_by_reason"]["queue_full"]
        assert written.counts == {"burst": books["exported"]}

    def test_block_gives_up_at_once_while_the_exporter_is_stalled(self, written: Counting) -> None:
        """After one wait in vain (the exporter took nothing), later calls drop without waiting, all counted."""
        from tests.unit.test_accounting import CountingExporter

        gate = threading.Event()
        exporter = CountingExporter(outcome=lambda call: "ok")
        original = exporter.export
        exporter.export = lambda batch: (gate.wait(60), original(batch))[1]  # type: ignore[method-assign]
        gyrinx_tracker.configure(exporter="console", log_exporter=exporter, max_queue=100, batch_size=10,
                                 when_full="block", block_timeout=0.2, global_providers="never")
        calls = 2_000  # at 0.2 s each, waiting every time would take 6 minutes
        burst(calls)
        books = gyrinx_tracker.stats()
        assert books["dropped_by_reason"]["queue_full"] >= calls - 200
        gate.set()
        assert gyrinx_tracker.flush(60)
        books = gyrinx_tracker.stats()
        assert books["emitted"] == calls == books["exported"] + books["dropped"]


class TestFlushUnderLoad:
    def test_flush_returns_for_its_own_events_while_another_thread_tracks_flat_out(self, written: Counting) -> None:
        """flush() waits for the events tracked before it, not for a queue that other threads keep filling."""
        gyrinx_tracker.configure(exporter="console", when_full="drop", local_metrics=False, global_providers="never")
        stop = threading.Event()

        def flat_out() -> None:
            while not stop.is_set():
                gyrinx_tracker.track("background")

        thread = threading.Thread(target=flat_out)
        thread.start()
        try:
            for index in range(20):
                gyrinx_tracker.track("mine", index=index)
            flushed = gyrinx_tracker.flush(10)
            mine = written.counts.get("mine", 0)
        finally:
            stop.set()
            thread.join()
        assert flushed
        assert mine == 20
