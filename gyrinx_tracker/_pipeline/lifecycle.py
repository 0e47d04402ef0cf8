"""A pipeline's states and its end: ``shutdown()``, the exit hook, SIGTERM and fork, within one deadline.

The pipeline's lifecycle is one explicit ``State`` (sentry-sdk's worker keeps as little):

    IDLE --first event--> RUNNING --shutdown()--> CLOSING --> CLOSED
                             |
                             +--interpreter exit--> EXITING --> INLINE (or CLOSED past the deadline)
    SYNC (delivery="sync": no worker; each event is written before track() returns)

CLOSING and CLOSED refuse new events (counted as dropped, reason ``closed``). EXITING and INLINE
keep the output open: ``atexit`` runs hooks last-registered first, so an application's own exit
hooks often run after ours, and the events they track are then exported synchronously by whoever
tracks them.

One deadline (Cloud Run kills the process 10 s after SIGTERM): ``DEADLINE`` starts at the SIGTERM
or, without one, when the exit hook runs, and lasts ``shutdown_timeout``. The signal handler
flushes for at most ``sigterm_flush_timeout`` of it before handing the signal on to the
application's handler (or for all of it when the signal then kills the process), and the exit hook
uses what is left. Whatever is still queued or in flight when it passes is counted as dropped
(``shutdown_timeout``) and reported in one line, so the books balance after exit.
"""

from __future__ import annotations

import contextlib
import enum
import os
import threading
import time
from collections import deque
from typing import TYPE_CHECKING, Any

from gyrinx_tracker import _stats
from gyrinx_tracker._config import TrackerConfig
from gyrinx_tracker._diagnostics import warn_limited
from gyrinx_tracker._pipeline import budget as _budget
from gyrinx_tracker._pipeline.backpressure import WhenFull
from gyrinx_tracker._pipeline.port import Output
from gyrinx_tracker._pipeline.wakeup import Wakeup
from gyrinx_tracker._stats import Stats


class State(enum.Enum):
    """Where a pipeline is in its life; see the module docstring for the transitions."""

    IDLE = "idle"
    RUNNING = "running"
    CLOSING = "closing"
    CLOSED = "closed"
    EXITING = "exiting"
    INLINE = "inline"
    SYNC = "sync"


REFUSING = frozenset({State.CLOSING, State.CLOSED})


class Deadline:
    """The process's one shutdown deadline, started by the first of SIGTERM and exit.

    Plain attribute reads and writes only: the signal handler starts it, and must take no lock.
    """

    def __init__(self) -> None:
        self._at: float | None = None

    def start(self, seconds: float) -> None:
        """Start the deadline ``seconds`` from now, unless it is already running."""
        if self._at is None:
            self._at = time.monotonic() + seconds

    def remaining(self, seconds: float) -> float:
        """Seconds left (starting the deadline ``seconds`` from now if nothing started it)."""
        self.start(seconds)
        at = self._at
        return 0.0 if at is None else max(0.0, at - time.monotonic())

    def reset(self) -> None:
        """Forget it (a forked child has its own life, and its own deadline)."""
        self._at = None


DEADLINE = Deadline()
WaiterQueue = deque[tuple[threading.Event, bool]]  # (done, whether to flush the metric side too)


class Ending:
    """The pipeline's end of life, as a mixin of ``Pipeline`` (which owns these attributes)."""

    config: TrackerConfig
    stats: Stats
    _state: State
    _queue: deque[Any]
    _wake: Wakeup
    _waiters: WaiterQueue
    _thread: threading.Thread | None
    _lock: threading.RLock
    _drain_lock: threading.Lock
    _output: Output | None
    _when_full: WhenFull
    _close_by: float | None
    _bytes: _budget.ByteBudget

    if TYPE_CHECKING:
        def flush(self, timeout: float, metrics: bool = True) -> bool: ...
        def _drain_inline(self, flush_output: bool = True, metrics: bool = True) -> None: ...
        def _close_output(self) -> None: ...
        def _take(self, limit: int) -> list[Any]: ...

    def shutdown(self, timeout: float) -> bool:
        """Refuse new events, flush within ``timeout``, then stop the worker and close the output."""
        if self._state is State.CLOSED:
            return True
        self._state = State.CLOSING
        self._close_by = time.monotonic() + timeout  # closing the output gets what is left, no more
        flushed, stopped = self._flush_and_stop(timeout, State.CLOSED)
        self._give_up("shutdown")
        if stopped and self._output is not None:  # a worker that stopped under CLOSED closed it
            self._close_output()
        return flushed

    def finish_at_exit(self, timeout: float) -> bool:
        """Flush and stop the worker within ``timeout``, but keep the output: events tracked by
        later exit hooks are then exported synchronously by whoever tracks them. Past the
        deadline, what is left is counted as dropped and later events are refused."""
        if self._state in REFUSING:
            return True
        flushed, stopped = self._flush_and_stop(timeout, State.EXITING)
        if not stopped:
            self._state = State.CLOSED  # a late event must not wait for a hung exporter: refused, counted
            self._give_up("exit")
            return False
        self._state = State.INLINE
        if self._queue:
            self._drain_inline()
        return flushed

    def flush_from_signal(self, timeout: float) -> bool:
        """``flush`` for a signal handler: takes no lock the interrupted thread could hold.

        The waiter is a fresh Event (nobody else knows its lock), appended to a deque (atomic),
        and the worker is rung through ``Wakeup`` (see there). Only a running worker can be asked;
        in any other state the exit hook does the work.
        """
        thread = self._thread
        if self._state is not State.RUNNING or thread is None or not thread.is_alive():
            return not self._queue
        done = threading.Event()
        self._waiters.append((done, True))
        self._wake.set()
        return done.wait(timeout)

    def say_on_the_way_out(self) -> None:
        """From a signal handler about to let the signal kill the process: one line on stderr,
        with the books, if anything is still queued or in flight (no exit hook will run).

        No lock: the books are read as they are (a count may be one batch stale), and written
        with ``os.write``, not logging, whose handler lock the interrupted thread may hold.
        """
        books = self.stats.snapshot(len(self._queue))
        lost = books["queued"] + books["in_flight"]
        if not lost:
            return
        detail = (f"queued or in flight; of {books['emitted']} tracked, {books['exported']} exported, "
                  f"{books['dropped']} dropped before")
        with contextlib.suppress(OSError):
            os.write(2, (lost_line(lost, detail, "SIGTERM") + "\n").encode())

    def _flush_and_stop(self, timeout: float, stop_as: State) -> tuple[bool, bool]:
        """Flush, then stop the worker, all within ``timeout``: (flushed, worker stopped)."""
        deadline = time.monotonic() + timeout
        flushed = self.flush(timeout)
        self._state = stop_as
        self._wake.set()
        thread = self._thread
        if thread is None or thread is threading.current_thread():
            return flushed, True
        thread.join(max(0.0, deadline - time.monotonic()))
        return flushed, not thread.is_alive()

    def _give_up(self, when: str) -> int:
        """Count what is still queued or in flight as dropped (``shutdown_timeout``), say so once."""
        rest = self._take(len(self._queue))
        self._bytes.release(sum(cleaned.held for *_, cleaned in rest if cleaned is not None))
        if rest:
            self.stats.settle(0, {_stats.SHUTDOWN: len(rest)})
        in_flight = self.stats.abandon()
        lost = len(rest) + in_flight
        if lost:
            warn_limited(f"dropped:{_stats.SHUTDOWN}:{when}", lost_line(lost, f"{len(rest)} queued, {in_flight} in flight", when))
        return lost

    def reset_after_fork(self) -> None:
        """In a forked child: drop the parent's queue (the parent exports it) and its thread."""
        self._queue = deque()
        self._bytes = _budget.ByteBudget(self.config.max_queue_bytes)
        self._wake = Wakeup()
        self._lock = threading.RLock()
        self._waiters = deque()
        self._drain_lock = threading.Lock()
        self._thread = None
        self._output = None
        self.stats = Stats()
        self._when_full = WhenFull(self.config)  # the parent's stall mark counted the parent's books
        if self._state in (State.RUNNING, State.EXITING):
            self._state = State.IDLE
        elif self._state is State.CLOSING:
            self._state = State.CLOSED


def lost_line(lost: int, detail: str, when: str) -> str:
    """The one line said on the way out when events could not be exported in time."""
    return (f"gyrinx_tracker dropped {lost} events not exported by the {when} deadline "
            f"({detail}; counted in stats() as {_stats.SHUTDOWN})")
