"""What recording metrics costs per event, through the public API only.

Standalone (the harness in benchmarks/run.py is being rebuilt): ``python benchmarks/metrics_cost.py``.
Local mode with the event lines going to a NullHandler, in four set-ups measured in interleaved
rounds (so drift in the machine's speed hits them alike):

* ``none``: no metric destination (``local_metrics=False``), the baseline;
* ``ours``: our worker-side aggregation, exported through a MetricExporter that discards
  (``metric_exporter=``), so the cost is recording plus one MetricsData per flush;
* ``local``: the default: our aggregation plus the JSON metric lines through ``gyrinx.tracker.metrics``;
* ``sdk``: the previous design, ``metric_reader=InMemoryMetricReader()``: the SDK's ``Counter.add``
  per series per batch and ``Histogram.record`` per value.

Cost = process CPU (all threads: the worker does the work) from the first ``track`` to the end of
``flush``, per event; the metrics' share = set-up minus ``none`` in the same round. Medians over
rounds with the spread of the per-round differences.
"""

from __future__ import annotations

import logging
import statistics
import sys
import time
from typing import Any

from opentelemetry.sdk.metrics.export import InMemoryMetricReader, MetricExporter, MetricExportResult, MetricsData

import gyrinx_tracker

EVENTS = 20_000
ROUNDS = 15


class Discard(MetricExporter):
    """Takes the MetricsData and drops it: what is left is the cost of recording and building it."""

    def __init__(self) -> None:
        super().__init__(preferred_temporality={}, preferred_aggregation={})

    def export(self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kwargs: Any) -> MetricExportResult:
        return MetricExportResult.SUCCESS

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        return True

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: Any) -> None:
        return None


SETUPS: dict[str, dict[str, Any]] = {
    "none": {"local_metrics": False},
    "ours": {"metric_exporter": None},  # filled per round: a fresh exporter
    "local": {"local_metrics": True},
    "sdk": {"metric_reader": None},
}
ENDPOINTS = ["/api/v1/fighters", "/api/v1/lists", "/lists/create", "/login", "/"]


def workload(count: int) -> None:
    """The first user's mix: request counters with an id label, and timed operations with values."""
    track = gyrinx_tracker.track
    for index in range(count):
        if index % 4 == 3:
            track("operation_duration", value=float(index % 700), operation="render")
        else:
            track("api_call", endpoint=ENDPOINTS[index % 5], method="GET", status=200 + index % 2,
                  user_id=f"u{index}")


def options(name: str) -> dict[str, Any]:
    chosen = dict(SETUPS[name])
    if "metric_exporter" in chosen:
        chosen["metric_exporter"] = Discard()
    if "metric_reader" in chosen:
        chosen["metric_reader"] = InMemoryMetricReader()
    return chosen


def one_round(name: str) -> float:
    gyrinx_tracker.configure(exporter="console", global_providers="never", handle_sigterm=False,
                             max_queue=EVENTS + 1, metric_interval=3600, **options(name))
    workload(200)  # the worker and its output are built before the clock starts
    assert gyrinx_tracker.flush(30)
    start = time.process_time()
    workload(EVENTS)
    assert gyrinx_tracker.flush(60)
    spent = time.process_time() - start
    books = gyrinx_tracker.stats()
    assert books["dropped"] == 0, books
    return spent / EVENTS * 1e6


def main() -> None:
    events = logging.getLogger("gyrinx.tracker")
    events.addHandler(logging.NullHandler())
    events.setLevel(logging.INFO)
    events.propagate = False
    results: dict[str, list[float]] = {name: [] for name in SETUPS}
    for _ in range(ROUNDS):
        for name in SETUPS:
            results[name].append(one_round(name))
    print(f"Python {sys.version.split()[0]}; {EVENTS} events x {ROUNDS} interleaved rounds; µs CPU per event")
    print(f"{'set-up':8} {'median':>8} {'metrics share (median, min..max)':>36}")
    for name, values in results.items():
        deltas = [value - base for value, base in zip(values, results["none"], strict=True)]
        share = "" if name == "none" else (
            f"{statistics.median(deltas):+.2f} ({min(deltas):+.2f}..{max(deltas):+.2f})")
        print(f"{name:8} {statistics.median(values):8.2f} {share:>36}")


if __name__ == "__main__":
    main()
