"""The tracker's own voice: rate-limited warnings about bad input, configuration and failures.

A telemetry library that floods the application's logs is as bad as one that crashes it, so every
warning has a key: the first occurrence of a key is let through at once, repeats within the window
are counted, and the next one let through says how many were held back. ``RateLimit`` is that rule,
the only one: ``warn_limited`` applies it to the tracker's own warnings, and
``_outputs.shared.exporter_logs`` to the OpenTelemetry exporters' log lines (keyed by message).

A key is ``(cause, event, detail)``, not the cause alone: ``track(None)`` and then ``track(123)``,
or a second event's different catalogue violation, are different news and each is shown. So
that a loop of distinct bad names cannot flood the log either, one cause gets at most
``KEYS_PER_CAUSE`` keys of its own per window; past them its messages share one key. What was
held back is never silent: the next message of its key says how many, ``stats()`` counts them
(``warnings_suppressed``), and at exit one line reports those no later message mentioned.

One voice: every message starts with ``PREFIX``, names the variable, option or argument, the bad
value and what is used instead. The records carry the trace attributes the event records carry
(``otelTraceID``, ``otelSpanID``, ``otelTraceSampled``, and ``trace``/``span_id``/``trace_sampled``
inside a span), so a format string that works for events works for these lines too.

The logger is ``gyrinx_tracker``, never ``gyrinx.tracker``: that one carries the events
themselves, and an application routing it to an events file must not find our complaints there.
"""

from __future__ import annotations

import os
import threading
import time
from collections import Counter
from collections.abc import Hashable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import logging

RATE_LIMIT_SECONDS = 60.0
LOGGER_NAME = "gyrinx_tracker"
PREFIX = "gyrinx_tracker: "
KEYS_PER_CAUSE = 20
_OTHERS = "(others)"


class RateLimit:
    """At most one message per key per window; the repeats held back are counted for the next one.

    A key that is a tuple belongs to the cause in its first element, which may have at most
    ``keys_per_cause`` keys of its own; the rest of that cause's keys are folded into one.
    """

    def __init__(self, window: float = RATE_LIMIT_SECONDS, max_keys: int = 1_000,
                 keys_per_cause: int = KEYS_PER_CAUSE) -> None:
        self.window = window
        self._max_keys = max_keys  # past it, a new key's messages are let through, uncounted
        self._keys_per_cause = keys_per_cause
        self._lock = threading.RLock()  # re-entrant: a signal handler may warn while this thread does
        self._last: dict[Hashable, float] = {}
        self._held: dict[Hashable, int] = {}
        self._per_cause: Counter[Hashable] = Counter()
        self.suppressed = 0  # every message held back since the process began (or the last reset)

    def admit(self, key: Hashable) -> int | None:
        """None to hold the message back; else how many of the key's were held back since the last."""
        now = time.monotonic()
        with self._lock:
            key = self._bounded(key)
            last = self._last.get(key)
            if last is not None and now - last < self.window:
                self._held[key] = self._held.get(key, 0) + 1
                self.suppressed += 1
                return None
            if last is None and len(self._last) >= self._max_keys:
                return 0
            if last is None and isinstance(key, tuple) and key:
                self._per_cause[key[0]] += 1
            self._last[key] = now
            return self._held.pop(key, 0)

    def _bounded(self, key: Hashable) -> Hashable:
        """``key``, or its cause's shared key once the cause has used up its own keys."""
        if not isinstance(key, tuple) or len(key) < 2 or key in self._last:
            return key
        cause = key[0]
        if self._per_cause[cause] >= self._keys_per_cause:
            return (cause, _OTHERS)
        return key

    def take_held(self) -> dict[Hashable, int]:
        """The counts held back that no later message reported yet, forgotten as they are returned."""
        with self._lock:
            held, self._held = self._held, {}
        return held

    def reset(self) -> None:
        """Forget the history, so each key's next message is let through."""
        with self._lock:
            self._last.clear()
            self._held.clear()
            self._per_cause.clear()
            self.suppressed = 0

    def after_fork_in_child(self) -> None:
        """A lock held by another thread at fork time would stay locked in the child: replace it."""
        self._lock = threading.RLock()


LIMIT = RateLimit()


def warn_limited(cause: Hashable, message: str, *args: object) -> None:
    """Log ``PREFIX + message`` now unless ``cause`` (a key: text, or ``(cause, event, detail)``)
    was logged within the rate-limit window."""
    held = LIMIT.admit(cause)
    if held is None:
        return
    if held:
        message += " (%d similar warnings suppressed)"
        args = (*args, held)
    _say(PREFIX + message, args)


def _say(message: str, args: tuple[object, ...]) -> None:
    """At WARNING through ``gyrinx_tracker``; when a ``dictConfig`` disabled that logger (its default
    disables every logger created before it), straight to its handlers and its ancestors': a
    warning about lost events must not be lost with them."""
    logger = _logger()
    if not logger.disabled:
        logger.warning(message, *args)
        return
    import logging

    if logger.getEffectiveLevel() <= logging.WARNING and logger.manager.disable < logging.WARNING:
        record = logger.makeRecord(logger.name, logging.WARNING, "(gyrinx_tracker)", 0, message, args, None)
        _TRACE_FILTER.filter(record)
        logger.callHandlers(record)


def suppressed() -> int:
    """How many warnings the rate limit held back since the process began (``stats()``)."""
    return LIMIT.suppressed


def report_suppressed() -> None:
    """At exit: one line for the warnings held back that no later message reported."""
    held = LIMIT.take_held()
    total = sum(held.values())
    if not total:
        return
    causes: Counter[str] = Counter()
    for key, count in held.items():
        causes[str(key[0] if isinstance(key, tuple) and key else key)] += count
    shown = ", ".join(f"{cause} {count}" for cause, count in causes.most_common())
    _say(PREFIX + "%d similar warnings suppressed since their last report (by cause: %s)", (total, shown))


def _logger() -> logging.Logger:
    # Imported here, not at ``import gyrinx_tracker``: a clean run never warns, and ``logging``
    # (with traceback, linecache, tokenize) would be most of what importing us costs.
    import logging

    logger = logging.getLogger(LOGGER_NAME)
    if _TRACE_FILTER not in logger.filters:  # a dictConfig naming this logger replaces its filters
        logger.addFilter(_TRACE_FILTER)
    return logger


class _TraceFields:
    """A logger filter (``logging`` accepts any object with ``filter``) giving each record the trace
    attributes, unless a record factory (OpenTelemetry's logging instrumentation) already did."""

    def filter(self, record: Any) -> bool:
        if not hasattr(record, "otelTraceID"):
            for key, value in trace_fields().items():
                setattr(record, key, value)
        return True


_TRACE_FILTER = _TraceFields()


def trace_fields() -> dict[str, object]:
    """The current span's trace attributes, as the event records carry them ("0" outside a span)."""
    from opentelemetry.trace import get_current_span

    span = get_current_span().get_span_context()
    if not span.trace_id:
        return {"otelTraceID": "0", "otelSpanID": "0", "otelTraceSampled": False}
    trace_id, span_id = format(span.trace_id, "032x"), format(span.span_id, "016x")
    sampled = bool(span.trace_flags.sampled)
    project = os.environ.get("GOOGLE_CLOUD_PROJECT", "")
    return {"otelTraceID": trace_id, "otelSpanID": span_id, "otelTraceSampled": sampled,
            "trace": f"projects/{project}/traces/{trace_id}" if project else trace_id,
            "span_id": span_id, "trace_sampled": sampled}


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
    data = (PREFIX + line)[:_LINE_MAX].encode(errors="replace") + b"\n"  # one voice: the prefix of every warning
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
