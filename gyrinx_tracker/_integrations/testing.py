"""Capture tracked events in tests, as plain data: ``with capture_events() as captured: ...``.

Built on the SDK's in-memory log exporter and an in-memory metric exporter that keeps the last
``MetricsData`` the pipeline exported, so what a test sees is what the real pipeline produced
(validation, redaction, record building, metric routing and aggregation), minus the
output. Strict mode is on by default: bad input in the code under test raises
``TrackerInputError`` at the call site instead of warning.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from opentelemetry.sdk.metrics.export import (
    HistogramDataPoint,
    MetricExporter,
    MetricExportResult,
    MetricsData,
    NumberDataPoint,
)

from gyrinx_tracker import _api
from gyrinx_tracker._outputs.shared.text import span_hex, trace_hex
from gyrinx_tracker._signals.otel_logs import InMemoryLogRecordExporter, Record, memory_exporter

__all__ = ["Capture", "CapturedEvent", "MetricLabelError", "MetricPoint", "Tracked", "capture_events"]


@dataclass(frozen=True)
class CapturedEvent:
    """One exported log record, reduced to what a test asserts on."""

    event: str
    n: int
    value: float | None
    labels: dict[str, Any]
    body: dict[str, Any]
    attributes: dict[str, Any]
    severity: str | None
    timestamp_ns: int
    trace_id: str | None
    span_id: str | None
    trace_sampled: bool


@dataclass(frozen=True)
class MetricPoint:
    """One metric series: counters have ``value``; histograms ``count``, ``sum`` and ``buckets``."""

    name: str
    unit: str
    attributes: dict[str, Any]
    value: float | None = None
    count: int | None = None
    sum: float | None = None
    buckets: tuple[int, ...] = ()


class Capture:
    """What the tracker produced since the capture began; reading flushes the pipeline first."""

    def __init__(self, logs: InMemoryLogRecordExporter, metrics: MemoryMetricExporter) -> None:
        self._logs = logs
        self._metrics = metrics

    @property
    def events(self) -> list[CapturedEvent]:
        """Every event exported so far, in order."""
        _api.flush(10.0)
        return [_event(record) for record in self._logs.get_finished_logs()]

    def metric_points(self) -> list[MetricPoint]:
        """Every metric series with its current (cumulative) value."""
        _api.flush(10.0)  # a flush exports every series' cumulative total
        data = self._metrics.latest
        if data is None:
            return []
        return [point
                for resource in data.resource_metrics
                for scope in resource.scope_metrics
                for metric in scope.metrics
                for point in _points(metric)]

    def count(self, event: str, /, **attributes: Any) -> float:
        """The counter of ``event`` summed over series whose attributes include ``attributes``.

        Instrument names are case-insensitive in OpenTelemetry (the SDK exports them lower-cased),
        so ``count("Login")`` finds ``tracker.login``.
        """
        name = f"tracker.{event}".lower()
        points = [point for point in self.metric_points() if point.name.lower() == name]
        _check_carried(event, attributes, points, self.events)
        return sum(point.value or 0 for point in points if attributes.items() <= point.attributes.items())

    def histogram(self, event: str, /, **attributes: Any) -> tuple[int, float]:
        """(count, sum) of ``event``'s value histogram over series whose attributes include ``attributes``."""
        name = f"tracker.{event}.value".lower()
        points = [point for point in self.metric_points() if point.name.lower() == name]
        _check_carried(event, attributes, points, self.events)
        chosen = [point for point in points if attributes.items() <= point.attributes.items()]
        return sum(point.count or 0 for point in chosen), sum(point.sum or 0.0 for point in chosen)

    def clear(self) -> None:
        """Forget the events captured so far (metrics are cumulative and stay)."""
        _api.flush(10.0)
        self._logs.clear()


@contextmanager
def capture_events(strict: bool = True, **options: Any) -> Iterator[Capture]:
    """Route ``track()`` into memory for the duration of the block, then restore the default."""
    logs = memory_exporter()
    metrics = MemoryMetricExporter()
    options.setdefault("global_providers", "never")
    options.setdefault("handle_sigterm", False)
    options.setdefault("mirror_to_logger", True)  # pytest's caplog sees the events too
    _api.configure(exporter="console", log_exporter=logs, metric_exporter=metrics, strict=strict, **options)
    try:
        yield Capture(logs, metrics)
    finally:
        _api.reset()


class MemoryMetricExporter(MetricExporter):
    """Keeps the last exported ``MetricsData``: the totals are cumulative, so it holds every series."""

    def __init__(self) -> None:
        super().__init__(preferred_temporality={}, preferred_aggregation={})
        self.latest: MetricsData | None = None

    def export(self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kwargs: Any) -> MetricExportResult:
        self.latest = metrics_data
        return MetricExportResult.SUCCESS

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        return True

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: Any) -> None:
        return None


def _event(record: Record) -> CapturedEvent:
    log = record.log_record
    body: dict[str, Any] = dict(log.body)  # type: ignore[arg-type]
    return CapturedEvent(
        event=body["event"],
        n=body["n"],
        value=body.get("value"),
        labels=body.get("labels", {}),
        body=body,
        attributes=dict(log.attributes or {}),
        severity=log.severity_text,
        timestamp_ns=log.timestamp or 0,
        trace_id=trace_hex(log.trace_id) if log.trace_id else None,
        span_id=span_hex(log.span_id) if log.span_id else None,
        trace_sampled=bool(log.trace_flags and log.trace_flags.sampled),
    )


def _points(metric: Any) -> Iterator[MetricPoint]:
    for point in metric.data.data_points:
        attributes = dict(point.attributes or {})
        if isinstance(point, NumberDataPoint):
            yield MetricPoint(metric.name, metric.unit, attributes, value=point.value)
        elif isinstance(point, HistogramDataPoint):
            yield MetricPoint(metric.name, metric.unit, attributes, count=point.count, sum=point.sum,
                              buckets=tuple(point.bucket_counts))


class MetricLabelError(AssertionError):
    """A metric question about a label that metrics do not carry: it would always answer 0."""


def _check_carried(event: str, attributes: dict[str, Any], points: list[MetricPoint],
                   events: list[CapturedEvent]) -> None:
    """Raise ``MetricLabelError`` for a label the metrics of ``event`` cannot carry, saying why."""
    carried = {key for point in points for key in point.attributes}
    for key in attributes:
        if key in carried:
            continue
        why = _why_not_carried(event, key, events)
        if why is not None:
            raise MetricLabelError(f"the metrics of {event!r} do not carry the label {key!r}: {why}; "
                                   f"ask the events instead, e.g. tracked.assert_tracked({event!r}, {key}=...)")


def _why_not_carried(event: str, key: str, events: list[CapturedEvent]) -> str | None:
    """The routing rule's reason (see docs/metrics.md, "Metrics and cardinality"), or None if 0 is a fair answer."""
    from gyrinx_tracker._signals.metrics import is_id_like

    config = _api.current_config()
    allow = config.metric_labels.get(event) if config is not None else None
    if allow is not None and key not in allow:
        return f"metric_labels allows only {sorted(allow)} for this event"
    if allow is None and is_id_like(key):
        return "it names one thing (an id, user, email, ip or url), and such keys stay out of metrics " \
               "to bound their cardinality"
    if key.startswith("_"):
        return "keys starting with '_' are the tracker's own and stay out of metrics"
    if any(e.event.lower() == event.lower() and key in e.labels for e in events):
        return "it took more distinct values than metric_label_values allows and was folded " \
               "(or its values are not short scalars)"
    return None


class Tracked:
    """Assertions over what the code under test tracked: events, counters and histograms.

    The ``tracked`` fixture of the pytest plugin gives one, built on ``capture_events()``; events
    reach the ``gyrinx.tracker`` logger too, so ``caplog`` assertions keep working beside it.
    """

    def __init__(self, capture: Capture) -> None:
        self.capture = capture

    @property
    def events(self) -> list[CapturedEvent]:
        """Every event tracked so far in this test, in order."""
        return self.capture.events

    def named(self, event: str, /, **labels: Any) -> list[CapturedEvent]:
        """The events called ``event`` whose labels include ``labels``."""
        return [e for e in self.events if e.event == event and labels.items() <= e.labels.items()]

    def assert_tracked(self, event: str, /, *, n: int | None = None, value: float | None = None,
                       times: int | None = None, **labels: Any) -> list[CapturedEvent]:
        """``event`` was tracked (exactly ``times`` times, if given) with these labels, n and value."""
        found = [e for e in self.named(event, **labels)
                 if (n is None or e.n == n) and (value is None or e.value == value)]
        if not found or (times is not None and len(found) != times):
            wanted = "at least once" if times is None else f"exactly {times} times"
            raise AssertionError(f"expected {event!r} with {_shown(labels, n, value)} {wanted}, found "
                                 f"{len(found)}; tracked: {self._summary()}")
        return found

    def assert_not_tracked(self, event: str, /, **labels: Any) -> None:
        """No ``event`` with these labels was tracked."""
        found = self.named(event, **labels)
        if found:
            raise AssertionError(f"expected no {event!r} with {_shown(labels)}, found {len(found)}: "
                                 f"{[e.body for e in found]}")

    def counter(self, event: str, **attributes: Any) -> float:
        """The counter of ``event``, over the series whose attributes include ``attributes``."""
        return self.capture.count(event, **attributes)

    def histogram(self, event: str, /, **attributes: Any) -> tuple[int, float]:
        """(count, sum) of the value histogram of ``event``, over the matching series."""
        return self.capture.histogram(event, **attributes)

    def assert_metrics_match_events(self, event: str) -> None:
        """The counter is the sum of n and the histogram the count and sum of values of the events."""
        events = self.named(event)
        values = [e.value for e in events if e.value is not None and e.value >= 0]
        implied = (sum(e.n for e in events), len(values), sum(values))
        measured = (self.counter(event), *self.histogram(event))
        if implied[:2] != measured[:2] or abs(implied[2] - measured[2]) > 1e-9 * max(1.0, abs(implied[2])):
            raise AssertionError(f"{event!r}: events imply counter, histogram count and sum {implied}, "
                                 f"metrics hold {measured}")

    def clear(self) -> None:
        """Forget the events so far (metrics are cumulative and stay)."""
        self.capture.clear()

    def _summary(self) -> str:
        return ", ".join(f"{e.event}{e.labels or ''}" for e in self.events[-20:]) or "nothing"


def _shown(labels: dict[str, Any], n: int | None = None, value: float | None = None) -> str:
    parts = [f"{key}={item!r}" for key, item in labels.items()]
    parts += [f"n={n}"] * (n is not None) + [f"value={value}"] * (value is not None)
    return ", ".join(parts) or "any labels"
