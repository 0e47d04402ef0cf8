"""The tracker's own voice: rate-limited warnings about bad input and internal failures.

A telemetry library that floods the application's logs is as bad as one that crashes it, so every
warning has a key: the first occurrence of a key is let through at once, repeats within the window
are counted, and the next one let through says how many were held back. ``RateLimit`` is that rule,
the only one: ``warn_limited`` applies it to the tracker's own warnings (keyed by cause), and
``_outputs.shared.exporter_logs`` to the OpenTelemetry exporters' log lines (keyed by message).

The logger is ``gyrinx_tracker``, never ``gyrinx.tracker``: that one carries the events
themselves, and an application routing it to an events file must not find our complaints there.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Hashable

RATE_LIMIT_SECONDS = 60.0
LOGGER_NAME = "gyrinx_tracker"


class RateLimit:
    """At most one message per key per window; the repeats held back are counted for the next one."""

    def __init__(self, window: float = RATE_LIMIT_SECONDS, max_keys: int = 1_000) -> None:
        self.window = window
        self._max_keys = max_keys  # past it, a new key's messages are let through, uncounted
        self._lock = threading.RLock()  # re-entrant: a signal handler may warn while this thread does
        self._last: dict[Hashable, float] = {}
        self._held: dict[Hashable, int] = {}

    def admit(self, key: Hashable) -> int | None:
        """None to hold the message back; else how many of the key's were held back since the last."""
        now = time.monotonic()
        with self._lock:
            last = self._last.get(key)
            if last is not None and now - last < self.window:
                self._held[key] = self._held.get(key, 0) + 1
                return None
            if last is None and len(self._last) >= self._max_keys:
                return 0
            self._last[key] = now
            return self._held.pop(key, 0)

    def reset(self) -> None:
        """Forget the history, so each key's next message is let through."""
        with self._lock:
            self._last.clear()
            self._held.clear()

    def after_fork_in_child(self) -> None:
        """A lock held by another thread at fork time would stay locked in the child: replace it."""
        self._lock = threading.RLock()


LIMIT = RateLimit()


def warn_limited(cause: str, message: str, *args: object) -> None:
    """Log ``message`` now unless ``cause`` was logged within the rate-limit window."""
    held = LIMIT.admit(cause)
    if held is None:
        return
    if held:
        message += " (%d similar warnings suppressed)"
        args = (*args, held)
    # Imported here, not at ``import gyrinx_tracker``: a clean run never warns, and ``logging``
    # (with traceback, linecache, tokenize) would be most of what importing us costs.
    import logging

    logging.getLogger(LOGGER_NAME).warning(message, *args)


# Lines of the end of life that could not be said without blocking (stderr full, or not there):
# dropped, and counted here, so a test or a debugger can still see that something was held back.
unsaid = 0
_LINE_MAX = 4000  # under PIPE_BUF: one write() that a pipe with room for it takes whole, or not at all


def say_now(cause: str, line: str) -> bool:
    """Say ``line`` on stderr (file descriptor 2) now, rate-limited like ``warn_limited``, never
    waiting: on the way out (exit, a shutdown deadline) the exporter thread may hold the lock of
    the very logging handler a warning would go through, blocked on a stream nobody reads, and
    the line must not make the exit wait for it. So no logging and no ``sys.stderr`` (its buffer
    has a lock too): ``select`` says whether the descriptor takes a write now; if not, the line
    is dropped and counted (``unsaid``). True when written."""
    global unsaid
    held = LIMIT.admit(cause)
    if held is None:
        return False
    if held:
        line += f" ({held} similar warnings suppressed)"
    data = (line[:_LINE_MAX] + "\n").encode(errors="replace")
    try:
        import select  # on the way out only

        _, ready, _ = select.select([], [2], [], 0)
        if ready:
            import os

            os.write(2, data)
            return True
    except (OSError, ValueError):  # no stderr (closed, a daemon), or select cannot watch it
        pass
    unsaid += 1
    return False


def reset() -> None:
    """Forget the rate-limit history, so tests see each cause's first warning."""
    LIMIT.reset()


def after_fork_in_child() -> None:
    """See ``RateLimit.after_fork_in_child``."""
    LIMIT.after_fork_in_child()
