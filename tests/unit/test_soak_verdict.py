"""The soak's verdict (``benchmarks/soak.py``): the bound is docs/faults.md's formula of the settings,
and PASS needs both the peak under it and no creep over the last minute."""

from __future__ import annotations

from typing import Any

import pytest

from benchmarks.soak import CREEP_LIMIT, bound, verdict
from gyrinx_tracker._config import TrackerConfig


def _result(curve: list[tuple[float, float]], total: float, returncode: int = 0) -> dict[str, Any]:
    return {"seconds": 180.0, "curve": [(t, rss, None) for t, rss in curve], "bound": {"total": total},
            "returncode": returncode}


class TestBound:
    def test_the_defaults_give_docs_figures(self) -> None:
        """faults.md: 100 MB queue, 32 MB budget, 41 MB of requests, 1.6 MB app, their sum again as slack."""
        terms = bound(54.0, TrackerConfig())
        assert (round(terms["queue"]), round(terms["queue_bytes"]), round(terms["requests"], 1)) == (100, 32, 41.3)
        assert terms["allocator"] == pytest.approx(terms["queue_bytes"] + terms["requests"] + terms["app"])
        assert terms["total"] == pytest.approx(sum(value for name, value in terms.items() if name != "total"))

    def test_it_follows_the_settings(self) -> None:
        small = bound(54.0, TrackerConfig(max_queue=1_000, max_queue_bytes=4_000_000, export_concurrency=1))
        assert small["total"] < bound(54.0, TrackerConfig())["total"]


class TestVerdict:
    def test_flat_under_the_bound_passes(self) -> None:
        found = verdict(_result([(t, 200.0) for t in range(0, 181, 10)], total=300.0))
        assert found["verdict"] == "PASS" and found["margin"] == 100.0

    def test_a_peak_over_the_bound_misses(self) -> None:
        assert verdict(_result([(0, 100.0), (60, 310.0), (180, 250.0)], total=300.0))["verdict"] == "MISS"

    def test_creep_over_the_last_minute_misses_though_under_the_bound(self) -> None:
        growth = (CREEP_LIMIT + 0.01) * 60
        found = verdict(_result([(0, 100.0), (120, 200.0), (180, 200.0 + growth)], total=300.0))
        assert found["verdict"] == "MISS" and found["rate"] > CREEP_LIMIT

    def test_a_failed_child_misses(self) -> None:
        assert verdict(_result([(t, 200.0) for t in range(0, 181, 10)], total=300.0, returncode=1))["verdict"] == "MISS"
