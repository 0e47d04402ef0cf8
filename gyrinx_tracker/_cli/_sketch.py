"""A fixed-size quantile sketch: log-bucketed counts with a relative error bound (as DDSketch).

``summary`` must stream a million lines in the memory of a thousand, so it cannot keep the values.
Each value ``x > 0`` is counted in bucket ``ceil(log_gamma(x))`` with ``gamma = (1 + a) / (1 - a)``;
every value in a bucket is within relative error ``a`` of the bucket's representative
``2 gamma^i / (gamma + 1)``. So a quantile read from the buckets is within ``a`` (1% by default)
of the true value at that rank, and the number of buckets depends on the spread of the values
(about 1,200 cover nine orders of magnitude), never on their count. Negative values mirror the
positive store, zeros are counted apart. Past ``max_buckets`` per side, the smallest-magnitude
buckets are merged (the error bound then holds for the upper quantiles, the ones people ask for).
Count, sum, minimum and maximum are exact.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

RELATIVE_ERROR = 0.01


class Sketch:
    """Counts, exact sum/min/max and log buckets for one stream of values."""

    __slots__ = (
        "_gamma",
        "_gamma_log",
        "_max_buckets",
        "count",
        "maximum",
        "minimum",
        "negative",
        "positive",
        "total",
        "zeros",
    )

    def __init__(self, relative_error: float = RELATIVE_ERROR, max_buckets: int = 2048) -> None:
        self._gamma = (1 + relative_error) / (1 - relative_error)
        self._gamma_log = math.log(self._gamma)
        self._max_buckets = max_buckets
        self.positive: dict[int, int] = {}
        self.negative: dict[int, int] = {}
        self.zeros = 0
        self.count = 0
        self.total = 0.0
        self.minimum = math.inf
        self.maximum = -math.inf

    def add(self, value: float) -> None:
        """Count one finite value."""
        self.count += 1
        self.total += value
        self.minimum = min(self.minimum, value)
        self.maximum = max(self.maximum, value)
        if value == 0:
            self.zeros += 1
            return
        store = self.positive if value > 0 else self.negative
        index = math.ceil(math.log(abs(value)) / self._gamma_log)
        store[index] = store.get(index, 0) + 1
        if len(store) > self._max_buckets:
            _collapse_lowest(store)

    def quantile(self, q: float) -> float | None:
        """The value at rank ``floor(q * (count - 1))``, within the relative error; None when empty."""
        if not self.count:
            return None
        if q >= 1:
            return self.maximum
        if q <= 0:
            return self.minimum
        rank = math.floor(q * (self.count - 1))
        seen = 0
        for value, count in self._ascending():
            seen += count
            if seen > rank:
                return min(max(value, self.minimum), self.maximum)
        return self.maximum

    def buckets(self) -> int:
        """Buckets in use: the sketch's size, bounded by the values' spread, not their number."""
        return len(self.positive) + len(self.negative) + (1 if self.zeros else 0)

    def histogram(self, bins: int) -> list[int]:
        """Counts in ``bins`` equal-width bins between minimum and maximum, from the buckets."""
        counts = [0] * bins
        if not self.count:
            return counts
        low, span = self.minimum, self.maximum - self.minimum
        for value, count in self._ascending():
            where = 0 if span <= 0 else int((min(max(value, low), self.maximum) - low) / span * bins)
            counts[min(where, bins - 1)] += count
        return counts

    def _ascending(self) -> Iterator[tuple[float, int]]:
        """(representative value, count) from the most negative bucket to the largest."""
        for index in sorted(self.negative, reverse=True):
            yield -self._representative(index), self.negative[index]
        if self.zeros:
            yield 0.0, self.zeros
        for index in sorted(self.positive):
            yield self._representative(index), self.positive[index]

    def _representative(self, index: int) -> float:
        return 2 * math.exp(index * self._gamma_log) / (self._gamma + 1)


def _collapse_lowest(store: dict[int, int]) -> None:
    """Merge the two smallest-magnitude buckets, keeping the store at its maximum size."""
    lowest, second = sorted(store)[:2]
    store[second] += store.pop(lowest)
