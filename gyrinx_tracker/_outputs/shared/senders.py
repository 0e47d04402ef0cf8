"""A bounded number of export requests in flight at once, on small daemon threads of their own.

One request at a time made the backend's latency the tracker's ceiling: at 2 s per Cloud Logging
call, one batch of 512 per 2 s (256 events/s). The pipeline's worker hands each request to
``Senders.submit`` and goes back to draining its queue; it blocks only when ``bound`` requests are
already in flight, which is the back-pressure that keeps memory bounded (at most ``bound``
requests built and waiting for an answer).

Books: events handed over stay ``in_flight`` in ``stats()`` until the receiver answered; the
sender that got the answer settles them itself through the pipeline's ``Stats``, so "exported"
still means "the receiver has it". A writer reports them to the worker as ``Delivery.pending``.

The threads are daemons (an export stuck on a hung backend must not hold the interpreter's exit;
``wait`` bounds how long a flush or shutdown waits for them), and each send counts as busy for
``_pipeline.forksafe``, as the worker's drains do: a fork waits for the answer instead of copying a gRPC
call in progress.

A bound of 0 sends on the caller's thread, settled before ``submit`` returns: ``delivery="sync"``
promises the event is exported before ``track()`` returns.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable

from gyrinx_tracker import _guard
from gyrinx_tracker._pipeline import forksafe as _forksafe
from gyrinx_tracker._pipeline.port import Delivery
from gyrinx_tracker._pipeline.quiet import block_app_signals
from gyrinx_tracker._stats import Stats

Job = Callable[[], Delivery]


class Senders:
    """Runs up to ``bound`` jobs at once (0: on the caller); each job's ``Delivery`` is settled into ``stats``."""

    def __init__(self, bound: int, stats: Stats, name: str = "gyrinx-tracker-sender") -> None:
        self._inline = bound <= 0
        self._bound = max(1, bound)
        self._stats = stats
        self._name = name
        self._slots = threading.BoundedSemaphore(self._bound)
        self._jobs: queue.SimpleQueue[tuple[Job, int] | None] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._idle = threading.Condition()
        self._pending = 0  # jobs handed over and not yet settled
        self._closed = False

    @property
    def bound(self) -> int:
        """How many jobs may be in flight at once."""
        return self._bound

    def submit(self, job: Job, count: int) -> bool:
        """Run ``job`` (about ``count`` events) on a sender; blocks while ``bound`` are in flight.

        False when closed: the caller still owns those events and counts them.
        """
        self._slots.acquire()
        with self._idle:
            if self._closed:
                self._slots.release()
                return False
            self._pending += 1
            started = not self._inline and (
                len(self._threads) >= min(self._bound, self._pending) or self._start_thread())
        if not started:  # synchronous, or no thread can start (interpreter exit): send here
            self._settle(job, count)
            return True
        self._jobs.put((job, count))
        return True

    def wait(self, timeout: float) -> bool:
        """Wait until every job handed over is settled; False if ``timeout`` ran out first."""
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout)

    def close(self, timeout: float) -> bool:
        """Wait up to ``timeout`` for the jobs in flight, then refuse new ones and end the threads."""
        idle = self.wait(timeout)
        with self._idle:
            self._closed = True
            threads = len(self._threads)
        for _ in range(threads):
            self._jobs.put(None)
        return idle

    def _start_thread(self) -> bool:
        thread = threading.Thread(target=self._run, name=self._name, daemon=True)
        try:
            thread.start()
        except RuntimeError:  # "can't create new thread at interpreter shutdown"
            return bool(self._threads)
        self._threads.append(thread)
        return True

    def _run(self) -> None:
        block_app_signals()  # the app's SIGTERM must wake its main thread, not land here (quiet.py)
        while True:
            item = self._jobs.get()
            if item is None:
                return
            self._settle(*item)

    def _settle(self, job: Job, count: int) -> None:
        try:
            with _forksafe.no_fork_meanwhile():
                delivery = job()
        except Exception as error:  # noqa: BLE001 - a bug in one send must not lose the books
            _guard.caught("export", error)
            delivery = Delivery.failed(count)
        self._stats.settle(delivery.written, delivery.rejected, delivery.sampled_out)
        with self._idle:
            self._pending -= 1
            self._idle.notify_all()
        self._slots.release()
