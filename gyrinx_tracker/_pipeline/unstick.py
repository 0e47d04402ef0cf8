"""Free the exit from an exporter thread stuck in the application's logging handler.

The console output writes events through the application's own handlers (``logging.basicConfig(
stream=sys.stdout)``), on the exporter thread. When that stream is a pipe nobody reads, the thread
blocks in ``write()`` holding two locks: the handler's, and the stream buffer's. Our exit hook does
not need them (its line goes to file descriptor 2 without logging, ``_diagnostics.say_now``), but
what runs after it does: ``logging.shutdown`` (an ``atexit`` hook of the standard library, which
takes each handler's lock) and the interpreter's own flush of ``sys.stdout`` at finalization (which
ends in "Fatal Python error: could not acquire lock" after a second). Measured: still alive 30 s
after SIGINT.

So, once the exit deadline has passed with the thread still alive, and only then, each stream of a
handler whose lock stays held is made to refuse writes, and the stuck ``write()`` is interrupted:

* the stream's file descriptor is pointed (``os.dup2``) at a pipe whose reading end is closed, so
  a write to it fails at once with ``EPIPE`` (Python ignores SIGPIPE) instead of blocking; the
  file the other processes share is not touched, only this process's descriptor, which is about
  to close anyway;
* a signal is sent to the exporter thread (``signal.pthread_kill``) with a no-op handler installed
  for the moment (then the previous one is restored): the kernel ends the blocked ``write()`` with
  ``EINTR``, Python retries it on the new descriptor, and it fails. The handler's ``emit`` then
  reports the error (``handleError``) and releases its locks; the events of that write are not
  counted as exported (they were not).

Everything here is public API (``logging`` handlers' ``lock`` and ``stream``, ``Logger.manager``,
``os.dup2``, ``signal.pthread_kill``); it runs on the main thread only (where Python lets a signal
handler be installed), and it costs the exit ``FREE_WAIT`` at most.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from types import FrameType
from typing import Any

FREE_WAIT = 0.5  # seconds the exit gives the stuck thread to let go, after the deadline
HELD_FOR = 0.05  # a lock still held after this long, past the deadline, is taken to be stuck


def free_stuck_streams(thread: threading.Thread | None) -> int:
    """Make the streams that ``thread`` blocks on refuse writes and interrupt it; how many streams."""
    if (thread is None or not thread.is_alive() or thread.ident is None
            or threading.current_thread() is not threading.main_thread()):
        return 0
    descriptors = _stuck_descriptors()
    if not descriptors:
        return 0
    for descriptor in descriptors:
        _refuse_writes(descriptor)
    _interrupt(thread.ident, thread)
    return len(descriptors)


def _stuck_descriptors() -> set[int]:
    """The file descriptors of the logging handlers whose lock stays held."""
    logging: Any = sys.modules.get("logging")
    if logging is None:  # never imported: no handler to be stuck in
        return set()
    loggers = [logging.root, *getattr(logging.root.manager, "loggerDict", {}).values()]
    descriptors: set[int] = set()
    seen: set[int] = set()
    for logger in loggers:
        for handler in getattr(logger, "handlers", ()):
            if id(handler) in seen:
                continue
            seen.add(id(handler))
            lock, stream = getattr(handler, "lock", None), getattr(handler, "stream", None)
            if lock is None or stream is None:
                continue
            if lock.acquire(timeout=HELD_FOR):
                lock.release()
                continue
            with contextlib.suppress(AttributeError, OSError, ValueError):
                descriptors.add(stream.fileno())
    return descriptors


def _refuse_writes(descriptor: int) -> None:
    """Point ``descriptor`` at a pipe nobody can read: each write fails with EPIPE."""
    with contextlib.suppress(OSError):
        read_end, write_end = os.pipe()
        os.close(read_end)
        os.dup2(write_end, descriptor)
        os.close(write_end)


def _no_op(signum: int, frame: FrameType | None) -> None:
    """Installed for the moment: the signal only has to interrupt a system call."""


def _interrupt(ident: int, thread: threading.Thread) -> None:
    """Interrupt the thread's blocked system call, a few times within ``FREE_WAIT``."""
    signum = getattr(signal, "SIGRTMAX", signal.SIGUSR2)  # a real-time signal: seldom any app's
    try:
        previous = signal.signal(signum, _no_op)
    except (ValueError, OSError):
        return
    try:
        for _ in range(5):
            signal.pthread_kill(ident, signum)
            thread.join(FREE_WAIT / 5)
            if not thread.is_alive() or not _stuck_descriptors():
                break
    except (OSError, ProcessLookupError):
        pass
    finally:
        with contextlib.suppress(ValueError, OSError, TypeError):
            signal.signal(signum, previous if previous is not None else signal.SIG_DFL)
