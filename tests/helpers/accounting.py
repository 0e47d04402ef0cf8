"""The accounting tests' load and books (tests/unit/test_accounting.py, and its Cloud Logging case in
tests/integration/test_accounting.py): threads calling ``track()`` a fixed number of times."""

from __future__ import annotations

import threading

import gyrinx_tracker
from gyrinx_tracker._stats import Snapshot

THREADS = 8
CALLS_PER_THREAD = 1_500
CALLS = THREADS * CALLS_PER_THREAD
SMALL_QUEUE = 64
BATCH = 16


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
