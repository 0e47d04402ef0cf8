"""One million events with unique ids, in a fresh process: does memory or the metric series grow?

Run as ``python -m benchmarks.cardinality [EVENTS]``; prints one JSON object. Local mode writes
the lines to /dev/null and an in-memory metric reader collects the metrics, so the routing rule
(``gyrinx_tracker/_metrics.py``) is exercised on every event. Every event carries ``user_id`` and
``list_id`` unique to it, a ``path`` that embeds the list id (unique, but not named like an id) and
the low-cardinality ``endpoint``, ``method``, ``status``, whose exact counts are kept here to be
compared with the exported series.

The producer flushes every ``PACE`` events: at full speed a single exporter thread cannot keep up
with the caller, the queue would fill and most events would be dropped, which would prove nothing
about a million *processed* events. The queue therefore holds at most ``PACE`` events; its own
bound (``max_queue``) is what limits memory under overload, measured by the thread benchmark.
"""

from __future__ import annotations

import collections
import gc
import json
import os
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PACE = 10_000
WARM_UP = 20_000
OVERFLOW = "otel.metric.overflow"


def main(events: int) -> dict[str, Any]:
    sys.path.insert(0, str(ROOT))
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader

    import gyrinx_tracker
    from benchmarks.impls import events_logger_to
    from benchmarks.threads import peak_rss_mb, reset_peak_rss, rss_mb
    from benchmarks.workload import EVENT, low_cardinality, unique_calls

    events_logger_to(open(os.devnull, "w"))  # noqa: SIM115 - lives as long as the process
    reader = InMemoryMetricReader()
    gyrinx_tracker.configure(exporter="console", metric_reader=reader, global_providers="never",
                             handle_sigterm=False)
    track = gyrinx_tracker.track
    # Warm up on ids that never recur, so caches and instruments exist before the baseline.
    for start in range(events, events + WARM_UP, PACE):
        for value, labels in unique_calls(start, start + PACE):
            track(EVENT, 1, value, **labels)
        gyrinx_tracker.flush(60)
    gc.collect()
    baseline = rss_mb()
    peak_is_of_run = reset_peak_rss()
    highest = baseline
    expected: collections.Counter[tuple[str, str, int]] = collections.Counter(
        low_cardinality(i) for i in range(events, events + WARM_UP))
    curve = []
    for start in range(0, events, PACE):
        for value, labels in unique_calls(start, min(start + PACE, events)):
            track(EVENT, 1, value, **labels)
        highest = max(highest, rss_mb())  # the queue is at its fullest here
        gyrinx_tracker.flush(60)
        if (start + PACE) % (events // 4 or PACE) == 0:
            curve.append((start + PACE, round(rss_mb() - baseline, 2)))
    expected.update(low_cardinality(i) for i in range(events))
    stats = gyrinx_tracker.stats()
    final = rss_mb()
    series = _series(reader.get_metrics_data())
    from gyrinx_tracker._config import from_env

    return {
        "events": events, "warm_up": WARM_UP,
        "series_cap": from_env(os.environ).metric_series_per_event, "baseline_rss_mb": baseline, "final_rss_mb": final,
        "peak_rss_mb": peak_rss_mb(), "peak_is_of_run": peak_is_of_run,
        "growth_mb": max(final, highest, peak_rss_mb() if peak_is_of_run else 0.0) - baseline,
        "rss_curve": curve, "stats": stats,
        **_check(series, expected, f"tracker.{EVENT}", f"tracker.{EVENT}.value"),
    }


def _series(data: Any) -> dict[str, list[tuple[dict[str, Any], float]]]:
    """Metric name → [(attributes, counter value or histogram count)]."""
    found: dict[str, list[tuple[dict[str, Any], float]]] = collections.defaultdict(list)
    for resource_metrics in data.resource_metrics:
        for scope in resource_metrics.scope_metrics:
            for metric in scope.metrics:
                for point in metric.data.data_points:
                    amount = getattr(point, "value", None)
                    if amount is None:
                        amount = point.count
                    found[metric.name].append((dict(point.attributes or {}), amount))
    return found


def _check(series: dict[str, list[tuple[dict[str, Any], float]]],
           expected: collections.Counter[tuple[str, str, int]], counter: str,
           histogram: str) -> dict[str, Any]:
    """Exactness of the low-cardinality series, per instrument, summed over any extra keys."""
    result: dict[str, Any] = {"instruments": {}}
    for name in (counter, histogram):
        points = series.get(name, [])
        by_low: collections.Counter[tuple[Any, Any, Any]] = collections.Counter()
        keys: set[str] = set()
        overflow = 0
        for attributes, amount in points:
            keys.update(attributes)
            if attributes.get(OVERFLOW):
                overflow += int(amount)
                continue
            by_low[(attributes.get("endpoint"), attributes.get("method"), attributes.get("status"))] += int(amount)
        result["instruments"][name] = {
            "series": len(points), "attribute_keys": sorted(keys), "overflow_events": overflow,
            "total": int(sum(amount for _, amount in points)),
            "exact": by_low == expected and overflow == 0,
            "low_cardinality_combinations": len(expected),
        }
    result["other_instruments"] = {name: len(points) for name, points in series.items()
                                   if name not in (counter, histogram)}
    result["folded"] = {name: {json.dumps(attributes, sort_keys=True): amount for attributes, amount in points}
                        for name, points in series.items() if name == "gyrinx_tracker.folded"}
    return result


if __name__ == "__main__":
    print(json.dumps(main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)))
