"""The queue's byte budget: memory held by events waiting for export is bounded in bytes, not only
in events.

With the exporter hung, 2,000 events carrying a 1 MB string each held 2 GB. Events now reach the
queue in one of two forms (see ``Pipeline.submit``): as given, only when they are small (few
labels, short strings, numbers in range: at most ``QUEUED_FOOTPRINT`` bytes each), or converted on
the caller, cut to the entry's limits. A converted event larger than ``QUEUED_FOOTPRINT`` is
charged to this budget until its batch is exported; when the budget is spent, its labels are
dropped (the event, its count and value are kept; ``_dropped_labels`` says how many) with a
warning. Memory held by the queue is then at most ``max_queue * QUEUED_FOOTPRINT + max_bytes``
plus one batch being exported.

The budget takes a lock, but only for the large converted events, which already cost far more.
"""

from __future__ import annotations

import threading
from dataclasses import replace

from gyrinx_tracker._core.event import DROPPED_LABELS, Event
from gyrinx_tracker._diagnostics import warn_limited

# Events queued as given hold at most QUEUED_LABELS labels and QUEUED_CHARS characters of label
# keys, string values and event name (``_core.plain.queueable``). Their footprint is then at most
# QUEUED_FOOTPRINT bytes: the dict of 16 entries, 16 str objects holding 512 characters at up to 4
# bytes each, the queue's tuple (tests/process/test_memory_bound.py measures it).
QUEUED_FOOTPRINT = 5_000
# Per label and per event, what Python's objects add to the JSON size of a converted event.
_PER_LABEL = 128
_PER_EVENT = 256


def footprint(json_size: int, labels: int) -> int:
    """Bytes a converted event's labels hold, estimated from their JSON size: twice it (a short
    string or a small container takes more memory than its JSON text), plus the dict entries."""
    return 2 * json_size + _PER_LABEL * labels + _PER_EVENT


class ByteBudget:
    """Bytes charged by converted events between the caller's thread and the end of their export."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._used = 0
        self._lock = threading.Lock()

    def charge(self, size: int) -> bool:
        """Reserve ``size`` bytes; False (nothing reserved) when that would exceed the limit."""
        with self._lock:
            if self._used + size > self.limit:
                return False
            self._used += size
            return True

    def release(self, size: int) -> None:
        """Give back what an exported (or dropped) batch had reserved."""
        if size:
            with self._lock:
                self._used -= size

    @property
    def used(self) -> int:
        """Bytes reserved now."""
        return self._used


def hold(budget: ByteBudget, cleaned: Event, labels_size: int | None) -> Event:
    """The event as it may wait in the queue: as it is when small, charged to ``budget`` (``held``)
    when large, or without its labels when the budget is spent.

    ``labels_size`` is the JSON size the sanitizer measured, or None from its plain path (scalars
    and short strings, not measured: then it is counted here, cheaply).
    """
    labels = cleaned.labels
    if labels_size is None:
        labels_size = sum(len(key) + (len(item) if type(item) is str else 8) for key, item in labels.items())
    held = footprint(labels_size, len(labels))
    if held <= QUEUED_FOOTPRINT:
        return cleaned
    if budget.charge(held):
        return replace(cleaned, held=held)
    dropped = {DROPPED_LABELS: len(labels) + int(labels.get(DROPPED_LABELS, 0) or 0)}
    warn_limited("dropped:labels_over_queue_bytes", "the queue already holds %d MB of large "
                 "events (the exporter is slow or down); the labels of event %r were dropped and counted "
                 "in _dropped_labels; its count and value were kept", budget.limit // 1_000_000, cleaned.name)
    return replace(cleaned, labels=dropped)
