"""One million events with unique ids, in a fresh process: do memory or the metric series grow?

``python -m benchmarks.cardinality EVENTS`` prints one JSON object. Local mode with an in-memory
metric reader, so the label routing (docs/metrics.md, "Metrics and cardinality") runs on every event. Each event has a
unique ``user_id`` and ``list_id``, a ``path`` embedding the list id (unique, not named like an id)
and ``endpoint``, ``method``, ``status``, whose exact counts are compared with the exported series.
The producer flushes every ``PACE`` events, so all of them are processed rather than dropped.
"""

from __future__ import annotations

import collections
import gc
import json
import sys
from typing import Any

import gyrinx_tracker
from benchmarks.impls import Env, Sink, ours_local
from benchmarks.load import status_mb
from benchmarks.workload import EVENT, low_cardinality, unique_calls
from gyrinx_tracker._integrations.testing import MemoryMetricExporter

PACE, WARM_UP = 10_000, 20_000
SERIES_CAP = 500  # metric_series_per_event, set explicitly so the check knows it


def feed(start: int, stop: int) -> float:
    """Track events ``start``..``stop`` in paced batches; the highest RSS seen with a full queue."""
    highest = 0.0
    for first in range(start, stop, PACE):
        for value, labels in unique_calls(first, min(first + PACE, stop)):
            gyrinx_tracker.track(EVENT, 1, value, **labels)
        highest = max(highest, status_mb("VmRSS"))
        gyrinx_tracker.flush(60)
    return highest


def main(events: int) -> dict[str, Any]:
    sink, exporter = Sink(), MemoryMetricExporter()  # our own aggregation, read back as MetricsData
    ours_local(Env(sink, ours={"metric_series_per_event": SERIES_CAP, "metric_exporter": exporter}), metrics=False)
    feed(events, events + WARM_UP)  # ids that never recur: caches and instruments exist before the baseline
    gc.collect()
    baseline = status_mb("VmRSS")
    growth = max(feed(0, events), status_mb("VmRSS")) - baseline
    expected = collections.Counter(low_cardinality(i) for i in range(events + WARM_UP))
    stats = gyrinx_tracker.stats()
    sink.close()
    return {"events": events, "growth_mb": growth, "baseline_mb": baseline, "peak_rss_mb": status_mb(),
            "dropped": stats["dropped"], "folded_labels": stats["folded_metric_labels"],
            "folded_series": stats["folded_metric_series"], "combinations": len(expected),
            **_check(exporter.latest, expected)}


def _check(data: Any, expected: collections.Counter[tuple[str, str, int]]) -> dict[str, Any]:
    """Per instrument: series, attribute keys, overflow, and whether every low-cardinality count is exact."""
    result: dict[str, Any] = {}
    for metric in (m for rm in data.resource_metrics for sm in rm.scope_metrics for m in sm.metrics):
        if metric.name.startswith(f"tracker.{EVENT}"):
            found: collections.Counter[tuple[Any, ...]] = collections.Counter()
            keys, overflow = set[str](), 0
            for point in metric.data.data_points:
                attributes = dict(point.attributes or {})
                keys.update(attributes)
                amount = int(point.count if hasattr(point, "count") else point.value)
                overflow += amount if attributes.get("otel.metric.overflow") else 0
                found[tuple(attributes.get(key) for key in ("endpoint", "method", "status"))] += amount
            result[metric.name] = {"series": len(metric.data.data_points), "keys": sorted(keys),
                                   "overflow": overflow, "exact": found == expected}
    return result


if __name__ == "__main__":
    print(json.dumps(main(int(sys.argv[1]))))
