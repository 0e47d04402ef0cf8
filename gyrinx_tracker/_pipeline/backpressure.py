"""What ``track()`` does when the queue is full: wait a bounded time for room, or drop at once.

A batch job that tracks one event per row can produce them faster than any exporter takes them
(50,000 in 0.1 s), and at a cold start the exporter thread spends about a second building its
outputs; dropping there loses a third of a burst. A web request must never hang on telemetry.
So, with ``when_full="block"`` (the default), a caller that finds the queue full waits up to
``block_timeout`` for the exporter to make room, then drops and counts. One wait in vain marks the
exporter *stalled* (no event taken since): later callers drop at once, without waiting, until the
exporter takes an event again. During an outage a web app therefore pays one ``block_timeout``
per stall, not one per call. Before the exporter's first take (its outputs are still being built,
about a second in API mode) no wait counts as a stall: a cold-start burst keeps waiting.
``when_full="drop"`` never waits.

All of this runs only on the slow path (the queue is full); ``track()`` with room costs nothing more.
"""

from __future__ import annotations

import time
from collections.abc import Sized

from gyrinx_tracker._config import TrackerConfig
from gyrinx_tracker._pipeline.wakeup import Wakeup
from gyrinx_tracker._stats import Stats

_FIRST_NAP = 0.0005
_LONGEST_NAP = 0.01


class WhenFull:
    """One pipeline's policy for a full queue."""

    def __init__(self, config: TrackerConfig) -> None:
        self.blocks = config.when_full == "block"
        self.timeout = config.block_timeout
        self._stalled_at = -1  # stats.taken when a caller last waited in vain

    def room_made(self, queue: Sized, limit: int, wake: Wakeup, stats: Stats) -> bool:
        """Whether the caller may queue after all: True once there is room, False to drop.

        Polls the queue's length with short sleeps rather than waiting on a lock: the exporter
        thread then owes the callers nothing (no notify per batch), and nothing here can be held
        by a thread that a signal interrupted.
        """
        if not self.blocks or stats.taken == self._stalled_at:
            return False
        wake.set()  # the exporter may be sleeping out its interval with a full queue
        deadline = time.monotonic() + self.timeout
        nap = _FIRST_NAP
        while len(queue) >= limit:
            if time.monotonic() >= deadline:
                if stats.taken:  # before the first take the outputs are still being built: not a stall
                    self._stalled_at = stats.taken
                return False
            time.sleep(nap)
            nap = min(nap * 2, _LONGEST_NAP)
        return True
