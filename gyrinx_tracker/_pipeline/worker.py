"""The one thread that drains the queue, and every use of the output.

It wakes when a batch is ready, a flush is asked for or the flush interval passes, takes what is
queued at that moment (not what other threads add meanwhile, so a drain and the flush waiting on
it always end), cleans each item that was queued as given, and hands the batch to the ``Output``
it was given. It opens that output lazily, on its first run, so neither ``import`` nor the first
``track()`` waits for Google's libraries or the metadata server.

Whoever uses the output holds the drain lock: this thread's drains and metric ticks, and a
request's thread draining its own events (``drain_here``), so one batch is exported at a time.
The pipeline decides when the worker starts and stops (``_pipeline.pipeline``); this module does
what it is told and books the outcome of every batch.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from opentelemetry.context import Context

from gyrinx_tracker import _guard, _stats
from gyrinx_tracker._catalogue.catalogue import Catalogue
from gyrinx_tracker._config import TrackerConfig
from gyrinx_tracker._core import problems as _problems
from gyrinx_tracker._core.event import Event, Site
from gyrinx_tracker._core.sanitize import Sanitizer
from gyrinx_tracker._diagnostics import warn_limited
from gyrinx_tracker._pipeline import forksafe as _forksafe
from gyrinx_tracker._pipeline.budget import ByteBudget
from gyrinx_tracker._pipeline.port import Delivery, NullOutput, Output
from gyrinx_tracker._pipeline.quiet import block_app_signals
from gyrinx_tracker._pipeline.wakeup import Wakeup
from gyrinx_tracker._stats import Stats

# (time_ns, context, calling thread, call site, event, n, value, labels, cleaned): a tuple is the
# cheapest thing to build on the caller's thread; the worker unpacks it by name. The thread object,
# not its id: a short-lived thread may have ended, and its name gone, by the time of the export.
# ``cleaned`` is the whole Event when the caller's thread already made one (then the fields before
# it are unused); otherwise the call is queued as given and cleaned here.
Item = tuple[int, Context | None, "threading.Thread | None", "Site | None", Any, Any, Any, Any, "Event | None"]
OpenOutput = Callable[[TrackerConfig, Stats], Output]
CLOSE_FLOOR = 0.1  # seconds an output gets to close its connections even past shutdown()'s deadline


class Worker:
    """The worker thread of one pipeline, and the output it alone opens, uses and closes."""

    def __init__(self, config: TrackerConfig, stats: Stats, queue: deque[Item], budget: ByteBudget,
                 open_output: OpenOutput, sanitizer: Sanitizer, catalogue: Catalogue | None) -> None:
        self._config = config
        self._stats = stats
        self._queue = queue
        self._budget = budget
        self._open_output = open_output
        self._sanitizer = sanitizer
        self._catalogue = catalogue  # None when the caller's thread reviews events (strict mode)
        self.wake = Wakeup()  # settable from a signal handler (see wakeup)
        self.thread: threading.Thread | None = None
        self.output: Output | None = None
        self.close_by: float | None = None  # shutdown()'s deadline, which closing the output shares
        self.lock = threading.RLock()  # starting the thread, and draining on the caller's thread
        # flush() calls waiting for the next drain, each with whether it wants the metric side
        # flushed too. A deque, appended and popped without a lock (each is atomic), so a signal
        # handler can wait as well.
        self._waiters: deque[tuple[threading.Event, bool]] = deque()
        self._drain_lock = threading.Lock()  # one user of the output at a time
        # Byte-budget charges of batches handed to senders: (settled count by which the batch is
        # surely settled, bytes), released in stats' settle hook; under the stats lock.
        self._held_in_flight: deque[tuple[int, int]] = deque()
        stats.on_settle = self._release_settled
        self._stopping = False  # set by stop(): the next wake-up drains once more and ends the thread
        self._close_at_end = False  # whether the thread closes the output when it ends

    # -- starting and stopping, asked by the pipeline ------------------------------------------

    def start(self) -> bool:
        """Start the thread; False when the interpreter refuses a new one (it is exiting)."""
        thread = threading.Thread(target=self._run, name="gyrinx-tracker", daemon=True)
        _forksafe.begin()  # until the thread has built its output (see forksafe); ended in _run
        try:
            thread.start()
        except RuntimeError:  # "can't create new thread at interpreter shutdown"
            _forksafe.end()
            return False
        self.thread = thread
        return True

    def stop(self, close_output: bool) -> None:
        """Drain once more, then end the thread; with ``close_output``, close the output after."""
        self._close_at_end = close_output
        self._stopping = True
        self.wake.set()

    def close_when_stopped(self) -> None:
        """The thread is late: close the output whenever it does end."""
        self._close_at_end = True

    def alive(self) -> bool:
        """Whether the thread runs (and can be asked to flush)."""
        thread = self.thread
        return thread is not None and thread.is_alive()

    def ask_flush(self, timeout: float, metrics: bool) -> bool:
        """Wait for the thread's next drain and flush, without taking a lock: a signal handler
        may ask too. The waiter is a fresh Event (nobody else knows its lock), appended to a deque
        (atomic); True when the drain ended within ``timeout``. A dead thread drains nothing."""
        if not self.alive():
            return not self._queue
        done = threading.Event()
        self._waiters.append((done, metrics))
        self.wake.set()
        return done.wait(timeout)

    # -- draining on the caller's thread -------------------------------------------------------

    @_guard.guarded("drain inline", None)
    def drain_inline(self, flush_output: bool = True, metrics: bool = True) -> None:
        """Export on the caller's thread: in SYNC delivery, when no thread can be started, and
        after exit began (then the output is flushed too: no later flush may come)."""
        with self.lock:
            if self.output is None:
                self.output = self._opened()
            self._drain()
            if flush_output:
                with self._drain_lock:
                    self._flush_output(metrics)

    def drain_here(self, timeout: float) -> bool:
        """Export what is queued on the calling thread (request-scoped delivery), log side only.

        Handing the drain to the thread and waiting for it would cost two thread switches under
        the GIL per request; draining here costs the export itself. The drain lock keeps one user
        of the output at a time. The pipeline calls this only while the thread runs and has built
        the output.
        """
        if not self._drain_lock.acquire(timeout=timeout):
            return False
        try:
            with _forksafe.no_fork_meanwhile():
                if self.output is None:  # closed while this thread waited for the lock
                    return not self._queue
                self._drain_queued()
                self._flush_output(metrics=False)
        finally:
            self._drain_lock.release()
        return True

    # -- the thread ----------------------------------------------------------------------------

    def _opened(self) -> Output:
        try:
            return self._open_output(self._config, self._stats)
        except Exception as error:  # noqa: BLE001 - the app must keep running without telemetry
            _guard.caught("open outputs", error)
            warn_limited("outputs", "could not start its outputs (%r); events are "
                                    "counted as dropped", error)
            return NullOutput()

    def _run(self) -> None:
        block_app_signals()  # the app's SIGTERM must wake its main thread, not land here (quiet.py)
        try:
            self.output = self._opened()
        finally:
            _forksafe.end()  # begun in start(): a fork no longer risks copying an import lock
        while True:
            self.wake.wait(self._config.flush_interval)
            self.wake.clear()
            stopping = self._stopping
            with _forksafe.no_fork_meanwhile():
                self._drain()
                if stopping:
                    break
                self._tick()
        if self._close_at_end:
            self.close_output()

    @_guard.guarded("close output", None)
    def close_output(self) -> None:
        """Shut the output down within what is left of shutdown()'s deadline (``CLOSE_FLOOR`` at least)."""
        with self._drain_lock:
            output, self.output = self.output, None
        if output is not None:
            close_by = self.close_by
            timeout = self._config.shutdown_timeout if close_by is None else close_by - time.monotonic()
            with _forksafe.no_fork_meanwhile():  # closing channels calls into gRPC too
                output.shutdown(max(CLOSE_FLOOR, timeout))

    @_guard.guarded("drain", None)  # the thread must outlive any bug in one drain
    def _drain(self) -> None:
        pending = self._waiters
        waiters = [pending.popleft() for _ in range(len(pending))]  # before the queue's length is read
        with self._drain_lock:
            self._drain_queued()
            if waiters:
                self._flush_output(any(metrics for _, metrics in waiters))
        for done, _ in waiters:
            done.set()

    def _drain_queued(self) -> None:
        """Export what is queued now, not what other threads add meanwhile: a drain (and the
        flush() waiting for it) must end even while the application tracks flat out. Batches
        stay whole (the last may take some of what came meanwhile): a drain that began with 700
        events queued sends 512 + 512, not 512 + 188, so requests are as few as before."""
        count = len(self._queue)
        while count > 0 and self._queue:
            batch = self.take(self._config.batch_size)
            count -= len(batch)
            self._write(batch)

    @_guard.guarded("tick", None)
    def _tick(self) -> None:
        with self._drain_lock:  # a metric export must not read aggregates drain_here is updating
            if self.output is not None:
                self.output.tick()

    @_guard.guarded("flush output", None)
    def _flush_output(self, metrics: bool = True) -> None:
        """The output's flush, under the drain lock: everything, or (``metrics=False``) the logs."""
        output = self.output
        if output is not None:
            timeout = self._config.shutdown_timeout
            if metrics:
                output.flush(timeout)
            else:
                output.flush_logs(timeout)

    def take(self, limit: int) -> list[Item]:
        """Up to ``limit`` items off the queue, booked as in flight."""
        queue = self._queue
        with self._stats.lock:
            batch = [queue.popleft() for _ in range(min(limit, len(queue)))]
            self._stats.taken += len(batch)
            self._stats.in_flight += len(batch)
        return batch

    def _write(self, items: list[Item]) -> None:
        events: list[Event] = []
        failed = 0
        sanitizer = self._sanitizer
        catalogue = self._catalogue
        held = 0
        for stamp, context, thread, site, name, n, value, labels, cleaned in items:
            try:
                if cleaned is None:
                    event = sanitizer.queued(name, n, value, labels, stamp, context, thread, site)
                    if sanitizer.problems:  # an attribute read, not a call: almost every event has none
                        _problems.warn(event.name, sanitizer.take_problems())
                else:  # made on the caller's thread: converted there, or checked in strict mode
                    event = cleaned
                    held += cleaned.held
                if catalogue is not None:
                    problems = catalogue.review(event)
                    if problems:
                        _problems.warn(event.name, problems)
                events.append(event)
            except Exception as error:  # noqa: BLE001 - one event's bug must not lose the batch
                failed += 1
                _guard.caught("clean", error)
        delivery = self._export(events)
        self._release_when_settled(held, delivery)
        if failed:
            delivery = delivery.plus(Delivery.failed(failed, _stats.INTERNAL_ERROR))
        self._stats.settle(delivery.written, delivery.rejected, delivery.sampled_out)

    def _release_when_settled(self, held: int, delivery: Delivery) -> None:
        """Release a batch's byte-budget charge now, or, when a sender still holds its request
        (``pending``), once its events are settled: the request's bytes are in memory until then,
        and the budget must count them, or EXPORT_CONCURRENCY requests of large events would sit
        outside the bound (measured in benchmarks/soak.py)."""
        if not held:
            return
        if not delivery.pending:
            self._budget.release(held)
            return
        stats = self._stats
        with stats.lock:  # everything in flight now (this batch included) settles by then
            self._held_in_flight.append((stats.settled + stats.in_flight, held))
            self._release_settled(stats.settled)

    def _release_settled(self, settled: int) -> None:
        """Stats' settle hook (its lock held): release the charges of the batches settled by now."""
        held = self._held_in_flight
        while held and held[0][0] <= settled:
            self._budget.release(held.popleft()[1])

    def _export(self, events: list[Event]) -> Delivery:
        output = self.output
        if not events:
            return Delivery(0)
        if output is None:
            return Delivery.failed(len(events), _stats.INTERNAL_ERROR)
        try:
            return output.write(events)
        except Exception as error:  # noqa: BLE001 - an output bug must not kill the worker; counted
            _guard.caught("export", error)
            return Delivery.failed(len(events))
