"""The worker's alarm clock, safe to ring from a signal handler.

A SIGTERM handler runs on the main thread between two of its bytecodes, perhaps while that thread
is inside ``threading.Event.set()`` and holds the Event's lock: setting the same Event from the
handler would then wait forever. ``queue.SimpleQueue.put`` is documented as safe to call from a
signal handler (it is implemented in C and takes no lock a Python frame can hold), so the worker
sleeps on one of those instead. ``set``/``is_set``/``wait``/``clear`` keep ``threading.Event``'s
meaning. The hot path reads ``pending``, the flag itself, not ``is_set()``: once the queue holds a
batch every ``track()`` asks, and an attribute read is a fraction of a method call.
"""

from __future__ import annotations

import contextlib
import queue


class Wakeup:
    """An Event-like wake-up for one waiting thread, settable from signal handlers."""

    __slots__ = ("_bell", "pending")

    def __init__(self) -> None:
        self.pending = False  # a wake-up was rung and not yet cleared; written only by the methods below
        self._bell: queue.SimpleQueue[None] = queue.SimpleQueue()

    def is_set(self) -> bool:
        """Whether a wake-up is pending (a cheap read: the hot path asks before ringing)."""
        return self.pending

    def set(self) -> None:
        """Wake the waiter (or make its next ``wait`` return at once)."""
        self.pending = True
        self._bell.put(None)

    def wait(self, timeout: float) -> None:
        """Sleep until ``set`` or ``timeout`` seconds; an earlier ``set`` returns at once."""
        with contextlib.suppress(queue.Empty):
            self._bell.get(timeout=timeout)

    def clear(self) -> None:
        """Forget pending wake-ups; one that arrives meanwhile wakes the next ``wait``.

        The bell is emptied before the flag is lowered: a ``set`` in between leaves a ring in the
        bell (a spurious wake-up at worst), never a raised flag with no ring, which would make the
        callers stop ringing while the worker sleeps out its interval.
        """
        bell = self._bell
        while not bell.empty():
            try:
                bell.get_nowait()
            except queue.Empty:
                break
        self.pending = False
