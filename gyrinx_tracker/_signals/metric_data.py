"""Our aggregates as the SDK's public metric data types, which every official exporter takes.

``MetricsData`` is what a ``MetricReader`` hands its ``MetricExporter``; building it ourselves lets
the OTLP exporter, Cloud Monitoring's, a test's in-memory exporter and our JSON lines share one
snapshot of exact, cumulative sums and histograms, without the SDK's per-measurement machinery.
Temporality is cumulative (every export carries each series' total since ``start_ns``, so a lost
export loses nothing) and the counters are monotonic sums, as the SDK's own counters export.
"""

from __future__ import annotations

from collections.abc import Iterator

from opentelemetry.sdk.metrics.export import (
    AggregationTemporality,
    Histogram,
    HistogramDataPoint,
    Metric,
    MetricsData,
    NumberDataPoint,
    ResourceMetrics,
    ScopeMetrics,
    Sum,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.util.instrumentation import InstrumentationScope

from gyrinx_tracker._signals.metrics import BOUNDARIES, PREFIX, EventMetrics, Key, Metrics
from gyrinx_tracker._stats import Stats

CUMULATIVE = AggregationTemporality.CUMULATIVE


def metrics_data(metrics: Metrics, stats: Stats, resource: Resource, scope: InstrumentationScope,
                 start_ns: int, now_ns: int) -> MetricsData:
    """One snapshot of every series: the events' counters and histograms, then the tracker's books."""
    found = [metric for event in metrics.events.values() for metric in event_metrics(event, start_ns, now_ns)]
    found.extend(book_metrics(metrics, stats, start_ns, now_ns))
    return MetricsData([ResourceMetrics(resource, [ScopeMetrics(scope, found, "")], "")])


def event_metrics(event: EventMetrics, start_ns: int, now_ns: int) -> Iterator[Metric]:
    """The counter of one event and, once it had a value, its histogram."""
    name = PREFIX + event.name.lower()
    sums = [NumberDataPoint(dict(s.key), start_ns, now_ns, s.total) for s in event.series.values() if s.total]
    if sums:
        yield Metric(name, event.description, "{event}", _sum(sums))
    histograms = [_histogram_point(s.key, s.histogram, start_ns, now_ns)
                  for s in event.series.values() if s.histogram is not None]
    if histograms:
        yield Metric(name + ".value", f"Distribution of the value of '{event.name}' events",
                     event.unit, Histogram(histograms, CUMULATIVE))


def book_metrics(metrics: Metrics, stats: Stats, start_ns: int, now_ns: int) -> Iterator[Metric]:
    """``gyrinx_tracker.dropped`` by reason, ``.exported``, and ``.sampled_out``/``.unmetered``/``.folded``
    once non-zero."""
    with stats.lock:
        dropped, exported, sampled_out = dict(stats.dropped), stats.exported, stats.sampled_out
    yield Metric("gyrinx_tracker.dropped", "Events lost, by reason (queue_full, export_failed, ...)", "{event}",
                 _sum([NumberDataPoint({"reason": r}, start_ns, now_ns, n) for r, n in dropped.items()]))
    yield Metric("gyrinx_tracker.exported", "Events handed to the output successfully", "{event}",
                 _sum([NumberDataPoint({}, start_ns, now_ns, exported)]))
    if sampled_out:
        yield Metric("gyrinx_tracker.sampled_out", "Events left out of the logs by a sample rate (their "
                     "metrics count them)", "{event}", _sum([NumberDataPoint({}, start_ns, now_ns, sampled_out)]))
    if metrics.unmetered:
        yield Metric("gyrinx_tracker.unmetered", "Events beyond the metric_events cap: logged, but without "
                     "instruments of their own", "{event}",
                     _sum([NumberDataPoint({}, start_ns, now_ns, metrics.unmetered)]))
    if any(metrics.folded.values()):
        yield Metric("gyrinx_tracker.folded", "Metric label keys and series folded to bound cardinality",
                     "{attribute}", _sum([NumberDataPoint({"kind": kind}, start_ns, now_ns, count)
                                          for kind, count in metrics.folded.items()]))


def _sum(points: list[NumberDataPoint]) -> Sum:
    return Sum(points, CUMULATIVE, is_monotonic=True)


def _histogram_point(key: Key, state: list[float], start_ns: int, now_ns: int) -> HistogramDataPoint:
    count, total, low, high = state[:4]
    return HistogramDataPoint(dict(key), start_ns, now_ns, int(count), total, [int(c) for c in state[4:]],
                              BOUNDARIES, low, high)
