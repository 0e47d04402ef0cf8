"""From the call site to the worker: a bounded queue, its states, and its end.

``submit`` runs on the application's thread and does only what must happen there: read the clock
and the current OpenTelemetry context, and append one tuple to a deque (atomic under the GIL, so no
lock). Everything else (cleaning, records, encoding, export) happens on the worker thread
(``worker``), which this class starts, asks to flush and stops. Its states and the one shutdown
deadline are in ``lifecycle``; what a full queue does to the caller is in ``backpressure``.

The end of a pipeline, ``shutdown()``, the exit hook, SIGTERM and fork, is here too: each is a
change of state plus an order to the worker, and whatever the deadline leaves undelivered is
counted as dropped (``shutdown_timeout``) and said in one line, so the books balance after exit.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections import deque
from threading import current_thread
from time import time_ns
from typing import Any

from opentelemetry.context import get_current

from gyrinx_tracker import _guard, _stats
from gyrinx_tracker._catalogue import catalogue as _catalogue
from gyrinx_tracker._config import TrackerConfig
from gyrinx_tracker._core import problems as _problems
from gyrinx_tracker._core.event import Event, Site
from gyrinx_tracker._core.plain import queueable
from gyrinx_tracker._core.sanitize import Sanitizer
from gyrinx_tracker._diagnostics import PREFIX, say_now, warn_limited
from gyrinx_tracker._pipeline import budget as _budget
from gyrinx_tracker._pipeline import process as _process
from gyrinx_tracker._pipeline import unstick as _unstick
from gyrinx_tracker._pipeline.backpressure import WhenFull
from gyrinx_tracker._pipeline.lifecycle import REFUSING, State, lost_line
from gyrinx_tracker._pipeline.worker import Item, OpenOutput, Worker
from gyrinx_tracker._stats import Snapshot, Stats

_RUNNING = State.RUNNING  # a module global: the hot path compares by identity, never hashes
# Each caller's Thread object (the records' thread fields): a thread-local's attribute is cheaper
# than current_thread(), a Python function, and is the same object for the thread's life.
_here = threading.local()


class Pipeline:
    """One configuration's queue and the worker that drains it, from the first event to the end."""

    def __init__(self, config: TrackerConfig, open_output: OpenOutput, wants_site: bool = False) -> None:
        self.config = config
        self.wants_site = wants_site  # track() captures the caller's code and thread only if so
        self._open_output = open_output
        self._state = State.SYNC if config.delivery == "sync" else State.IDLE
        self._max = config.max_queue
        self._strict = config.strict
        self._lenient = not config.strict  # the hot path asks this: one attribute, no negation
        # The queue's length before an event at which that event completes a batch: the worker is woken.
        self._ring_from = config.batch_size - 1
        self._per_thread = threading.local()
        self._starting = False
        self._catalogue = _catalogue.install(config)  # read at start-up: a bad file warns now, once
        self._worker_sanitizer = Sanitizer(config)
        self._fresh_queue()

    def _fresh_queue(self) -> None:
        """An empty queue, its books and its worker: at start, and in a forked child."""
        self.stats = Stats()
        self._queue: deque[Item] = deque()
        self._bytes = _budget.ByteBudget(self.config.max_queue_bytes)
        self._when_full = WhenFull(self.config)  # its stall mark counts these books' takes
        self._worker = Worker(self.config, self.stats, self._queue, self._bytes, self._open_output,
                              self._worker_sanitizer, None if self._strict else self._catalogue)
        self._wake = self._worker.wake  # the hot path rings it without a second attribute look-up

    # -- the application's thread ------------------------------------------------------------

    def submit(self, event: object, n: object, value: object, labels: dict[str, Any],
               site: Site | None = None) -> None:
        """Queue one call; when the queue is full or closed, ``_admits`` waits (``WHEN_FULL=block``,
        bounded by ``BLOCK_TIMEOUT``) or drops and counts.

        Only a call ``queueable`` as given is queued so (see ``_core.plain``): what the queue
        holds is then bounded in bytes whatever the input (see ``budget``). Anything else is
        converted here, on the caller's thread, and queued without the call's own objects: cut to
        the entry's limits (work bounded by them, not by the input), recorded as it was at the
        call (a mutable value may change later), and without running an unknown object's code.
        """
        queue = self._queue
        state = self._state
        size = len(queue)  # before this call's event: one len() serves the limit and the wake-up
        if (state is not _RUNNING or size >= self._max) and not self._admits(state):
            return
        thread = None
        if site is not None:
            try:
                thread = _here.thread
            except AttributeError:  # this thread's first event
                thread = _here.thread = current_thread()
        if self._lenient and queueable(event, n, value, labels):
            queue.append((time_ns(), get_current(), thread, site, event, n, value, labels, None))
        else:
            queue.append((0, None, None, None, None, None, None, None,
                          self._clean_now(event, n, value, labels, time_ns(), thread, site)))
        if size >= self._ring_from and not self._wake.pending:  # this event made a batch (or more)
            self._wake.set()
        if state is not _RUNNING:
            self._not_running(state)

    def _not_running(self, state: State) -> None:
        """After the event is queued; both paths are guarded, so submit() never fails after queueing."""
        if state is State.IDLE:
            self._start()
        elif state is State.SYNC:
            self._worker.drain_inline(flush_output=False)
        elif state is State.INLINE:
            self._worker.drain_inline()

    def _admits(self, state: State) -> bool:
        """The slow path's verdict: False (and the drop counted) when closed or the queue is full."""
        if state in REFUSING:
            reason = _stats.CLOSED
        elif len(self._queue) >= self._max and not self._room_made(state):
            reason = _stats.QUEUE_FULL
        else:
            return True
        self.stats.drop(reason)
        warn_limited(f"dropped:{reason}", "dropped an event (%s); see stats()", reason)
        return False

    def _room_made(self, state: State) -> bool:
        """The full-queue policy (see backpressure); never waits on the worker from the worker."""
        if state is not _RUNNING or current_thread() is self._worker.thread:
            return False
        return self._when_full.room_made(self._queue, self._max, self._wake, self.stats)

    def _clean_now(self, event: object, n: object, value: object, labels: dict[str, Any], time: int,
                   thread: threading.Thread | None, site: Site | None) -> Event:
        """The whole ``Event``, made on the caller's thread: a call not queueable as given, or any
        call in strict mode (where a repair, or a catalogue violation, raises here)."""
        sanitizer: Sanitizer | None = getattr(self._per_thread, "sanitizer", None)
        if sanitizer is None:  # one per calling thread, so its caches survive between calls
            sanitizer = self._per_thread.sanitizer = Sanitizer(self.config)
        cleaned, size = sanitizer.measured_event(event, n, value, labels, time, get_current(), thread, site)
        problems = sanitizer.take_problems()
        if self._strict:
            catalogue = self._catalogue
            _problems.enforce(cleaned.name, problems + (catalogue.review(cleaned) if catalogue else []))
        else:
            _problems.warn(cleaned.name, problems)
        return _budget.hold(self._bytes, cleaned, size)

    @_guard.guarded("start worker", None)
    def _start(self) -> None:
        """IDLE to RUNNING, once. The worker's lock is re-entrant, so a signal handler that tracks
        while this thread starts the worker gets in: ``_starting`` sends it back (its event is
        queued, and the worker being started drains it), rather than start a second worker."""
        with self._worker.lock:
            if self._state is not State.IDLE or self._starting:
                return
            self._starting = True
            try:
                self._start_worker()
            finally:
                self._starting = False

    def _start_worker(self) -> None:
        if self._worker.start():
            self._state = State.RUNNING
            _process.hook_multiprocessing_exit()  # a fork child's exit runs no atexit hook
        else:  # the interpreter is exiting: whoever tracks exports
            self._state = State.INLINE
            self._worker.drain_inline()

    # -- control, from any thread ------------------------------------------------------------

    def flush(self, timeout: float, metrics: bool = True) -> bool:
        """Wait until everything queued before this call is settled; False on timeout.

        The worker's next drain takes what is queued when it starts (all of this call's events,
        at least) and no more, then flushes the output and releases the waiters: events tracked
        meanwhile by other threads do not hold this call up. ``metrics=False`` (request-scoped
        delivery) leaves the metric side to its own interval.
        """
        worker = self._worker
        if current_thread() is worker.thread:
            return False
        if self._state is State.IDLE:
            if not self._queue:
                return True
            self._start()
        if self._state is State.INLINE or self._state is State.SYNC:
            worker.drain_inline(metrics=metrics)
            return not self._queue
        return worker.ask_flush(timeout, metrics)

    def drain_here(self, timeout: float) -> bool:
        """Export what is queued on the calling thread (request-scoped delivery), log side only:
        ``Worker.drain_here`` while the worker runs and has built its output, else ``flush``."""
        worker = self._worker
        if worker.output is None or self._state is not _RUNNING or current_thread() is worker.thread:
            return self.flush(timeout, metrics=False)
        return worker.drain_here(timeout)

    def snapshot(self) -> Snapshot:
        """The books of this pipeline."""
        with self.stats.lock:
            return self.stats.snapshot(len(self._queue), _guard.counts())

    # -- the end -----------------------------------------------------------------------------

    def shutdown(self, timeout: float) -> bool:
        """Refuse new events, flush within ``timeout``, then stop the worker and close the output."""
        if self._state is State.CLOSED:
            return True
        self._state = State.CLOSING
        self._worker.close_by = time.monotonic() + timeout  # closing the output gets what is left, no more
        flushed, stopped = self._flush_and_stop(timeout, State.CLOSED)
        self._give_up("shutdown")
        if stopped and self._worker.output is not None:  # a worker that stopped under CLOSED closed it
            self._worker.close_output()
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
            self._worker.close_when_stopped()
            self._give_up("exit")
            _unstick.free_stuck_streams(self._worker.thread)  # what runs after us needs its locks
            return False
        self._state = State.INLINE
        if self._queue:
            self._worker.drain_inline()
        return flushed

    def flush_from_signal(self, timeout: float) -> bool:
        """``flush`` for a signal handler: takes no lock the interrupted thread could hold.

        Only a running worker can be asked (``Worker.ask_flush`` takes no lock); in any other
        state the exit hook does the work.
        """
        if self._state is not State.RUNNING:
            return not self._queue
        return self._worker.ask_flush(timeout, True)

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
            os.write(2, (PREFIX + lost_line(lost, detail, "SIGTERM") + "\n").encode())

    def _flush_and_stop(self, timeout: float, stop_as: State) -> tuple[bool, bool]:
        """Flush, then stop the worker, all within ``timeout``: (flushed, worker stopped)."""
        deadline = time.monotonic() + timeout
        flushed = self.flush(timeout)
        self._state = stop_as
        self._worker.stop(close_output=stop_as is State.CLOSED)
        thread = self._worker.thread
        if thread is None or thread is threading.current_thread():
            return flushed, True
        thread.join(max(0.0, deadline - time.monotonic()))
        return flushed, not thread.is_alive()

    def _give_up(self, when: str) -> int:
        """Count what is still queued or in flight as dropped (``shutdown_timeout``), say so once."""
        rest = self._worker.take(len(self._queue))
        self._bytes.release(sum(cleaned.held for *_, cleaned in rest if cleaned is not None))
        if rest:
            self.stats.settle(0, {_stats.SHUTDOWN: len(rest)})
        in_flight = self.stats.abandon()
        lost = len(rest) + in_flight
        if lost:
            # Not through logging: the stuck exporter may hold the handler's lock (see say_now).
            say_now(f"dropped:{_stats.SHUTDOWN}:{when}", lost_line(lost, f"{len(rest)} queued, {in_flight} in flight", when))
        return lost

    def reset_after_fork(self) -> None:
        """In a forked child: drop the parent's queue (the parent exports it), its worker and its books."""
        self._fresh_queue()
        if self._state in (State.RUNNING, State.EXITING):
            self._state = State.IDLE
        elif self._state is State.CLOSING:
            self._state = State.CLOSED
