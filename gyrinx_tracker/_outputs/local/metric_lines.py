"""Metrics visible on a laptop without a collector: one compact JSON line per series.

Lines go through the ``gyrinx.tracker.metrics`` logger at INFO, so the application's logging
configuration decides whether they show (``logging.getLogger("gyrinx.tracker.metrics")
.setLevel(logging.WARNING)`` silences them). When the application configured no logging at all,
they follow the event lines' rule and go to stderr: a developer running a script sees the totals
at exit. Only series whose totals changed since the last lines are written (an idle process
stays quiet), and ``gyrinx_tracker.exported`` is left out: the event lines already show it.

A counter line: ``{"metric":"tracker.api_call","unit":"{event}","attributes":{"status":200},"value":6}``.
A histogram line has ``count``, ``sum``, ``min``, ``max`` and ``buckets``: ``[upper bound, count]``
pairs for the non-empty buckets (upper bounds inclusive; the last is ``"+Inf"``). A sum past the
largest float, which JSON cannot hold, is written ``"+Inf"`` too.

Why it reads our aggregates (``_signals.metrics.Series``) rather than the SDK's ``MetricsData``: locally a
flush is a cost the application's own process pays in full, and that way much of it went to
building data points no one else read and most of the rest to encoding each whole line. Here a
series' start (name, unit, attributes) is encoded
once, "changed" is one integer compared (a counter's total, a histogram's count: both only grow),
and the line is the start plus its numbers. The tracker's own books, a handful of points, still
come from ``book_metrics``, so they cannot drift from what the other exporters send.

Each line is a stdlib record made as the event lines' are (``records``: no ``findCaller``,
a template's fields copied), stamped with the export's time and thread, its source fields
``(gyrinx_tracker)``, and the trace attributes of a record made outside a span (``NO_TRACE``), so
the format string that reads ``%(otelTraceID)s`` from the event lines reads it from these too.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable
from time import time_ns
from typing import Any, TextIO

from opentelemetry.sdk.metrics.export import NumberDataPoint

from gyrinx_tracker._outputs.local.dispatch import dispatch
from gyrinx_tracker._outputs.local.records import NO_TRACE, record_maker
from gyrinx_tracker._outputs.shared.fast_json import encode_json
from gyrinx_tracker._outputs.shared.linewriter import write_whole
from gyrinx_tracker._signals.metric_data import book_metrics
from gyrinx_tracker._signals.metrics import BOUNDARIES, PREFIX, Metrics, Series
from gyrinx_tracker._stats import Stats

METRICS_LOGGER = "gyrinx.tracker.metrics"
_QUIET = frozenset({"gyrinx_tracker.exported"})
_INF = '"+Inf"'
_BOUNDS = (*(repr(float(bound)) for bound in BOUNDARIES), _INF)  # as the JSON encoder writes them
# What a line's "changed" test compares with: the value last written, per counter series, per
# histogram series (its count) and per book point (metric name, attributes' JSON).
Mark = tuple[str, object]
Changed = list[tuple[Mark, object, str]]


def head(name: str, unit: str, attributes: dict[str, Any]) -> str:
    """A series line up to its numbers: ``{"metric":...,"unit":...,"attributes":{...},``."""
    return f'{{"metric":{encode_json(name)},"unit":{encode_json(unit)},"attributes":{encode_json(attributes)},'


def number(value: float) -> str:
    """A finite int or float as the JSON encoder writes it (``repr``); an overflowed sum as ``"+Inf"``."""
    return repr(value) if value - value == 0 else _INF


class LocalMetricLines:
    """Writes the changed series of our aggregates as JSON lines to a logger, or stderr if unconfigured.

    ``ExportedMeters`` calls ``export_aggregates`` where it hands SDK exporters ``MetricsData``.
    """

    def __init__(self, logger_name: str = METRICS_LOGGER, fallback: TextIO | None = None) -> None:
        self._logger = logging.getLogger(logger_name)
        self._fallback = fallback
        self._written: dict[Mark, object] = {}  # what was last written, per series
        self._heads: dict[Mark, str] = {}  # an event series' line start, per series

    def export_aggregates(self, metrics: Metrics, stats: Stats) -> bool:
        """Writes every series changed since the lines last written; False if some could not be."""
        changed = self._event_lines(metrics)
        changed.extend(self._book_lines(metrics, stats))
        if not changed:
            return True
        logger = self._logger
        written = len(changed)
        if not logger.hasHandlers():  # whole lines even when forked workers share stderr
            written, _error = write_whole(self._fallback or sys.stderr, [line + "\n" for _, _, line in changed])
        elif logger.isEnabledFor(logging.INFO):  # records as the event lines make them: no findCaller
            make, now = record_maker(logger), time_ns()
            dispatch(logger, [make(line, now, NO_TRACE) for _, _, line in changed])  # made off any span
        marks = self._written
        for mark, value, _ in changed[:written]:  # a line not written is still "changed" at the next export
            marks[mark] = value
        return written == len(changed)

    def _event_lines(self, metrics: Metrics) -> Changed:
        """Each event's changed counter series, then its changed histogram series."""
        changed: Changed = []
        written, heads = self._written, self._heads
        for event in metrics.events.values():
            name = PREFIX + event.name.lower()
            for series in event.series.values():
                total = series.total
                if total and written.get(mark := ("sum", series)) != total:
                    start = heads.get(mark) or self._head(mark, name, "{event}", series)
                    changed.append((mark, total, f'{start}"value":{total}}}'))
            for series in event.series.values():
                state = series.histogram
                if state is not None and written.get(mark := ("histogram", series)) != state[0]:
                    start = heads.get(mark) or self._head(mark, name + ".value", event.unit, series)
                    changed.append((mark, state[0], start + _histogram_numbers(state)))
        return changed

    def _head(self, mark: Mark, name: str, unit: str, series: Series) -> str:
        start = self._heads[mark] = head(name, unit, dict(series.key))  # bounded by the series budgets
        return start

    def _book_lines(self, metrics: Metrics, stats: Stats) -> Iterable[tuple[Mark, object, str]]:
        """The tracker's books (drops by reason, folds, ...), the points every exporter gets."""
        for metric in book_metrics(metrics, stats, 0, 0):
            if metric.name in _QUIET:
                continue
            for point in metric.data.data_points:
                if not isinstance(point, NumberDataPoint):  # the books are sums
                    continue
                attributes = dict(point.attributes or {})
                mark = (metric.name, encode_json(attributes))
                value = point.value
                if self._written.get(mark) != value:
                    yield mark, value, f'{head(metric.name, metric.unit or "", attributes)}"value":{value}}}'


def _histogram_numbers(state: list[Any]) -> str:
    """``"count":...,"sum":...,"min":...,"max":...,"buckets":[...]}`` of a histogram's state."""
    buckets = ",".join([f"[{bound},{count}]" for bound, count in zip(_BOUNDS, state[4:], strict=True) if count])
    return (f'"count":{state[0]},"sum":{number(state[1])},"min":{number(state[2])},"max":{number(state[3])},'
            f'"buckets":[{buckets}]}}')
