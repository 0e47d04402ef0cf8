"""The local default: the original tracker's payload through the ``gyrinx.tracker`` logger.

The original tracker did ``logger.info(json.dumps(payload))`` on that logger, and its users' tests
read it back with pytest's ``caplog``. So each event becomes one stdlib ``LogRecord`` whose
message is exactly that text (``{"event", "n", "value"?, "labels"?}``), and everything else
travels the way the logging ecosystem already reads it:

* time and severity are the record's own (``created`` is the time of the call, level INFO);
* the calling thread (``thread``, ``threadName``) and the call site (``pathname``, ``module``,
  ``funcName``, ``lineno``) are the application's, not the exporter thread's or ours;
* the trace is in record attributes: ``otelTraceID``, ``otelSpanID``, ``otelTraceSampled`` (the
  names OpenTelemetry's logging instrumentation puts in format strings) and ``trace``,
  ``span_id``, ``trace_sampled`` (what google-cloud-logging's handlers read), so an app that keeps
  its own handlers gets correlation for free.

When the application configured no logging at all, Python would print nothing at INFO, so a
richer compact line (payload, time, severity, trace ids) goes to stderr instead: a developer
running a script sees their events. Those lines go through the line writer, so they stay whole
when forked workers share stderr.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Callable, Sequence
from types import CodeType
from typing import Any, TextIO

from opentelemetry.context import Context, get_current
from opentelemetry.trace import SpanContext, get_current_span

from gyrinx_tracker._core.event import Event, Site
from gyrinx_tracker._diagnostics import warn_limited
from gyrinx_tracker._outputs.local.discard import Discard, discard_of
from gyrinx_tracker._outputs.local.dispatch import dispatch, dispatch_messages, message_plan
from gyrinx_tracker._outputs.local.records import NO_TRACE, SOURCE, MakeMerged, maker
from gyrinx_tracker._outputs.shared.fast_json import encode_json, encode_like_dumps
from gyrinx_tracker._outputs.shared.limits import ENTRY_LIMIT, fit
from gyrinx_tracker._outputs.shared.linewriter import deliver_lines
from gyrinx_tracker._outputs.shared.text import rfc3339, span_hex, trace_hex
from gyrinx_tracker._pipeline.port import Delivery
from gyrinx_tracker._signals.records import SAMPLE_RATE, body_of
from gyrinx_tracker._signals.writers import Bodies, with_bodies
from gyrinx_tracker._stats import LOGGING_DISCARDED

EVENTS_LOGGER = "gyrinx.tracker"
_SIZE_CHECK = ENTRY_LIMIT // 4  # a line this short cannot exceed the limit even in 4-byte UTF-8
_NO_SITE = {"pathname": SOURCE, "filename": SOURCE, "module": SOURCE, "funcName": None, "lineno": 0}
_CACHE_LIMIT = 10_000


def message_of(body: dict[str, Any]) -> str:
    """The record's message: ``json.dumps(payload)``, as the original tracker logged it."""
    text = encode_like_dumps(body)
    return text if len(text) <= _SIZE_CHECK else _fitted(text, encode_like_dumps)


def _messages(events: Sequence[Event], bodies: Bodies) -> list[str]:
    """The records' messages: a given body's ``message_of``, or for the payload (no body),
    ``message_of(body_of(event))`` without the dict: the payload's fields in ``json.dumps``'
    spelling, only the labels through the JSON encoder. One comprehension, and the size check
    once for the batch (``max`` of the lengths, in C): a per-event branch and append is a visible
    share of an event's cost here."""
    if bodies is None:
        messages = _dumps_whole(events)
    else:
        messages = [_dumps_fields(event.name, event.n, event.value, event.labels, "}") if body is None
                    else encode_like_dumps(body) for event, body in zip(events, bodies, strict=True)]
    if messages and max(map(len, messages)) > _SIZE_CHECK:  # rare: some text may exceed the limit
        messages = [text if len(text) <= _SIZE_CHECK else _fitted(text, encode_like_dumps) for text in messages]
    return messages


def _console_line(body: dict[str, Any], time_ns: int, trace_id: int | None, span_id: int | None) -> str:
    """Concatenated rather than built as a dict and encoded whole: the fixed parts are constants,
    and only the labels go through the JSON encoder."""
    time = rfc3339(time_ns)
    line = _compact_fields(body["event"], body["n"], body.get("value"), body.get("labels"), "")
    rate = body.get(SAMPLE_RATE)  # only on entries kept by a sample rate below 1 (see _sampling)
    if rate is not None:
        line += f',"sample_rate":{rate!r}'
    line += f',"time":"{time}","severity":"INFO"'
    if trace_id:
        line += f',"trace_id":"{trace_hex(trace_id)}","span_id":"{span_hex(span_id or 0)}"}}'
    else:
        line += "}"
    return line if len(line) <= _SIZE_CHECK else _fitted(line, encode_json)


Fields = Callable[[str, int, "float | None", "dict[str, Any] | None", str], str]
Whole = Callable[[Sequence[Event]], list[str]]  # each event's payload, closed


def _spelling(encode: Callable[[Any], str], colon: str, comma: str) -> tuple[Fields, Whole]:
    """A function writing the payload's fields (``{"event":...,"n":...,"value"?,"labels"?``, then
    ``tail``: the closing brace, or nothing when more fields follow) in one JSON spelling,
    concatenated rather than built as a dict and encoded whole: only the labels go through the
    encoder. The part up to ``n`` is encoded once per event name, at its first look-up (at most
    ``_CACHE_LIMIT`` names are kept). A closure, not a class: its constants are cells, cheaper to
    read than attributes of ``self``. One f-string per shape, not a string grown piece by piece:
    one allocation and copy instead of four. With it, the same for a batch's payloads (``whole``),
    the per-event call inlined into one loop."""
    opening, count = f'{{"event"{colon}', f'{comma}"n"{colon}'
    value_key, labels_key = f'{comma}"value"{colon}', f'{comma}"labels"{colon}'

    class Heads(dict[str, str]):
        def __missing__(self, name: str) -> str:
            head = opening + encode(name) + count
            if len(self) < _CACHE_LIMIT:
                self[name] = head
            return head

    heads = Heads()

    def fields(name: str, n: int, value: float | None, labels: dict[str, Any] | None, tail: str) -> str:
        head = heads[name]
        count_text = repr(n) if type(n) is int else encode(n)  # repr: what the encoder writes for an int
        if value is None:
            return f"{head}{count_text}{labels_key}{encode(labels)}{tail}" if labels else f"{head}{count_text}{tail}"
        value_text = repr(value) if type(value) is float or type(value) is int else encode(value)  # and a finite float
        if labels:
            return f"{head}{count_text}{value_key}{value_text}{labels_key}{encode(labels)}{tail}"
        return f"{head}{count_text}{value_key}{value_text}{tail}"

    def whole(events: Sequence[Event]) -> list[str]:
        """``fields(..., "}")`` of each event's payload, the call inlined (a tenth of its cost here)."""
        made: list[str] = []
        append = made.append
        for event in events:
            n, value, labels = event.n, event.value, event.labels
            count_text = repr(n) if type(n) is int else encode(n)
            if value is None:
                append(f"{heads[event.name]}{count_text}{labels_key}{encode(labels)}}}" if labels
                       else f"{heads[event.name]}{count_text}}}")
                continue
            value_text = repr(value) if type(value) is float or type(value) is int else encode(value)
            append(f"{heads[event.name]}{count_text}{value_key}{value_text}{labels_key}{encode(labels)}}}" if labels
                   else f"{heads[event.name]}{count_text}{value_key}{value_text}}}")
        return made

    return fields, whole


_compact_fields, _ = _spelling(encode_json, ":", ",")  # the stderr lines' compact JSON
_dumps_fields, _dumps_whole = _spelling(encode_like_dumps, ": ", ", ")  # the records' messages, as json.dumps writes them


def _line(code: CodeType, offset: int) -> int:
    """The source line of the instruction at ``offset`` (what ``frame.f_lineno`` would have said)."""
    for start, end, line in code.co_lines():
        if start <= offset < end and line is not None:
            return line
    return code.co_firstlineno


def _fitted(text: str, encode: Any) -> str:
    """The rare oversized text, rebuilt with its largest labels dropped until it fits."""
    fitted, _ = fit(json.loads(text), encode)
    return fitted


class LocalJsonWriter:
    """Hands each record to the ``gyrinx.tracker`` logger's handlers, or writes stderr if unconfigured."""

    def __init__(self, project_id: str | None = None, logger_name: str = EVENTS_LOGGER,
                 fallback: TextIO | None = None, stderr_fallback: bool = True) -> None:
        self._logger = logging.getLogger(logger_name)
        self._fallback = fallback
        self._stderr_fallback = stderr_fallback
        self._trace_prefix = f"projects/{project_id}/traces/" if project_id else ""
        self._sites: dict[tuple[CodeType, int], dict[str, Any]] = {}
        self._maker: tuple[dict[str, Any], MakeMerged] | None = None
        self._factory: object = None  # the record factory self._maker was made for
        # (id of the site's code, offset, thread ident, thread name) → (the code, its base): the code
        # object is kept by its entry, so its id cannot be reused while the entry exists (hashing the
        # code object itself costs a walk of its constants per event).
        self._bases: dict[tuple[int, int, int | None, str | None], tuple[object, dict[str, Any]]] = {}
        self._context: Context | None = None
        self._trace: dict[str, Any] | None = None
        self._warned: set[str] = set()  # the discard causes already warned about

    def bind(self, resource: Any, scope: Any, attribute_limit: int, value_length_limit: int | None) -> None:
        """Nothing to take: this output writes no attribute, resource or scope."""

    def write_events(self, events: Sequence[Event], bodies: Bodies = None) -> Delivery:
        """One stdlib record (or, where every handler writes the bare message, one message) per
        event: the time, trace and caller come from the events, and the fields a call site and
        thread repeat are merged with the record template once (``_base``). A body of None (or no
        ``bodies``) is the event's payload, ``body_of(event)``."""
        logger = self._logger
        if not logger.hasHandlers():
            if not self._stderr_fallback:
                return Delivery(len(events))
            lines = []
            for event, body in with_bodies(events, bodies):
                span = self._span_of(event.context)
                lines.append(_console_line(body_of(event) if body is None else body, event.time_ns, span.trace_id,
                                           span.span_id) + "\n")
            return deliver_lines(self._fallback or sys.stderr, lines, "stderr")
        discard = discard_of(logger)
        if discard is not None:
            self._say_discarded(discard, len(events))
            return Delivery.failed(len(events), LOGGING_DISCARDED)
        made = self._current_maker()
        messages = _messages(events, bodies)
        # With an app's record factory every record is made through it, whoever reads it.
        plan = message_plan(logger) if self._factory is logging.LogRecord else None
        if plan is None:
            dispatch(logger, self._records(events, messages, *made))
        else:  # every handler writes the bare message: no record is needed, unless to report an error
            dispatch_messages(plan, messages,
                              lambda index: self._records([events[index]], [messages[index]], *made)[0])
        return Delivery(len(events))

    def _say_discarded(self, discard: Discard, count: int) -> None:
        """Once per cause per writer: the events are booked, the count is in ``stats()``."""
        if discard.cause in self._warned or not self._stderr_fallback:  # the mirror's events are not booked
            return
        self._warned.add(discard.cause)
        warn_limited(("logging_discarded", discard.cause),
                     "%d event(s) were discarded by the logging configuration: %s; they are counted as dropped "
                     "(logging_discarded), not exported. Fix: %s", count, discard.why, discard.fix)

    def _records(self, events: Sequence[Event], messages: Sequence[str], template: dict[str, Any],
                 make_merged: MakeMerged) -> list[logging.LogRecord]:
        """The records of the events, with their messages, from their bases; the trace look-up inlined (hot loop)."""
        bases, trace_of = self._bases, self._trace_fields
        made: list[logging.LogRecord] = []
        append = made.append
        for event, text in zip(events, messages, strict=True):
            thread, site, context = event.thread, event.site, event.context
            code, offset = site if site is not None else (None, 0)
            key = (id(code), offset, thread.ident, thread.name) if thread is not None else (id(code), offset, None, None)
            entry = bases.get(key)
            base = entry[1] if entry is not None else self._base(key, site, template)
            trace = self._trace if context is self._context and context is not None else trace_of(context)
            append(make_merged(base, text, event.time_ns, trace))
        return made

    def _base(self, key: tuple[int, int, int | None, str | None], site: Site | None,
              template: dict[str, Any]) -> dict[str, Any]:
        """The record template with a call site's and thread's fields and no trace, once per such pair."""
        _, _, ident, name = key
        base = {**template, **(_NO_SITE if site is None else self._site(*site)), **NO_TRACE}
        if ident is not None:
            base["thread"], base["threadName"] = ident, name
        if len(self._bases) >= _CACHE_LIMIT:
            self._bases.clear()
        self._bases[key] = (None if site is None else site[0], base)
        return base

    def _span_of(self, context: Context | None) -> SpanContext:
        """The span context of the caller's context, as the SDK's record would carry it."""
        return get_current_span(context or get_current()).get_span_context()

    def _trace_fields(self, context: Context | None) -> dict[str, Any] | None:
        """The trace attributes of a record (None without a trace: the base has the empty ones),
        worked out once per context in a row."""
        if context is self._context and context is not None:
            return self._trace
        span = self._span_of(context)
        trace = None
        if span.trace_id:
            trace_id, span_id = trace_hex(span.trace_id), span_hex(span.span_id or 0)
            sampled = bool(span.trace_flags and span.trace_flags.sampled)
            trace = {"otelTraceID": trace_id, "otelSpanID": span_id, "otelTraceSampled": sampled,
                     "trace": self._trace_prefix + trace_id, "span_id": span_id, "trace_sampled": sampled}
        self._context, self._trace = context, trace
        return trace

    def _site(self, code: CodeType, offset: int) -> dict[str, Any]:
        """The stdlib's record fields for a call site, worked out once per call site."""
        known = self._sites.get((code, offset))
        if known is None:
            path = code.co_filename
            filename = os.path.basename(path)
            known = {"pathname": path, "filename": filename, "module": os.path.splitext(filename)[0],
                     "funcName": code.co_name, "lineno": _line(code, offset)}
            if len(self._sites) < _CACHE_LIMIT:
                self._sites[(code, offset)] = known
        return known

    def _current_maker(self) -> tuple[dict[str, Any], MakeMerged]:
        """``records.maker``'s pair, made again (and the bases forgotten) if the record factory changed."""
        factory = logging.getLogRecordFactory()
        if self._maker is None or factory is not self._factory:
            self._maker, self._factory = maker(self._logger), factory
            self._bases.clear()
        return self._maker

    def flush(self, timeout: float) -> bool:
        return True

    def shutdown(self, timeout: float) -> None:
        return None
