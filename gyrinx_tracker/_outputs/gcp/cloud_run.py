"""Cloud Run's structured logging: one JSON object per line on stdout.

Cloud Run's logging agent turns each line into an entry: ``severity``, ``time`` and the
``logging.googleapis.com/*`` keys become entry fields, everything else the ``jsonPayload``. So the
original payload sits at the top level and ``jsonPayload.event="..."`` queries work unchanged. The
entries land in the ``run.googleapis.com/stdout`` log (the agent chooses the log name), not in
``tracker``; use the ``api`` transport when the log name matters.

The lines are written straight from the events (an ``EventLogWriter``): building an SDK log
record per event, only to read its time, trace and body back, cost about as much as the original
tracker's whole call. Each line is the text ``encode_json`` gives for the entry
``{"severity", "time", trace fields?, **payload}``, concatenated from parts that repeat: the
opening up to the second of the time (once per second), the trace fields (once per context in a
row), the event's name (once per name); only the labels go through the JSON encoder. A line long
enough to approach the entry limit is made again from the entry dict through ``fit``, the one
place that salvages an oversized entry. ``tests/unit/test_cloud_run_lines.py`` compares the lines
with the record-based ones this replaced.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from typing import Any, TextIO

from opentelemetry.context import Context, get_current
from opentelemetry.trace import get_current_span

from gyrinx_tracker._core.event import Event
from gyrinx_tracker._outputs.shared.fast_json import encode_json
from gyrinx_tracker._outputs.shared.limits import ENTRY_LIMIT, fit
from gyrinx_tracker._outputs.shared.linewriter import deliver_lines
from gyrinx_tracker._outputs.shared.text import rfc3339, span_hex, trace_hex
from gyrinx_tracker._pipeline.port import Delivery
from gyrinx_tracker._signals.writers import Bodies, with_bodies

TRACE = "logging.googleapis.com/trace"
SPAN = "logging.googleapis.com/spanId"
SAMPLED = "logging.googleapis.com/trace_sampled"

_SIZE_CHECK = ENTRY_LIMIT // 4  # a line this short cannot exceed the limit even in 4-byte UTF-8
_CACHE_LIMIT = 10_000
_OPENING = '{"severity":"INFO","time":"'


class _Heads(dict[str, str]):
    """``,"event":<name>,"n":`` per event name, encoded at its first look-up (at most ``_CACHE_LIMIT`` kept)."""

    def __missing__(self, name: str) -> str:
        head = ',"event":' + encode_json(name) + ',"n":'
        if len(self) < _CACHE_LIMIT:
            self[name] = head
        return head


class CloudRunStdoutWriter:
    """Writes Cloud Run structured JSON lines, each whole even when other processes share stdout."""

    def __init__(self, project_id: str | None, stream: TextIO | None = None) -> None:
        self._trace_prefix = f"projects/{project_id}/traces/" if project_id else None
        self._stream = stream
        self._heads = _Heads()
        self._second = -1
        self._opening = ""  # _OPENING and the time up to its second, for self._second
        self._context: Context | None = None  # the last context seen, and its trace fields' text
        self._trace = ""

    def bind(self, resource: Any, scope: Any, attribute_limit: int, value_length_limit: int | None) -> None:
        """Nothing to take: this output writes no attribute, resource or scope."""

    def entry(self, event: Event, body: dict[str, Any]) -> dict[str, Any]:
        """The entry as a dict: severity, time, trace fields, then the payload's own keys (the
        record-based writer's dict, kept for the rare line that needs ``fit`` and for given bodies)."""
        entry: dict[str, Any] = {"severity": "INFO", "time": rfc3339(event.time_ns or time.time_ns())}
        span = get_current_span(event.context or get_current()).get_span_context()
        if span.trace_id and self._trace_prefix:
            entry[TRACE] = self._trace_prefix + trace_hex(span.trace_id)
            entry[SPAN] = span_hex(span.span_id or 0)
            entry[SAMPLED] = bool(span.trace_flags and span.trace_flags.sampled)
        entry.update(body)
        return entry

    def _trace_of(self, resolved: Context) -> str:
        """The trace fields' text (empty without a trace) of a context, as the SDK's record would
        carry them; remembered for the next event with the same context."""
        span = get_current_span(resolved).get_span_context()
        trace = ""
        if span.trace_id and self._trace_prefix:
            sampled = "true" if span.trace_flags and span.trace_flags.sampled else "false"
            trace = (f',"{TRACE}":' + encode_json(self._trace_prefix + trace_hex(span.trace_id))
                     + f',"{SPAN}":"{span_hex(span.span_id or 0)}","{SAMPLED}":{sampled}')
        self._context, self._trace = resolved, trace
        return trace

    def lines(self, events: Sequence[Event], bodies: Bodies = None) -> list[str]:
        """One line (ending in a newline) per event; a body of None is the event's payload."""
        heads, encode, trace_of = self._heads, encode_json, self._trace_of
        # The record's context: the caller's, or the worker's when the caller's was empty (as
        # LogRecord does); nothing in this loop can change the worker's, so it is read once.
        worker_context = get_current()
        out: list[str] = []
        append = out.append
        for event, body in with_bodies(events, bodies):
            if body is not None:
                append(self._generic(event, body))
                continue
            time_ns = event.time_ns or time.time_ns()
            second, rest = divmod(time_ns, 1_000_000_000)
            if second != self._second:
                self._second = second
                self._opening = _OPENING + rfc3339(time_ns)[:20]  # YYYY-MM-DDTHH:MM:SS.
            context = event.context or worker_context
            trace = self._trace if context is self._context else trace_of(context)
            n, value, labels = event.n, event.value, event.labels
            count = repr(n) if type(n) is int else encode(n)  # repr: what the encoder writes for an int
            if value is None:
                tail = f',"labels":{encode(labels)}}}\n' if labels else "}\n"
            else:
                value_text = repr(value) if type(value) is float or type(value) is int else encode(value)
                tail = f',"value":{value_text},"labels":{encode(labels)}}}\n' if labels else f',"value":{value_text}}}\n'
            micros = str(1_000_000 + rest // 1000)  # "1" and the six digits: cheaper than a format spec
            line = f'{self._opening}{micros[1:]}Z"{trace}{heads[event.name]}{count}{tail}'
            append(line if len(line) <= _SIZE_CHECK else self._generic(event, None))
        return out

    def _generic(self, event: Event, body: dict[str, Any] | None) -> str:
        """A line from the entry dict, through ``fit``: a given body, or a line near the size limit."""
        if body is None:
            body = {"event": event.name, "n": event.n}
            if event.value is not None:
                body["value"] = event.value
            if event.labels:
                body["labels"] = event.labels
        text, _ = fit(self.entry(event, body), encode_json)
        return text + "\n"

    def write_events(self, events: Sequence[Event], bodies: Bodies = None) -> Delivery:
        return deliver_lines(self._stream or sys.stdout, self.lines(events, bodies), "stdout")

    def flush(self, timeout: float) -> bool:
        return True

    def shutdown(self, timeout: float) -> None:
        return None
