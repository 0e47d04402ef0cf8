"""Whole lines on a stream that other processes write to as well (gunicorn workers share stdout).

A pipe keeps one ``write()`` whole only up to ``PIPE_BUF`` (4096 bytes on Linux): a longer write
is split when the pipe is full, and another process's write lands in the gap. Before this module,
3 processes writing 20,000 events each to one pipe (every 50th line 4-64 KiB) spliced 110 lines,
which Cloud Logging keeps as unparseable text, while every writer counted them as exported.

How a batch goes out:

* Lines are packed into writes of at most ``PIPE_BUF`` bytes, whole lines only, so each write of
  short lines is atomic even against writers that know nothing of this lock (an app's ``print``).
  A longer line is written alone, finishing short writes in a loop.
* The batch is written under a POSIX record lock (``fcntl.lockf``) on the stream's own file
  descriptor. Those locks belong to the *process*, so they exclude forked workers that inherited
  one stdout. ``flock`` would not: its locks belong to the open file description, which forked
  workers share, so each of them "holds" the lock at once (checked on Linux 6: a child's
  ``flock`` on the inherited pipe succeeds while the parent holds it; its ``lockf`` waits). The
  kernel releases the lock of a process that dies. Threads of one process share its POSIX locks,
  so a process-wide thread lock is taken first.
* A write that fails (a closed pipe, a non-blocking stream still full after ``WRITE_TIMEOUT``)
  ends the batch: the caller learns how many lines went out whole and counts the rest as
  dropped. A line cut short is ended with a newline, so only that line is lost.

Lines from writers that do not take the lock (an app printing lines over 4 KiB to the same pipe)
can still split one of ours; nothing in user space can prevent that.
"""

from __future__ import annotations

import contextlib
import os
import select
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from typing import IO, Any

from gyrinx_tracker._diagnostics import warn_limited
from gyrinx_tracker._pipeline.port import Delivery
from gyrinx_tracker._stats import EXPORT_FAILED

PIPE_BUF: int = getattr(select, "PIPE_BUF", 512)  # POSIX guarantees at least 512
WRITE_TIMEOUT = 5.0  # seconds a non-blocking stream may stay full before the batch is dropped

_process_lock = threading.Lock()


def write_whole(stream: IO[Any], texts: Sequence[str]) -> tuple[int, OSError | None]:
    """Write ``texts`` (each ending in its own newline) so that none is split or spliced.

    Returns how many of them went out whole, in order, and the error that stopped the rest.
    """
    try:
        fd = stream.fileno()
    except (AttributeError, OSError, ValueError):  # io.UnsupportedOperation is an OSError
        return _write_text(stream, texts)
    with _process_lock:
        locked = _lock(fd)
        try:
            stream.flush()  # what the app buffered in this stream goes out before our lines
            return _write_batch(fd, texts)
        except OSError as error:
            return 0, error
        finally:
            if locked:
                _unlock(fd)


def _write_text(stream: IO[Any], texts: Sequence[str]) -> tuple[int, OSError | None]:
    """A stream without a file descriptor (``StringIO``, a test's capture) is in-process only."""
    with _process_lock:
        try:
            stream.write("".join(texts))
            stream.flush()
        except OSError as error:
            return 0, error
        except ValueError as error:  # a closed stream
            return 0, OSError(str(error))
    return len(texts), None


def _write_batch(fd: int, texts: Sequence[str]) -> tuple[int, OSError | None]:
    """The batch encoded once and cut into runs at its newlines (``rfind`` in C, no Python step per
    line): the same runs as ``_chunks``, when each text is one line ending in its newline (the count
    of newlines says so); otherwise line by line."""
    data = "".join(texts).encode("utf-8", "backslashreplace")
    if data.count(b"\n") != len(texts) or not data.endswith(b"\n"):
        return _write_fd(fd, [text.encode("utf-8", "backslashreplace") for text in texts])
    done, start, size = 0, 0, len(data)
    deadline = time.monotonic() + WRITE_TIMEOUT
    while start < size:
        end = data.rfind(b"\n", start, start + PIPE_BUF)
        if end < 0:  # a line longer than PIPE_BUF: a run of its own
            end = data.find(b"\n", start)
        chunk = data[start:end + 1]
        written, error = _write_all(fd, chunk, deadline)
        if error is not None:
            return done + chunk.count(b"\n", 0, written), _end_line(fd, chunk, written, error)
        done += chunk.count(b"\n")
        start = end + 1
    return done, None


def _write_fd(fd: int, lines: list[bytes]) -> tuple[int, OSError | None]:
    done = 0
    deadline = time.monotonic() + WRITE_TIMEOUT
    for chunk, count in _chunks(lines):
        written, error = _write_all(fd, chunk, deadline)
        if error is not None:
            return done + _whole_lines(lines[done:done + count], written), _end_line(fd, chunk, written, error)
        done += count
    return done, None


def _chunks(lines: list[bytes]) -> Iterator[tuple[bytes, int]]:
    """Runs of whole lines of at most ``PIPE_BUF`` bytes; a longer line is a run of its own."""
    pending: list[bytes] = []
    size = 0
    for line in lines:
        if pending and size + len(line) > PIPE_BUF:
            yield b"".join(pending), len(pending)
            pending, size = [], 0
        pending.append(line)
        size += len(line)
    if pending:
        yield b"".join(pending), len(pending)


def _write_all(fd: int, data: bytes, deadline: float) -> tuple[int, OSError | None]:
    """Write all of ``data``, finishing short writes; (bytes written, error that stopped it)."""
    view = memoryview(data)
    written = 0
    while written < len(view):
        try:
            written += os.write(fd, view[written:])
        except BlockingIOError:  # a non-blocking stream that is full: wait for room
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([], [fd], [], remaining)[1]:
                return written, TimeoutError(f"the stream stayed full for {WRITE_TIMEOUT:g} s")
        except OSError as error:
            return written, error
    return written, None


def _whole_lines(lines: list[bytes], written: int) -> int:
    """How many of ``lines`` lie entirely within the first ``written`` bytes."""
    count = 0
    for line in lines:
        written -= len(line)
        if written < 0:
            break
        count += 1
    return count


def _end_line(fd: int, chunk: bytes, written: int, error: OSError) -> OSError:
    """After a write stopped inside a line, end that line so the next one starts clean."""
    if 0 < written < len(chunk) and chunk[written - 1:written] != b"\n":
        with contextlib.suppress(OSError):  # the stream is failing anyway; the caller reports the error
            os.write(fd, b"\n")
    return error


if sys.platform != "win32":
    import fcntl

    def _lock(fd: int) -> bool:
        """Take the inter-process lock; False (and unlocked writes) where the fd cannot be locked."""
        try:
            fcntl.lockf(fd, fcntl.LOCK_EX)
        except OSError as error:
            _warn_unlocked(error)
            return False
        return True

    def _unlock(fd: int) -> None:
        with contextlib.suppress(OSError):  # closing the process's last fd on the file releases it anyway
            fcntl.lockf(fd, fcntl.LOCK_UN)

else:  # pragma: no cover - no POSIX locks; Windows consoles and files are not shared by forks

    def _lock(fd: int) -> bool:
        return False

    def _unlock(fd: int) -> None:
        return None


def _warn_unlocked(error: OSError) -> None:
    warn_limited("linewriter:lock", "cannot lock its output stream (%s); lines over %d "
                 "bytes may interleave with other processes' lines", error, PIPE_BUF)


def deliver_lines(stream: IO[Any], texts: Sequence[str], output: str) -> Delivery:
    """Write ``texts`` whole (see ``write_whole``); what did not go out is rejected, with one warning."""
    written, error = write_whole(stream, texts)
    if error is None:
        return Delivery(written)
    lost = len(texts) - written
    warn_limited(f"linewriter:{output}:{type(error).__name__}", "could not write %d "
                 "events to %s (%s); counted as dropped (export_failed)", lost, output, error)
    return Delivery(written, {EXPORT_FAILED: lost} if lost else {})


def _after_fork_in_child() -> None:
    """A thread of the parent may have held the lock at fork time; the child's copy would stay held."""
    global _process_lock
    _process_lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
