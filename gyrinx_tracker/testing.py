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
from gyrinx_tracker._otel_logs import InMemoryLogRecordExporter, Record, memory_exporter
from gyrinx_tracker._outputs.text import span_hex, trace_hex

__all__ = ["Capture", "CapturedEvent", "MetricPoint", "capture_events"]


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

    def count(self, event: str, **attributes: Any) -> float:
        """The counter of ``event`` summed over series whose attributes include ``attributes``.

        Instrument names are case-insensitive in OpenTelemetry (the SDK exports them lower-cased),
        so ``count("Login")`` finds ``tracker.login``.
        """
        name = f"tracker.{event}".lower()
        return sum(point.value or 0 for point in self.metric_points()
                   if point.name.lower() == name
                   and attributes.items() <= point.attributes.items())

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
        labels=body["labels"],
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
