"""Exact accounting of every event: emitted = exported + dropped + sampled_out + queued + in flight.

"Nothing is silently lost" is only checkable if the books balance, so every transition of an
event (accepted from the queue, exported, dropped for a reason) is recorded under one lock. The
lock is taken once per batch by the exporter thread, and on the caller's thread only when an event
is dropped, which is already the slow path.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Mapping
from typing import TypedDict

from gyrinx_tracker._diagnostics import suppressed


class Snapshot(TypedDict):
    """Counts since the pipeline started; ``emitted`` counts every ``track()`` call it received.

    ``internal_errors`` and ``warnings_suppressed`` (the tracker's warnings its rate limit held
    back) are the process's, not the pipeline's.
    """

    emitted: int
    exported: int
    dropped: int
    sampled_out: int
    queued: int
    in_flight: int
    dropped_by_reason: dict[str, int]
    folded_metric_labels: int
    folded_metric_series: int
    metric_exports_failed: int
    internal_errors: dict[str, int]
    warnings_suppressed: int


class Stats:
    """The books of one pipeline."""

    def __init__(self) -> None:
        # Re-entrant: a signal handler that tracks may interrupt this thread while it holds the
        # lock (a drop counted on the caller's thread, stats()); a plain Lock would deadlock.
        self.lock = threading.RLock()
        self.taken = 0
        self.in_flight = 0
        self.exported = 0
        self.sampled_out = 0  # left out of the logs by a sample rate: not lost, their metrics count
        self.dropped: Counter[str] = Counter()
        self.folded_labels = 0
        self.folded_series = 0
        self.metric_exports_failed = 0
        self.abandoned = 0  # in flight when a shutdown deadline passed: counted as SHUTDOWN until settled
        self.settled = 0  # events ever moved out of in flight (exported, dropped or sampled out)
        # Called (under the lock) with ``settled`` after each settle: the pipeline releases the
        # byte budget of a batch handed to a sender only once its events are settled.
        self.on_settle: Callable[[int], None] | None = None

    def drop(self, reason: str, count: int = 1) -> None:
        """Count ``count`` events lost for ``reason`` before they reached the queue."""
        with self.lock:
            self.dropped[reason] += count

    def settle(self, exported: int, dropped: Mapping[str, int], sampled_out: int = 0) -> None:
        """Move a finished batch from in flight to exported, dropped and sampled out."""
        with self.lock:
            self.exported += exported
            self.sampled_out += sampled_out
            self.dropped.update(dropped)
            count = exported + sampled_out + sum(dropped.values())
            self.in_flight -= count
            self.settled += count
            if self.in_flight < 0 and self.abandoned:  # a batch given up at a deadline came back
                back = min(-self.in_flight, self.abandoned)
                self.abandoned -= back
                self.dropped[SHUTDOWN] -= back
                if not self.dropped[SHUTDOWN]:
                    del self.dropped[SHUTDOWN]
                self.in_flight += back
            if self.on_settle is not None:
                self.on_settle(self.settled)

    def abandon(self) -> int:
        """At a shutdown deadline: count what is in flight as dropped (``shutdown_timeout``).

        The exporter still holds those events and may yet settle them (the interpreter does not
        wait for it); ``settle`` then moves them from that reason to what really happened, so the
        books balance whether or not the process lives long enough to hear back.
        """
        with self.lock:
            count, self.in_flight = self.in_flight, 0
            if count:  # a Counter keeps a key added with 0, and stats() would show the reason
                self.abandoned += count
                self.dropped[SHUTDOWN] += count
        return count

    def fold(self, labels: int, series: int) -> None:
        """Count metric attributes left out to bound cardinality (the events themselves are kept)."""
        if labels or series:
            with self.lock:
                self.folded_labels += labels
                self.folded_series += series

    def metric_export_failed(self) -> None:
        """Count one metric export that did not reach its destination (the totals go out with the next)."""
        with self.lock:
            self.metric_exports_failed += 1

    def snapshot(self, queued: int, internal_errors: dict[str, int] | None = None) -> Snapshot:
        """A consistent copy of the books, given the queue length read under ``lock``.

        ``internal_errors`` are the guard's counts (process-wide, by where they were caught).
        """
        dropped = dict(self.dropped)
        lost = sum(dropped.values())
        return Snapshot(
            emitted=self.taken + queued + sum(n for r, n in dropped.items() if r in PRE_QUEUE),
            exported=self.exported,
            dropped=lost,
            sampled_out=self.sampled_out,
            queued=queued,
            in_flight=self.in_flight,
            dropped_by_reason=dropped,
            folded_metric_labels=self.folded_labels,
            folded_metric_series=self.folded_series,
            metric_exports_failed=self.metric_exports_failed,
            internal_errors=dict(internal_errors or {}),
            warnings_suppressed=suppressed(),
        )


# Reasons an event never entered the queue; all others are counted after the worker took it.
QUEUE_FULL = "queue_full"
CLOSED = "closed"
TRACK_FAILED = "track_failed"  # an internal error inside track() before the event was queued
# track() re-entered on a thread that is building the pipeline (from a signal handler, a logging
# handler or a __del__): taking the install lock again would deadlock, so the call is dropped.
REENTRANT = "reentrant"
PRE_QUEUE = frozenset({QUEUE_FULL, CLOSED, TRACK_FAILED, REENTRANT})
# Reasons an output gives for events it could not deliver.
EXPORT_FAILED = "export_failed"  # the receiver did not store them (refused, unreachable, an error answer)
# A call that timed out at the client after it was sent: the receiver may have stored its events
# or not. Counted among the dropped (they are not known to be delivered), apart from
# EXPORT_FAILED, so the receiver's own count is between exported and exported + export_unknown.
EXPORT_UNKNOWN = "export_unknown"
TOO_LARGE = "too_large"  # over the destination's entry size limit, even after salvage
INTERNAL_ERROR = "internal_error"
SHUTDOWN = "shutdown_timeout"
# The local output handed the events to a ``gyrinx.tracker`` logger that the application's logging
# configuration made discard them (disabled, not enabled for INFO, or no handler at INFO): not
# exported, because nobody will ever see them (``_outputs/local/discard.py``).
LOGGING_DISCARDED = "logging_discarded"
