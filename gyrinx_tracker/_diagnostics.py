"""The tracker's own voice: rate-limited warnings about bad input and internal failures.

A telemetry library that floods the application's logs is as bad as one that crashes it, so every
warning has a *cause key*: the first occurrence of a cause is logged at once, repeats are counted
and summarised at most once per ``RATE_LIMIT_SECONDS``. The logger is ``gyrinx_tracker``, never
``gyrinx.tracker``: that one carries the events themselves, and an application routing it to an
events file must not find our complaints in there.
"""

from __future__ import annotations

import threading
import time

RATE_LIMIT_SECONDS = 60.0
LOGGER_NAME = "gyrinx_tracker"

_lock = threading.Lock()
_last_logged: dict[str, float] = {}
_suppressed: dict[str, int] = {}
_MAX_CAUSES = 1_000


def warn_limited(cause: str, message: str, *args: object) -> None:
    """Log ``message`` now unless ``cause`` was logged within the rate-limit window."""
    now = time.monotonic()
    with _lock:
        last = _last_logged.get(cause)
        if last is not None and now - last < RATE_LIMIT_SECONDS:
            _suppressed[cause] = _suppressed.get(cause, 0) + 1
            return
        if last is None and len(_last_logged) >= _MAX_CAUSES:
            cause = "(other causes)"
        _last_logged[cause] = now
        repeats = _suppressed.pop(cause, 0)
    if repeats:
        message += " (%d similar warnings suppressed)"
        args = (*args, repeats)
    # Imported here, not at ``import gyrinx_tracker``: a clean run never warns, and ``logging``
    # (with traceback, linecache, tokenize) is a quarter of a bare interpreter's cost of importing us.
    import logging

    logging.getLogger(LOGGER_NAME).warning(message, *args)


def reset() -> None:
    """Forget the rate-limit history, so tests see each cause's first warning."""
    with _lock:
        _last_logged.clear()
        _suppressed.clear()


def after_fork_in_child() -> None:
    """A lock held by another thread at fork time would stay locked in the child: replace it."""
    global _lock
    _lock = threading.Lock()
