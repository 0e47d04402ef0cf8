"""The quantile sketch behind `summary`: its relative error bound and its fixed size."""

from __future__ import annotations

import math
import random

import pytest

from gyrinx_tracker._cli._sketch import RELATIVE_ERROR, Sketch

QS = (0.0, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999, 1.0)


def _exact(ordered: list[float], q: float) -> float:
    return ordered[math.floor(q * (len(ordered) - 1))]


def _distributions() -> dict[str, list[float]]:
    rng = random.Random(13)
    return {
        "lognormal": [rng.lognormvariate(3, 2) for _ in range(20_000)],
        "uniform": [rng.uniform(0.001, 1000) for _ in range(20_000)],
        "exponential": [rng.expovariate(0.01) for _ in range(20_000)],
        "integers": [float(rng.randint(1, 50)) for _ in range(20_000)],
        "with zeros and negatives": [rng.choice([0.0, -1.0, 1.0]) * rng.lognormvariate(0, 3) for _ in range(20_000)],
        "nine orders of magnitude": [10 ** rng.uniform(-3, 6) for _ in range(20_000)],
    }


class TestErrorBound:
    @pytest.mark.parametrize("name", list(_distributions()))
    def test_every_quantile_is_within_the_relative_error(self, name: str) -> None:
        """For each q, the estimate is within 1% of the exact value at rank floor(q (n - 1))."""
        values = _distributions()[name]
        sketch = Sketch()
        for value in values:
            sketch.add(value)
        ordered = sorted(values)
        for q in QS:
            estimate, exact = sketch.quantile(q), _exact(ordered, q)
            assert estimate is not None
            assert abs(estimate - exact) <= RELATIVE_ERROR * abs(exact) + 1e-12, (q, estimate, exact)

    def test_count_sum_min_and_max_are_exact(self) -> None:
        """The exact statistics are kept beside the buckets."""
        values = _distributions()["lognormal"]
        sketch = Sketch()
        for value in values:
            sketch.add(value)
        assert (sketch.count, sketch.minimum, sketch.maximum) == (len(values), min(values), max(values))
        assert sketch.total == pytest.approx(sum(values))

    def test_an_empty_sketch_has_no_quantiles(self) -> None:
        """No values: quantile is None and the histogram is all zeros."""
        assert Sketch().quantile(0.5) is None and Sketch().histogram(4) == [0, 0, 0, 0]


class TestSize:
    def test_size_depends_on_the_spread_not_the_count(self) -> None:
        """Ten times more values from the same distribution use no more buckets than the span of the values needs."""
        rng = random.Random(7)
        small, large = Sketch(), Sketch()
        for i in range(200_000):
            value = rng.uniform(1, 1000)
            large.add(value)
            if i < 20_000:
                small.add(value)
        span = math.ceil(math.log(1000) / math.log((1 + RELATIVE_ERROR) / (1 - RELATIVE_ERROR))) + 1
        assert small.buckets() <= large.buckets() <= span

    def test_the_bucket_cap_holds_and_keeps_the_upper_quantiles(self) -> None:
        """Past max_buckets the smallest buckets merge; the top quantiles stay within the error."""
        sketch = Sketch(max_buckets=100)
        values = [10 ** (i / 1000) for i in range(12_000)]  # twelve orders of magnitude
        for value in values:
            sketch.add(value)
        assert sketch.buckets() <= 100
        for q in (0.95, 0.99):
            exact = _exact(sorted(values), q)
            estimate = sketch.quantile(q)
            assert estimate is not None and abs(estimate - exact) <= RELATIVE_ERROR * exact

    def test_the_histogram_counts_every_value(self) -> None:
        """The chart's bins add up to the count, and uniform values fill every bin."""
        sketch = Sketch()
        for i in range(1, 1001):
            sketch.add(float(i))
        bins = sketch.histogram(10)
        assert sum(bins) == 1000 and min(bins) > 0
