"""From the call site to the outputs: a bounded queue and the one worker thread that drains it.

``submit`` runs on the application's thread and does only what must happen there: read the clock
and the current OpenTelemetry context, and append one tuple to a deque (atomic under the GIL, so no
lock). Validation, record building, encoding and export happen on the worker thread, which wakes
when a batch is ready or the flush interval passes. The worker opens its output lazily on its
first run, so neither ``import`` nor the first ``track()`` waits for Google's libraries or the
metadata server.

The pipeline's states and its end (``shutdown()``, exit, SIGTERM, fork) are in ``_shutdown``; what
a full queue does to the caller is in ``_backpressure``.

Request-scoped delivery (``drain_here``) exports on the request's own thread; one drain lock
keeps a single user of the output at a time, the worker's drains and metric ticks included.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from threading import current_thread
from time import time_ns
from typing import Any

from opentelemetry.context import Context, get_current

from gyrinx_tracker import _guard, _stats
from gyrinx_tracker._catalogue import catalogue as _catalogue
from gyrinx_tracker._config import TrackerConfig
from gyrinx_tracker._core import problems as _problems
from gyrinx_tracker._core.encode import MAX_SAFE_INT
from gyrinx_tracker._core.event import Event, Site
from gyrinx_tracker._core.sanitize import SCALARS, Sanitizer
from gyrinx_tracker._diagnostics import warn_limited
from gyrinx_tracker._pipeline import backpressure as _backpressure
from gyrinx_tracker._pipeline import budget as _budget
from gyrinx_tracker._pipeline import forksafe as _forksafe
from gyrinx_tracker._pipeline.budget import QUEUED_CHARS, QUEUED_LABELS
from gyrinx_tracker._pipeline.lifecycle import REFUSING, Ending, State, WaiterQueue
from gyrinx_tracker._pipeline.port import Delivery, NullOutput, Output
from gyrinx_tracker._pipeline.wakeup import Wakeup
from gyrinx_tracker._stats import Snapshot, Stats

# (time_ns, context, calling thread, call site, event, n, value, labels, cleaned): a tuple is the
# cheapest thing to build on the caller's thread; the worker unpacks it by name. The thread object,
# not its id: a short-lived thread may have ended, and its name gone, by the time of the export.
Item = tuple[int, Context, "threading.Thread | None", "Site | None", Any, Any, Any, Any, "Event | None"]
OpenOutput = Callable[[TrackerConfig, Stats], Output]
_TOO_LARGE = 1 << 62  # characters: "not small enough to queue as given"
_ONE = 1  # the default n: an identity test (small ints are cached) before the full check


_STOPPING = frozenset({State.CLOSED, State.EXITING})
CLOSE_FLOOR = 0.1  # seconds an output gets to close its connections even past shutdown()'s deadline
_RUNNING = State.RUNNING  # a module global: the hot path compares by identity, never hashes
# Each caller's Thread object (the records' thread fields): a thread-local's attribute costs a
# third of current_thread(), a Python function, and is the same object for the thread's life.
_here = threading.local()


class Pipeline(Ending):
    """One configuration's queue, worker thread and output."""

    def __init__(self, config: TrackerConfig, open_output: OpenOutput, wants_site: bool = False) -> None:
        self.config = config
        self.wants_site = wants_site  # track() captures the caller's code and thread only if so
        self.stats = Stats()
        self._open_output = open_output
        self._state = State.SYNC if config.delivery == "sync" else State.IDLE
        self._queue: deque[Item] = deque()
        self._bytes = _budget.ByteBudget(config.max_queue_bytes)
        self._max = config.max_queue
        self._strict = config.strict
        self._wake_at = config.batch_size
        self._wake = Wakeup()  # settable from a signal handler (see _wakeup)
        self._thread: threading.Thread | None = None
        self._lock = threading.RLock()  # starting the worker, and draining on the caller's thread
        # flush() calls waiting for the worker's next drain, each with whether it wants the metric
        # side flushed too. A deque, appended and popped without a lock (each is atomic), so a
        # signal handler can wait as well.
        self._waiters: WaiterQueue = deque()
        self._when_full = _backpressure.WhenFull(config)
        self._drain_lock = threading.Lock()  # one user of the output at a time: the worker or drain_here
        self._output: Output | None = None
        self._close_by: float | None = None  # shutdown()'s deadline, which closing the output shares
        self._sanitizer = Sanitizer(config)
        self._per_thread = threading.local()
        self._catalogue = _catalogue.install(config)  # read at start-up: a bad file warns now, once

    # -- the application's thread ------------------------------------------------------------

    def submit(self, event: object, n: object, value: object, labels: dict[str, Any],
               site: Site | None = None) -> None:
        """Queue one call; when the queue is full or closed, ``_admits`` waits (``WHEN_FULL=block``,
        bounded by ``BLOCK_TIMEOUT``) or drops and counts.

        Only a small call of immutable scalars is queued as given (at most ``QUEUED_LABELS`` labels,
        ``QUEUED_CHARS`` characters of name, keys and strings, ints in range, a plain n and value),
        so what the queue holds is bounded in bytes whatever the input (see ``_budget``). Anything
        else is converted here, on the caller's thread, and queued without the call's own objects:
        cut to the entry's limits (work bounded by them, not by the input), recorded as it was at
        the call (a mutable value may change later), and without running an unknown object's code.
        """
        queue = self._queue
        state = self._state
        if (state is not _RUNNING or len(queue) >= self._max) and not self._admits(state):
            return
        thread = None
        if site is not None:
            try:
                thread = _here.thread
            except AttributeError:  # this thread's first event
                thread = _here.thread = current_thread()
        if self._strict:
            queue.append((time_ns(), get_current(), thread, site, None, None, None, None,
                          self._validate_now(event, n, value, labels)))
        else:
            # "can the call be queued as given?", inlined: the hot path
            chars = len(event) if type(event) is str else _TOO_LARGE
            for key, item in labels.items():
                kind = type(item)
                chars += len(key)  # a key made from data (**{path: 1}) is held too
                if kind is str:
                    chars += len(item)
                elif kind is int:
                    if not -MAX_SAFE_INT <= item <= MAX_SAFE_INT:
                        chars = _TOO_LARGE
                        break
                elif kind not in SCALARS:
                    chars = _TOO_LARGE
                    break
            if (chars <= QUEUED_CHARS and len(labels) <= QUEUED_LABELS
                    and (n is _ONE or (type(n) is int and 0 < n <= MAX_SAFE_INT))
                    and (value is None or type(value) is float
                         or (type(value) is int and -MAX_SAFE_INT <= value <= MAX_SAFE_INT))):
                queue.append((time_ns(), get_current(), thread, site, event, n, value, labels, None))
            else:
                queue.append((time_ns(), get_current(), thread, site, None, None, None, None,
                              self._convert_now(event, n, value, labels)))
        if len(queue) >= self._wake_at and not self._wake.pending:
            self._wake.set()
        if state is not _RUNNING:
            self._not_running(state)

    def _not_running(self, state: State) -> None:
        """After the event is queued; both paths are guarded, so submit() never fails after queueing."""
        if state is State.IDLE:
            self._start()
        elif state is State.SYNC:
            self._drain_inline(flush_output=False)
        elif state is State.INLINE:
            self._drain_inline()

    def _admits(self, state: State) -> bool:
        """The slow path's verdict: False (and the drop counted) when closed or the queue is full."""
        if state in REFUSING:
            reason = _stats.CLOSED
        elif len(self._queue) >= self._max and not self._room_made(state):
            reason = _stats.QUEUE_FULL
        else:
            return True
        self.stats.drop(reason)
        warn_limited(f"dropped:{reason}", "gyrinx_tracker dropped an event (%s); see stats()", reason)
        return False

    def _room_made(self, state: State) -> bool:
        """The full-queue policy (see _backpressure); never waits on the worker from the worker."""
        if state is not _RUNNING or current_thread() is self._thread:
            return False
        return self._when_full.room_made(self._queue, self._max, self._wake, self.stats)

    def _caller_sanitizer(self) -> Sanitizer:
        """One sanitizer per calling thread, so its caches survive between calls."""
        sanitizer: Sanitizer | None = getattr(self._per_thread, "sanitizer", None)
        if sanitizer is None:
            sanitizer = self._per_thread.sanitizer = Sanitizer(self.config)
        return sanitizer

    def _convert_now(self, event: object, n: object, value: object, labels: dict[str, Any]) -> Event:
        sanitizer = self._caller_sanitizer()
        sanitizer.labels_size = -1
        cleaned = sanitizer.event(event, n, value, labels)
        _problems.warn(cleaned.name, sanitizer.take_problems())
        _budget.hold(self._bytes, cleaned, sanitizer.labels_size)
        return cleaned

    def _validate_now(self, event: object, n: object, value: object, labels: dict[str, Any]) -> Event:
        sanitizer = self._caller_sanitizer()
        sanitizer.labels_size = -1
        cleaned = sanitizer.event(event, n, value, labels)
        catalogue = self._catalogue
        _problems.enforce(cleaned.name, sanitizer.take_problems() + (catalogue.review(cleaned) if catalogue else []))
        _budget.hold(self._bytes, cleaned, sanitizer.labels_size)
        return cleaned

    @_guard.guarded("start worker", None)
    def _start(self) -> None:
        with self._lock:
            if self._state is not State.IDLE:
                return
            thread = threading.Thread(target=self._run, name="gyrinx-tracker", daemon=True)
            _forksafe.begin()  # until the thread has built its output (see _forksafe); ended in _run
            try:
                thread.start()
            except RuntimeError:  # "can't create new thread at interpreter shutdown"
                _forksafe.end()
                self._state = State.INLINE
                self._drain_inline()
                return
            self._thread = thread
            self._state = State.RUNNING

    @_guard.guarded("drain inline", None)
    def _drain_inline(self, flush_output: bool = True, metrics: bool = True) -> None:
        """Export on the caller's thread: in SYNC delivery, when no thread can be started, and
        after exit began (then the output is flushed too: no later flush may come)."""
        with self._lock:
            if self._output is None:
                self._output = self._opened()
            self._drain()
            if flush_output:
                with self._drain_lock:
                    self._flush_output(metrics)

    # -- control, from any thread ------------------------------------------------------------

    def flush(self, timeout: float, metrics: bool = True) -> bool:
        """Wait until everything queued before this call is settled; False on timeout.

        The worker's next drain takes what is queued when it starts (all of this call's events,
        at least) and no more, then flushes the output and releases the waiters: events tracked
        meanwhile by other threads do not hold this call up.

        ``metrics=False`` (request-scoped delivery) leaves the metric side to its own interval.
        """
        if threading.current_thread() is self._thread:
            return False
        if self._state is State.IDLE:
            if not self._queue:
                return True
            self._start()
        if self._state is State.INLINE or self._state is State.SYNC:
            self._drain_inline(metrics=metrics)
            return not self._queue
        thread = self._thread
        if thread is None or not thread.is_alive():
            return not self._queue
        done = threading.Event()
        self._waiters.append((done, metrics))
        self._wake.set()
        return done.wait(timeout)

    def drain_here(self, timeout: float) -> bool:
        """Export what is queued on the calling thread (request-scoped delivery), log side only.

        Handing the drain to the worker and waiting for it cost 0.4-0.7 ms per request (two
        thread switches under the GIL); draining here costs the export itself. The drain lock
        keeps one user of the output at a time (the worker's drains and ticks take it too). Until
        the worker has built the output, in any state but RUNNING and on the worker itself, this
        is ``flush(timeout, metrics=False)``.
        """
        if (self._output is None or self._state is not _RUNNING
                or threading.current_thread() is self._thread):
            return self.flush(timeout, metrics=False)
        if not self._drain_lock.acquire(timeout=timeout):
            return False
        try:
            with _forksafe.no_fork_meanwhile():
                if self._output is None:  # closed while this thread waited for the lock
                    return not self._queue
                self._drain_queued()
                self._flush_output(metrics=False)
        finally:
            self._drain_lock.release()
        return True

    def snapshot(self) -> Snapshot:
        """The books of this pipeline."""
        with self.stats.lock:
            return self.stats.snapshot(len(self._queue), _guard.counts())

    # -- the worker thread -------------------------------------------------------------------

    def _opened(self) -> Output:
        try:
            return self._open_output(self.config, self.stats)
        except Exception as error:  # noqa: BLE001 - the app must keep running without telemetry
            _guard.caught("open outputs", error)
            warn_limited("outputs", "gyrinx_tracker could not start its outputs (%r); events are "
                                    "counted as dropped", error)
            return NullOutput()

    def _run(self) -> None:
        try:
            self._output = self._opened()
        finally:
            _forksafe.end()  # begun in _start: a fork no longer risks copying an import lock
        while True:
            self._wake.wait(self.config.flush_interval)
            self._wake.clear()
            stopping = self._state in _STOPPING
            with _forksafe.no_fork_meanwhile():
                self._drain()
                if stopping:
                    break
                self._tick()
        if self._state is State.CLOSED:
            self._close_output()

    @_guard.guarded("close output", None)
    def _close_output(self) -> None:
        with self._drain_lock:
            output, self._output = self._output, None
        if output is not None:
            close_by = self._close_by
            timeout = self.config.shutdown_timeout if close_by is None else close_by - time.monotonic()
            with _forksafe.no_fork_meanwhile():  # closing channels calls into gRPC too
                output.shutdown(max(CLOSE_FLOOR, timeout))

    @_guard.guarded("drain", None)  # the worker must outlive any bug in one drain
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
            batch = self._take(self.config.batch_size)
            count -= len(batch)
            self._write(batch)

    @_guard.guarded("tick", None)
    def _tick(self) -> None:
        with self._drain_lock:  # a metric export must not read aggregates drain_here is updating
            if self._output is not None:
                self._output.tick()

    @_guard.guarded("flush output", None)
    def _flush_output(self, metrics: bool = True) -> None:
        """The output's flush, under the drain lock: everything, or (``metrics=False``) the logs."""
        output = self._output
        if output is not None:
            timeout = self.config.shutdown_timeout
            if metrics:
                output.flush(timeout)
            else:
                output.flush_logs(timeout)

    def _take(self, limit: int) -> list[Item]:
        queue = self._queue
        with self.stats.lock:
            batch = [queue.popleft() for _ in range(min(limit, len(queue)))]
            self.stats.taken += len(batch)
            self.stats.in_flight += len(batch)
        return batch

    def _write(self, items: list[Item]) -> None:
        events: list[Event] = []
        failed = 0
        sanitizer = self._sanitizer
        catalogue = None if self._strict else self._catalogue  # strict mode checked on the caller
        held = 0
        for stamp, context, thread, site, name, n, value, labels, cleaned in items:
            if cleaned is not None:
                held += cleaned.held
            try:
                event = cleaned
                if event is None:
                    event = sanitizer.event(name, n, value, labels, stamp, context, thread, site)
                    problems = sanitizer.take_problems()
                    if problems:
                        _problems.warn(event.name, problems)
                else:  # converted on the caller's thread, before the call's time and context were set
                    event.time_ns, event.context, event.thread, event.site = stamp, context, thread, site
                if catalogue is not None:
                    problems = catalogue.review(event)
                    if problems:
                        _problems.warn(event.name, problems)
                events.append(event)
            except Exception as error:  # noqa: BLE001 - one event's bug must not lose the batch
                failed += 1
                _guard.caught("clean", error)
        delivery = self._export(events)
        self._bytes.release(held)
        if failed:
            delivery = delivery.plus(Delivery.failed(failed, _stats.INTERNAL_ERROR))
        self.stats.settle(delivery.written, delivery.rejected, delivery.sampled_out)

    def _export(self, events: list[Event]) -> Delivery:
        output = self._output
        if not events:
            return Delivery(0)
        if output is None:
            return Delivery.failed(len(events), _stats.INTERNAL_ERROR)
        try:
            return output.write(events)
        except Exception as error:  # noqa: BLE001 - an output bug must not kill the worker; counted
            _guard.caught("export", error)
            return Delivery.failed(len(events))
