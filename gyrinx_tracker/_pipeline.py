"""From the call site to the exporter thread: a bounded queue and the one thread that drains it.

``submit`` runs on the application's thread and does only what must happen there: read the clock
and the current OpenTelemetry context, and append one tuple to a deque (atomic under the GIL, so no
lock). Validation, record building, encoding and export happen on the worker thread, which wakes
when a batch is ready or the flush interval passes. The worker builds its outputs lazily on its
first run, so neither ``import`` nor the first ``track()`` waits for Google's libraries or the
metadata server.
"""

from __future__ import annotations

import threading
import time
from time import time_ns
from collections import deque
from collections.abc import Callable
from typing import Any, Protocol

from opentelemetry.context import Context, get_current

from gyrinx_tracker import _stats
from gyrinx_tracker._config import TrackerConfig
from gyrinx_tracker._diagnostics import warn_once
from gyrinx_tracker._sanitize import SCALARS, Event, Sanitizer
from gyrinx_tracker._stats import Snapshot, Stats

# (time_ns, context, event, n, value, labels, cleaned): a tuple is the cheapest thing to build.
Item = tuple[int, Context, Any, Any, Any, Any, "Event | None"]
Timed = tuple[int, Context, Event]


class Outputs(Protocol):
    """Where validated events go: built by the worker, used only on the worker thread."""

    def write(self, batch: list[Timed]) -> tuple[int, dict[str, int]]:
        """Export ``batch``; return how many were exported and how many dropped, by reason."""

    def flush(self, timeout: float) -> bool:
        """Push out anything the outputs buffer themselves (metrics)."""

    def shutdown(self, timeout: float) -> None:
        """Release connections and threads; called once."""


# Redaction is policy, not bad input: strict mode warns about it like normal mode, never raises
# (a secret-named key never raised either; a credential-looking value now behaves the same).
POLICY_CAUSES = frozenset({"secret_value"})


class TrackerInputError(ValueError):
    """Raised by ``track()`` in strict mode when an argument had to be repaired or dropped."""


class Pipeline:
    """One configuration's queue, worker thread and outputs."""

    def __init__(self, config: TrackerConfig, build_outputs: Callable[[TrackerConfig, Stats], Outputs]) -> None:
        self.config = config
        self.stats = Stats()
        self._build_outputs = build_outputs
        self._queue: deque[Item] = deque()
        self._max = config.max_queue
        self._strict = config.strict
        self._wake_at = config.batch_size
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.RLock()
        self._waiters: list[threading.Event] = []
        self._waiters_lock = threading.Lock()
        self._stopping = False
        self._closed = False
        self._keep_outputs = False
        self._inline = False
        self._outputs: Outputs | None = None
        self._sanitizer = Sanitizer(config)
        self._per_thread = threading.local()

    # -- the application's thread ------------------------------------------------------------

    def submit(self, event: object, n: object, value: object, labels: dict[str, Any]) -> None:
        """Queue one call; never blocks, drops (and counts) when the queue is full or closed.

        Labels that are not immutable scalars are converted here, on the caller's thread: a Django
        model's ``__str__`` may touch the database, which must not happen from another thread, and
        a mutable value must be recorded as it was at the call, not as it is when exported.
        """
        queue = self._queue
        if len(queue) >= self._max or self._closed:
            self._reject()
            return
        cleaned = None
        if self._strict:
            cleaned = self._validate_now(event, n, value, labels)
        else:
            for item in labels.values():  # needs_snapshot(), inlined: this is the hot path
                if type(item) not in SCALARS:
                    cleaned = self._snapshot(event, n, value, labels)
                    break
        queue.append((time_ns(), get_current(), event, n, value, labels, cleaned))
        if len(queue) >= self._wake_at and not self._wake.is_set():
            self._wake.set()
        if self._thread is None:
            self._start()
        elif self._inline:
            self._drain_inline()

    def _reject(self) -> None:
        reason = _stats.CLOSED if self._closed else _stats.QUEUE_FULL
        self.stats.drop(reason)
        warn_once(f"dropped:{reason}", "gyrinx_tracker dropped an event (%s); see stats()", reason)

    def _caller_sanitizer(self) -> Sanitizer:
        """One sanitizer per calling thread, so its caches survive between calls."""
        sanitizer: Sanitizer | None = getattr(self._per_thread, "sanitizer", None)
        if sanitizer is None:
            sanitizer = self._per_thread.sanitizer = Sanitizer(self.config)
        return sanitizer

    def _snapshot(self, event: object, n: object, value: object, labels: dict[str, Any]) -> Event:
        sanitizer = self._caller_sanitizer()
        cleaned = sanitizer.event(event, n, value, labels)
        _warn(cleaned.name, sanitizer.take_problems())
        return cleaned

    def _validate_now(self, event: object, n: object, value: object, labels: dict[str, Any]) -> Event:
        sanitizer = self._caller_sanitizer()
        cleaned = sanitizer.event(event, n, value, labels)
        problems = sanitizer.take_problems()
        errors = [detail for cause, detail in problems if cause not in POLICY_CAUSES]
        _warn(cleaned.name, [(cause, detail) for cause, detail in problems if cause in POLICY_CAUSES])
        if errors:
            raise TrackerInputError("; ".join(errors))
        return cleaned

    def _start(self) -> None:
        with self._start_lock:
            if self._thread is None and not self._stopping:
                thread = threading.Thread(target=self._run, name="gyrinx-tracker", daemon=True)
                try:
                    thread.start()
                except RuntimeError:  # "can't create new thread at interpreter shutdown"
                    self._drain_inline()
                    return
                self._thread = thread

    def _drain_inline(self) -> None:
        """Export on the caller's thread: when no thread can be started, and after exit began."""
        with self._start_lock:
            if self._outputs is None:
                self._outputs = self._open_outputs()
            self._drain()
            self._guarded(lambda: self._outputs.flush(self.config.shutdown_timeout) if self._outputs else True)

    # -- control, from any thread ------------------------------------------------------------

    def flush(self, timeout: float) -> bool:
        """Wait until everything queued before this call is exported; False on timeout."""
        if threading.current_thread() is self._thread:
            return False
        if self._inline:
            self._drain_inline()
            return not self._queue
        if self._stopping and self._thread is not None and not self._thread.is_alive():
            return not self._queue
        if self._thread is None:
            if not self._queue:
                return True
            self._start()
            if self._thread is None:
                return not self._queue
        done = threading.Event()
        with self._waiters_lock:
            self._waiters.append(done)
        self._wake.set()
        return done.wait(timeout)

    def shutdown(self, timeout: float) -> bool:
        """Flush within ``timeout``, then stop the worker and release the outputs."""
        self._closed = True
        flushed, _ = self._flush_and_stop(timeout)
        self._discard_rest()
        return flushed

    def finish_at_exit(self, timeout: float) -> bool:
        """Flush and stop the worker, but keep the outputs: events tracked by later exit hooks
        (atexit runs last-registered first, so an application's hooks often run after ours) are
        then exported synchronously by whoever tracks them."""
        self._keep_outputs = True
        flushed, stopped = self._flush_and_stop(timeout)
        if not stopped:
            return False
        self._inline = True
        if self._queue:
            self._drain_inline()
        return flushed

    def _flush_and_stop(self, timeout: float) -> tuple[bool, bool]:
        """Flush, then stop the worker, all within ``timeout``: (flushed, worker stopped)."""
        deadline = time.monotonic() + timeout
        flushed = self.flush(timeout)
        self._stopping = True
        self._wake.set()
        thread = self._thread
        if thread is None or thread is threading.current_thread():
            return flushed, True
        thread.join(max(0.0, deadline - time.monotonic()))
        return flushed, not thread.is_alive()

    def reset_after_fork(self) -> None:
        """In a forked child: drop the parent's queue (the parent exports it) and its thread."""
        self._queue = deque()
        self._wake = threading.Event()
        self._start_lock = threading.RLock()
        self._waiters_lock = threading.Lock()
        self._waiters = []
        self._thread = None
        self._outputs = None
        self.stats = Stats()

    def snapshot(self) -> Snapshot:
        """The books of this pipeline."""
        with self.stats.lock:
            return self.stats.snapshot(len(self._queue))

    # -- the worker thread -------------------------------------------------------------------

    def _open_outputs(self) -> Outputs:
        try:
            return self._build_outputs(self.config, self.stats)
        except Exception as error:  # noqa: BLE001 - the app must keep running without telemetry
            warn_once("outputs", "gyrinx_tracker could not start its outputs (%r); events are "
                                 "counted as dropped", error)
            return _NoOutputs()

    def _run(self) -> None:
        self._outputs = self._open_outputs()
        while True:
            self._wake.wait(self.config.flush_interval)
            self._wake.clear()
            stopping = self._stopping
            self._guarded(self._drain)  # the worker must outlive any bug in one drain
            if stopping:
                break
        if not self._keep_outputs:
            self._guarded(lambda: self._outputs.shutdown(self.config.shutdown_timeout) if self._outputs else None)

    def _drain(self) -> None:
        with self._waiters_lock:
            waiters, self._waiters = self._waiters, []
        while self._queue:
            self._write(self._take(self.config.batch_size))
        if waiters and self._outputs is not None:
            self._guarded(lambda: self._outputs.flush(self.config.shutdown_timeout) if self._outputs else True)
        for done in waiters:
            done.set()

    def _take(self, limit: int) -> list[Item]:
        queue = self._queue
        with self.stats.lock:
            batch = [queue.popleft() for _ in range(min(limit, len(queue)))]
            self.stats.taken += len(batch)
            self.stats.in_flight += len(batch)
        return batch

    def _write(self, items: list[Item]) -> None:
        timed: list[Timed] = []
        dropped: dict[str, int] = {}
        sanitizer = self._sanitizer
        for item in items:
            try:
                event = item[6]
                if event is None:
                    event = sanitizer.event(item[2], item[3], item[4], item[5])
                    problems = sanitizer.take_problems()
                    if problems:
                        _warn(event.name, problems)
                timed.append((item[0], item[1], event))
            except Exception as error:  # noqa: BLE001 - one event's bug must not lose the batch
                dropped[_stats.INTERNAL_ERROR] = dropped.get(_stats.INTERNAL_ERROR, 0) + 1
                warn_once("internal:clean", "gyrinx_tracker failed to process an event: %r", error)
        exported, failed = self._export(timed)
        for reason, count in failed.items():
            dropped[reason] = dropped.get(reason, 0) + count
        self.stats.settle(exported, dropped)

    def _export(self, timed: list[Timed]) -> tuple[int, dict[str, int]]:
        outputs = self._outputs
        if outputs is None or not timed:
            return 0, ({_stats.INTERNAL_ERROR: len(timed)} if timed else {})
        try:
            return outputs.write(timed)
        except Exception as error:  # noqa: BLE001 - an exporter bug must not kill the worker
            warn_once("internal:export", "gyrinx_tracker failed to export a batch: %r", error)
            return 0, {_stats.EXPORT_FAILED: len(timed)}

    def _discard_rest(self) -> None:
        """Count what is still queued after the shutdown deadline as dropped, so the books balance."""
        rest = self._take(len(self._queue))
        if rest:
            self.stats.settle(0, {_stats.SHUTDOWN: len(rest)})
            warn_once("dropped:shutdown", "gyrinx_tracker dropped %d events still queued at shutdown",
                      len(rest))

    @staticmethod
    def _guarded(action: Callable[[], object]) -> None:
        try:
            action()
        except Exception as error:  # noqa: BLE001 - flushing metrics must not kill the worker
            warn_once("internal:flush", "gyrinx_tracker failed to flush: %r", error)


class _NoOutputs:
    """Stands in when the outputs could not be built: every event is counted as dropped."""

    def write(self, batch: list[Timed]) -> tuple[int, dict[str, int]]:
        return 0, {_stats.EXPORT_FAILED: len(batch)}

    def flush(self, timeout: float) -> bool:
        return True

    def shutdown(self, timeout: float) -> None:
        return None


def _warn(event: str, problems: list[tuple[str, str]]) -> None:
    for cause, detail in problems:
        warn_once(f"input:{cause}", "gyrinx_tracker: %s (event %r); the rest of the event was kept",
                  detail, event)
