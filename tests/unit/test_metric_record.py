"""The per-event recording path of ``Metrics.record`` against the routing rule applied event by event.

``record`` finds an event's series through caches (the last label shape's router per event, the
plans per label names, the routes per admitted values) and keeps histogram values pending until
they are read; ``route_batch`` applies the routing rule to every event (the SDK replay path). Fed
the same events, both must give the same series with the same totals, and histograms identical to
adding the values one by one: whatever the label order, shapes, unhashable or long values, folds
and overflow. The caches stay bounded.
"""

from __future__ import annotations

import dataclasses
import random
from bisect import bisect_left
from functools import reduce
from operator import add
from typing import Any

import pytest

from gyrinx_tracker._config import TrackerConfig
from gyrinx_tracker._core.event import Event
from gyrinx_tracker._signals import metric_routes
from gyrinx_tracker._signals import metrics as metrics_module
from gyrinx_tracker._signals.metrics import BOUNDARIES, OVERFLOW, Key, Metrics, new_histogram
from gyrinx_tracker._stats import Stats

Books = tuple[dict[tuple[str, Key], int], dict[tuple[str, Key], list[Any]], dict[str, int], int]


def recorded(config: TrackerConfig, batches: list[list[Event]]) -> Books:
    """What ``record`` aggregated: totals and histogram states per (event, series key), folds, unmetered."""
    metrics = Metrics(config, Stats())
    for batch in batches:
        metrics.record(batch)
    totals = {(name, key): series.total for name, event in metrics.events.items()
              for key, series in event.series.items() if series.total}
    histograms = {(name, key): list(state) for name, event in metrics.events.items()
                  for key, series in event.series.items() if (state := series.histogram) is not None}
    return totals, histograms, dict(metrics.folded), metrics.unmetered


def routed_one_by_one(config: TrackerConfig, batches: list[list[Event]]) -> Books:
    """The same books from ``route_batch`` (the routing rule per event) and value-by-value updates."""
    metrics = Metrics(config, Stats())
    totals: dict[tuple[str, Key], int] = {}
    histograms: dict[tuple[str, Key], list[Any]] = {}
    for batch in batches:
        for event_metrics, key, event in metrics.route_batch(batch):
            series = (event_metrics.name.lower(), key)
            if event.n:
                totals[series] = totals.get(series, 0) + event.n
            value = event.value
            if value is None or value < 0:
                continue
            state = histograms.setdefault(series, new_histogram())
            state[0] += 1
            state[1] += value
            state[2] = value if value < state[2] else state[2]
            state[3] = value if value > state[3] else state[3]
            state[4 + bisect_left(BOUNDARIES, value)] += 1
    return totals, histograms, dict(metrics.folded), metrics.unmetered


def config(**fields: Any) -> TrackerConfig:
    return dataclasses.replace(TrackerConfig(), **fields)


def events(*specs: tuple[str, int, Any, dict[str, Any]]) -> list[Event]:
    return [Event(name, n, value, labels) for name, n, value, labels in specs]


def assert_same(config: TrackerConfig, batches: list[list[Event]]) -> Books:
    books = recorded(config, batches)
    assert books == routed_one_by_one(config, batches)
    return books


class TestSameAsTheRoutingRule:
    def test_a_random_mix_of_shapes_orders_and_values(self) -> None:
        """Label names in any order, shapes that come and go, ids, unhashable and long values, folds
        and overflow: the cached path's books equal the rule's, event by event."""
        rng = random.Random(27)
        keys = ["endpoint", "method", "status", "user_id", "region", "bad-key", "_private", "tags"]
        values: dict[str, list[Any]] = {
            "endpoint": [f"/e{i}" for i in range(8)], "method": ["GET", "POST", True, 1, 1.0],
            "status": [200, 201, 404, 500], "user_id": [str(i) for i in range(300)],
            "region": [f"r{i}" for i in range(12)], "bad-key": ["x"], "_private": ["p"],
            "tags": [["a"], {"b": 1}, "t", "x" * 200],
        }
        made = []
        for _ in range(6_000):
            names = rng.sample(keys, rng.randrange(0, 5))
            labels = {name: rng.choice(values[name]) for name in names}
            value = rng.choice([None, 0, 0.0, 5, 5.0, 7.25, 10_000.0, 10_001, 1e300, -1.0, rng.random() * 900])
            made.append(Event(rng.choice(["api_call", "API_Call", "job", "render_ms"]), rng.randrange(0, 3),
                              value, labels))
        batches = [made[i:i + rng.randrange(1, 700)] for i in range(0, len(made), 500)]
        totals, _, folded, _ = assert_same(config(metric_label_values=6, metric_series_per_event=40), batches)
        assert folded["label"] and folded["series"]  # the mix reached both limits
        assert any(key == OVERFLOW for _, key in totals)

    def test_equal_labels_in_another_order_are_one_series(self) -> None:
        """``a=1, b=2`` and ``b=2, a=1`` are one series, whichever order came first."""
        batch = events(("e", 1, 1.0, {"a": 1, "b": 2}), ("e", 2, 2.0, {"b": 2, "a": 1}),
                       ("e", 4, None, {"a": 1, "b": 2}), ("e", 8, None, {"b": 2, "a": 1}))
        totals, _, _, _ = assert_same(config(), [batch, batch])
        assert totals == {("e", (("a", 1), ("b", 2))): 30}

    def test_a_shape_of_the_same_size_with_other_names_is_routed_afresh(self) -> None:
        """After ``a, user_id`` (one attribute), ``a, region`` has two: the last shape's router must
        not take it for its own because the sizes match."""
        batch = events(("e", 1, None, {"a": 1, "user_id": "u1"}), ("e", 1, None, {"a": 1, "region": "eu"}),
                       ("e", 1, None, {"region": "eu", "a": 1}), ("e", 1, None, {"a": 1, "user_id": "u2"}),
                       ("e", 1, None, {"b": 1, "user_id": "u1"}), ("e", 1, None, {"a": 1, "b": 1}))
        totals, _, _, _ = assert_same(config(), [batch])
        assert totals == {("e", (("a", 1),)): 2, ("e", (("a", 1), ("region", "eu"))): 2,
                          ("e", (("b", 1),)): 1, ("e", (("a", 1), ("b", 1))): 1}

    def test_unhashable_values_are_counted_every_time(self) -> None:
        """A list or dict value (never an attribute, never cached) leaves its key out, each time."""
        batch = events(*[("e", 1, float(i), {"a": 1, "tags": [i]}) for i in range(5)],
                       *[("e", 1, None, {"tags": {"k": i}, "a": 1}) for i in range(5)])
        totals, histograms, _, _ = assert_same(config(), [batch, batch])
        assert totals == {("e", (("a", 1),)): 20}
        assert histograms[("e", (("a", 1),))][:2] == [10, 20.0]

    def test_a_value_too_long_for_an_attribute_is_left_out(self) -> None:
        """A string over 128 characters is no attribute; the event counts in the series without it."""
        long = "x" * 129
        batch = events(("e", 1, None, {"a": 1, "note": long}), ("e", 1, None, {"a": 1, "note": "x" * 128}),
                       ("e", 1, None, {"note": long, "a": 1}))
        totals, _, _, _ = assert_same(config(), [batch, batch])
        assert totals == {("e", (("a", 1),)): 4, ("e", (("a", 1), ("note", "x" * 128))): 2}

    def test_a_folded_key_leaves_the_shape_already_routed(self) -> None:
        """Once ``path`` folds, events of the very shape routed before it folded lose it too."""
        batch = events(*[("e", 1, None, {"method": "GET", "path": f"/p{i % 5}"}) for i in range(20)])
        totals, _, folded, _ = assert_same(config(metric_label_values=3), [batch])
        assert folded["label"] == 1
        assert totals == {("e", (("method", "GET"), ("path", "/p0"))): 1,
                          ("e", (("method", "GET"), ("path", "/p1"))): 1,
                          ("e", (("method", "GET"), ("path", "/p2"))): 1,
                          ("e", (("method", "GET"),)): 17}

    def test_events_over_the_series_cap_go_to_the_overflow_series(self) -> None:
        """Combinations beyond ``metric_series_per_event`` are counted under the overflow series, each
        such event once in the folds."""
        batch = events(*[("e", 2, 1.0, {"shard": i % 6}) for i in range(30)])
        totals, _, folded, _ = assert_same(config(metric_series_per_event=2), [batch])
        assert totals[("e", OVERFLOW)] == 2 * 20  # shards 2 to 5
        assert folded["series"] == 20

    @pytest.mark.parametrize("name", ["a'b", 'x"\ny', "a b", "]) or True #", "\\", "P0", "labels", "ROUTES"])
    def test_label_names_that_are_no_identifiers_route_like_any(self, name: str) -> None:
        """Label names are constants of the generated router, never its source: quotes, newlines and
        the router's own names are labels like any other (ids or not, attributes or not)."""
        batch = events(("e", 1, None, {name: 1, "a": 2}), ("e", 1, None, {"a": 2, name: 1}),
                       ("e", 1, None, {name: 3, "a": 2}), ("e", 1, None, {name: 1}))
        totals, _, _, _ = assert_same(config(), [batch, batch])
        attribute = name in {"P0", "labels", "ROUTES"}
        assert sum(totals.values()) == 8 and len(totals) == (3 if attribute else 2)

    def test_events_beyond_the_event_cap_are_unmetered(self) -> None:
        """Events past ``metric_events`` names add to ``unmetered`` (their n), not to any series."""
        batch = events(*[(f"e{i % 4}", 3, None, {}) for i in range(12)])
        totals, _, _, unmetered = assert_same(config(metric_events=2), [batch])
        assert unmetered == 3 * 6 and sum(totals.values()) == 3 * 6


class TestHistogramValues:
    def test_the_sum_is_the_values_added_in_order(self) -> None:
        """Pending values are summed in their order, as one addition per event would (1e16 + 1 + 1 is
        1e16 in floats; a sorted or compensated sum would give 1e16 + 2)."""
        batch = events(("e", 1, 1e16, {}), ("e", 1, 1.0, {}), ("e", 1, 1.0, {}), ("e", 1, 3, {}))
        _, histograms, _, _ = assert_same(config(), [batch])
        assert histograms[("e", ())][1] == reduce(add, [1e16, 1.0, 1.0, 3], 0)

    def test_boundaries_ties_and_ints_among_floats(self) -> None:
        """A value on a boundary is in the bucket that ends there; equal int and float extremes keep the
        first seen; ints stay ints in the sum."""
        batch = events(*[("e", 1, value, {}) for value in (5, 5.0, 0, 0.0, 10_000, 10_000.5, 7.5, 250)])
        _, histograms, _, _ = assert_same(config(), [batch])
        state = histograms[("e", ())]
        assert state[:4] == [8, 20_268.0, 0, 10_000.5] and type(state[2]) is int
        ints = events(("i", 1, 3, {}), ("i", 1, 4, {}))
        _, histograms, _, _ = assert_same(config(), [ints])
        assert histograms[("i", ())][1] == 7 and type(histograms[("i", ())][1]) is int

    def test_a_histogram_read_between_batches_is_up_to_date(self) -> None:
        """Reading a series' histogram (an export) takes in the values recorded so far; later values add on."""
        metrics = Metrics(config(), Stats())
        metrics.record(events(("e", 1, 1.0, {}), ("e", 1, 2.0, {})))
        state = metrics.events["e"].series[()].histogram
        assert state is not None and state[:4] == [2, 3.0, 1.0, 2.0]
        metrics.record(events(("e", 1, 30.0, {})))
        state = metrics.events["e"].series[()].histogram
        assert state is not None and state[:4] == [3, 33.0, 1.0, 30.0]

    def test_a_series_without_values_has_no_histogram(self) -> None:
        """Counted events without a value (or only negative ones) make no histogram point."""
        metrics = Metrics(config(), Stats())
        metrics.record(events(("e", 1, None, {}), ("e", 1, -2.0, {})))
        assert metrics.events["e"].series[()].histogram is None


class TestBounded:
    def test_values_pending_are_bounded(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Values wait for a read at most until ``PENDING_LIMIT`` of them are pending: then all are
        taken into the histograms, so memory stays bounded between exports."""
        monkeypatch.setattr(metrics_module, "PENDING_LIMIT", 100)
        metrics = Metrics(config(), Stats())
        batch = events(*[("e", 1, float(i), {"shard": i % 3}) for i in range(30)])
        for _ in range(20):
            metrics.record(batch)
            assert sum(len(s.pending) for s in metrics.events["e"].series.values()) <= 100 + len(batch)
        totals = {key: series.histogram[0] for key, series in metrics.events["e"].series.items()
                  if series.histogram is not None}
        assert totals == {(("shard", 0),): 200, (("shard", 1),): 200, (("shard", 2),): 200}

    def test_routes_per_shape_are_bounded(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Distinct values of a key not yet folded (a high cap) fill the routes of their shape only
        up to the cache limit, which is then cleared; the counts stay exact."""
        monkeypatch.setattr(metric_routes, "ROUTE_LIMIT", 50)
        cfg = config(metric_label_values=1_000, metric_series_per_event=1_000)
        batch = events(*[("e", 1, None, {"page": f"/p{i}"}) for i in range(400)])
        metrics = Metrics(cfg, Stats())
        metrics.record(batch)
        (plan,) = metrics.events["e"].plans.values()
        assert plan.count <= 50 and len(plan.routes) <= 50
        totals, _, _, _ = assert_same(cfg, [batch])
        assert len(totals) == 400 and sum(totals.values()) == 400

    def test_label_shapes_per_event_are_bounded(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Label name sets beyond the plan limit clear the plans; routing stays exact."""
        monkeypatch.setattr(metrics_module, "_PLAN_LIMIT", 8)
        batch = events(*[("e", 1, None, {f"k{i % 20}": 1, "a": i % 2}) for i in range(200)])
        metrics = Metrics(config(), Stats())
        metrics.record(batch)
        assert len(metrics.events["e"].plans) <= 8
        totals, _, _, _ = assert_same(config(), [batch])
        assert sum(totals.values()) == 200
