"""The metric half of an output: where the worker's metric aggregates go, and when.

Two shapes, both driven only by the worker thread (no thread of their own: Cloud Run throttles
the CPU between requests, so a background exporter thread would stall there anyway):

* ``ExportedMeters``: our own aggregates (``_signals.metrics.Metrics``) handed as ``MetricsData`` to SDK
  ``MetricExporter`` objects (OTLP, Cloud Monitoring, a test's memory), or as they are to an
  ``AggregateExporter`` (the local JSON lines), every ``interval`` seconds, at every ``flush()``
  and once more at shutdown.
* ``SdkMeters``: the routed events replayed into an SDK meter provider's instruments, for the
  application's own provider or a ``metric_reader=``; the provider's readers decide the rest.

Both expose ``metrics.record(batch)``, the one call the outputs make per batch.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any, Protocol

from opentelemetry.metrics import Counter, Histogram, Meter
from opentelemetry.sdk.metrics.export import MetricExporter, MetricExportResult, MetricsData
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.util.instrumentation import InstrumentationScope

from gyrinx_tracker import _guard
from gyrinx_tracker._core.event import Event
from gyrinx_tracker._diagnostics import warn_limited
from gyrinx_tracker._signals.metric_data import metrics_data
from gyrinx_tracker._signals.metrics import PREFIX, EventMetrics, Key, Metrics
from gyrinx_tracker._stats import Stats


class Recorder(Protocol):
    def record(self, events: Sequence[Event]) -> None: ...


class MeterSide(Protocol):
    """What an output calls: ``metrics.record`` per batch, ``tick`` per worker wake-up."""

    @property
    def metrics(self) -> Recorder: ...

    def tick(self) -> None: ...

    def flush(self, timeout: float) -> bool: ...

    def shutdown(self, timeout: float) -> None: ...


class AggregateExporter(Protocol):
    """An exporter that reads the aggregates themselves, where building ``MetricsData`` for it
    would cost more than its export (the local lines: see ``_outputs.local.metric_lines``)."""

    def export_aggregates(self, metrics: Metrics, stats: Stats) -> bool: ...


class ExportedMeters:
    """Our aggregates exported through SDK metric exporters (or aggregate exporters), from the worker thread."""

    def __init__(self, metrics: Metrics, stats: Stats, exporters: Sequence[MetricExporter | AggregateExporter],
                 interval: float, resource: Resource, scope: tuple[str, str], timeout: float,
                 min_gap: float = 0.0) -> None:
        self.metrics = metrics
        self._stats = stats
        self._exporters = list(exporters)
        self._interval = interval
        self._timeout = timeout  # of a periodic export: it holds the worker, so the export timeout
        self._resource = resource
        self._scope = InstrumentationScope(*scope)
        self._start_ns = time.time_ns()  # cumulative series start with the pipeline
        self._due = time.monotonic() + interval
        self._gap_ns = int(min_gap * 1e9)
        self._last_end_ns = 0

    def tick(self) -> None:
        """Export when the interval is up; the worker calls this after each wake-up."""
        if time.monotonic() >= self._due:
            self.export(self._timeout)

    def flush(self, timeout: float) -> bool:
        return self.export(timeout)

    def shutdown(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        self.export(timeout)
        for exporter in self._exporters:
            if not isinstance(exporter, MetricExporter):
                continue  # an aggregate exporter holds nothing to shut down
            left = max(0.0, deadline - time.monotonic())
            try:
                exporter.shutdown(timeout_millis=left * 1000)
            except Exception as error:  # noqa: BLE001 - shutting down must finish for the others
                _guard.caught("metric exporter shutdown", error)

    def export(self, timeout: float) -> bool:
        """Every series' current total to every exporter; a failure is counted and warned about."""
        self._due = time.monotonic() + self._interval
        end_ns = self._end_time(timeout)
        data: MetricsData | None = None  # made for the first SDK exporter, shared by the others
        ok = True
        for exporter in self._exporters:
            try:
                if isinstance(exporter, MetricExporter):
                    if data is None:
                        data = metrics_data(self.metrics, self._stats, self._resource, self._scope,
                                            self._start_ns, end_ns)
                    done = exporter.export(data, timeout_millis=timeout * 1000) is MetricExportResult.SUCCESS
                else:
                    done = exporter.export_aggregates(self.metrics, self._stats)
            except Exception as error:  # noqa: BLE001 - an exporter bug must not stop the worker
                _guard.caught("metric export", error)
                done = False
            if not done:
                ok = False
                self._stats.metric_export_failed()
                warn_limited(f"metric_export:{type(exporter).__name__}", "could not export "
                             "metrics through %s; the totals are cumulative and go out with the next export",
                             type(exporter).__name__)
        return ok

    def _end_time(self, timeout: float) -> int:
        """The points' end time: now, unless that is within ``min_gap`` of the last export's.

        Cloud Monitoring refuses a point less than 5 s after the previous one of its series. A flush
        soon after an export is stamped ``min_gap`` after it instead (at most ``min_gap`` ahead of the
        clock; the totals are those of now), so neither a flush nor the last export at exit is lost
        or has to wait; only when even that would run further ahead does the worker wait, within
        half the ``timeout``.
        """
        now = time.time_ns()
        end = max(now, self._last_end_ns + self._gap_ns)
        ahead = end - now - self._gap_ns
        if ahead > 0:
            time.sleep(min(ahead / 1e9, timeout / 2))
            now = time.time_ns()
            end = max(now, self._last_end_ns + self._gap_ns)
        self._last_end_ns = end
        return end


class SdkInstruments:
    """Routed events replayed into an SDK meter: counters added once per series per batch, one
    ``Histogram.record`` per value (what the SDK needs to aggregate them itself)."""

    def __init__(self, meter: Meter, metrics: Metrics) -> None:
        self._meter = meter
        self._metrics = metrics
        self._counters: dict[EventMetrics, Counter] = {}
        self._histograms: dict[EventMetrics, Histogram] = {}
        self._attributes: dict[Key, dict[str, Any]] = {}
        self._unmetered = meter.create_counter(
            "gyrinx_tracker.unmetered", unit="{event}",
            description="Events beyond the metric_events cap: logged, but without instruments of their own")
        self._folded = meter.create_counter(
            "gyrinx_tracker.folded", unit="{attribute}",
            description="Metric label keys and series folded to bound cardinality")

    def record(self, events: Sequence[Event]) -> None:
        metrics = self._metrics
        unmetered, folded = metrics.unmetered, dict(metrics.folded)
        sums: dict[tuple[EventMetrics, Key], int] = {}
        for event_metrics, key, event in metrics.route_batch(events):
            if event.n:
                sums[(event_metrics, key)] = sums.get((event_metrics, key), 0) + event.n
            if event.value is not None and event.value >= 0:
                self._histogram(event_metrics).record(event.value, self._attributes_of(key))
        for (event_metrics, key), total in sums.items():
            self._counter(event_metrics).add(total, self._attributes_of(key))
        if metrics.unmetered > unmetered:
            self._unmetered.add(metrics.unmetered - unmetered)
        if metrics.folded != folded:
            for kind, count in metrics.folded.items():
                self._folded.add(count - folded[kind], {"kind": kind})

    def _attributes_of(self, key: Key) -> dict[str, Any]:
        attributes = self._attributes.get(key)
        if attributes is None:  # the SDK only reads it; bounded by the series budgets
            attributes = self._attributes[key] = dict(key)
        return attributes

    def _counter(self, event: EventMetrics) -> Counter:
        counter = self._counters.get(event)
        if counter is None:
            counter = self._counters[event] = self._meter.create_counter(
                PREFIX + event.name, unit="{event}", description=event.description)
        return counter

    def _histogram(self, event: EventMetrics) -> Histogram:
        histogram = self._histograms.get(event)
        if histogram is None:
            histogram = self._histograms[event] = self._meter.create_histogram(
                PREFIX + event.name + ".value", unit=event.unit,
                description=f"Distribution of the value of '{event.name}' events")
        return histogram


class SdkMeters:
    """Our instruments on an SDK meter provider; ``owned`` when the provider is ours to shut down."""

    def __init__(self, metrics: SdkInstruments, provider: Any, owned: bool) -> None:
        self.metrics = metrics
        self._provider = provider
        self._owned = owned

    def tick(self) -> None:
        return None  # the provider's own readers export on their schedule

    def flush(self, timeout: float) -> bool:
        return bool(self._provider.force_flush(timeout_millis=int(timeout * 1000)))

    def shutdown(self, timeout: float) -> None:
        if self._owned:
            self._provider.shutdown()
