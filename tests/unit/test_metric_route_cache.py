"""The metric side's routing cache must not keep long label values: it remembered up to 4,096
value combinations per plan, and with a fresh 100 KB label per call (cut to 8 KB, 16 KB in
memory) that was 64 MB held outside every bound, let go at once when the cache was cleared: the
sawtooth under benchmarks/soak.py's RSS creep (docs/faults.md, Memory as RSS)."""

from __future__ import annotations

from gyrinx_tracker._config import TrackerConfig
from gyrinx_tracker._signals.metrics import EventMetrics, Folds


def _cached_values(metrics: EventMetrics) -> list[object]:
    """Every value a plan's routes hold as a key, at any level (one dict level per attribute name)."""
    found: list[object] = []
    levels = [plan.routes for plan in metrics.plans.values()]
    while levels:
        level = levels.pop()
        found += level
        levels += [node for node in level.values() if isinstance(node, dict)]
    return found


class TestRouteCache:
    def test_long_values_are_routed_but_not_remembered(self) -> None:
        metrics = EventMetrics("upload", None, TrackerConfig(), Folds())
        for i in range(50):
            series = metrics.series_for({"blob": f"{i:06d}" + "x" * 8_000, "route": "/api"})
            assert series is metrics.series_for({"blob": f"{i:06d}" + "x" * 8_000, "route": "/api"})
        assert not [value for value in _cached_values(metrics) if isinstance(value, str) and len(value) > 256]

    def test_short_values_are_still_remembered(self) -> None:
        metrics = EventMetrics("upload", None, TrackerConfig(), Folds())
        metrics.series_for({"route": "/api", "status": 200})
        assert "/api" in _cached_values(metrics)
