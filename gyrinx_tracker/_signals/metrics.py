"""Counters and histograms per event, aggregated on the worker, with cardinality that stays bounded.

Naming: each event ``E`` gets a counter ``tracker.e`` (lower-cased, as OpenTelemetry instrument
names are case-insensitive; unit ``{event}``, the sum of ``n``) and, once a ``value`` is seen, a
histogram ``tracker.e.value``. The histogram's unit follows the original tracker's naming
conventions: ``*_duration`` and ``*_ms`` are milliseconds, ``*_seconds`` seconds, ``*_bytes``
bytes, anything else ``1``.

Routing rule (all labels always reach the log record; this decides only metric attributes):
1. If the event has an allowlist (``metric_labels``), only those keys are considered.
2. Otherwise id-like keys are denied: ``id``, ``*_id``, ``*Id``, ``*_ids``, ``uuid``, ``guid``,
   ``pk``, and ``user``, ``username``, ``email``, ``ip``, ``ip_address``, ``phone``, ``url``.
3. Each key may take ``metric_label_values`` distinct values per event; the key that exceeds it is
   *folded*: left out of that event's metrics from then on (series already made stay exact).
4. Each event may have ``metric_series_per_event`` series; later combinations are recorded under
   ``{"otel.metric.overflow": true}``, the SDK's own overflow convention.
5. Only scalar values (str, int, float, bool) become attributes; strings over 128 chars are left out.
6. Only keys of the form ``[A-Za-z][A-Za-z0-9_.]*`` become attributes: Cloud Monitoring's Telemetry
   API rejects a data point with any other label key, and Prometheus label names are stricter still.
Negative values stay in the log record but not in the histogram (OpenTelemetry histograms take
only non-negative values); that is warned about once.
Every fold is counted in ``stats()`` and in the ``gyrinx_tracker.folded`` counter.

Why we aggregate ourselves: the SDK's ``Counter.add`` and ``Histogram.record`` take locks, hash the
attributes and sample exemplars on every call, more than the rest of an event's work together
(benchmarks/RESULTS.md has the figures). Here an event costs a call of its label shape's router
(``_signals.metric_routes.Plan``: a size check, a membership test per other label name, and a
subscription and a dict look-up per attribute give its ``Series``), an integer addition and, for
a value, one list append: the value waits in its series' ``pending`` list until the histogram is
read (an export) or ``PENDING_LIMIT`` values wait, and is then taken in with the others at C
speed (their sum in their order, one stable sort giving the extremes, a bisection per bucket
boundary). The result is the same exact sums, counts and
buckets as one update per event, handed to the SDK's exporters as its own ``MetricsData``
(``_signals.metric_data``). When the metrics go into an SDK meter provider instead (the
application's, or a ``metric_reader=``), ``SdkInstruments`` replays the routed events into real
instruments.
"""

from __future__ import annotations

import math
import re
import sys
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Sequence
from contextlib import suppress
from functools import reduce
from operator import add
from typing import Any

from gyrinx_tracker._catalogue import catalogue
from gyrinx_tracker._config import TrackerConfig
from gyrinx_tracker._core.event import Event
from gyrinx_tracker._diagnostics import warn_limited
from gyrinx_tracker._signals.metric_routes import Plan, Router, no_route
from gyrinx_tracker._stats import Stats

PREFIX = "tracker."
OVERFLOW: tuple[tuple[str, Any], ...] = (("otel.metric.overflow", True),)
MAX_ATTRIBUTE_STRING = 128
# The SDK's default explicit bucket boundaries (the OpenTelemetry specification's defaults).
BOUNDARIES: tuple[float, ...] = (0.0, 5.0, 10.0, 25.0, 50.0, 75.0, 100.0, 250.0, 500.0, 750.0, 1000.0,
                                 2500.0, 5000.0, 7500.0, 10000.0)
_CACHE_LIMIT = 4_096  # event names remembered as tracked (see Metrics._for)
_PLAN_LIMIT = 256  # label name sets remembered per event; cleared when full
# Histogram values held in the series' pending lists before all are taken in (a few MB at most).
PENDING_LIMIT = 65_536

_ID_LIKE = re.compile(r"(?:^|_)(?:ids?|uuid|guid|pk)$|[a-z0-9](?:Id|ID|Ids|IDs|Uuid)$|^(?:uuid|guid)")
_PERSONAL = frozenset({"user", "username", "user_name", "email", "ip", "ip_address", "phone", "url"})
_UNITS = (("_duration", "ms"), ("_ms", "ms"), ("_seconds", "s"), ("_bytes", "By"))
# The middlewares' request event carries milliseconds whatever its name; its default name is here,
# and a middleware given another name declares it (``note_request_event``) before tracking it.
_MS_EVENTS = {"http_request"}
_ATTRIBUTE_TYPES = frozenset({str, int, float, bool})
_ATTRIBUTE_KEY = re.compile(r"[A-Za-z][A-Za-z0-9_.]*\Z")

Key = tuple[tuple[str, Any], ...]
# A histogram series: [count, sum, min, max, bucket_0, ..., bucket_len(BOUNDARIES)].
HistogramState = list[Any]


def is_id_like(key: str) -> bool:
    """True for keys whose values identify one thing (a user, a list): one series each is useless."""
    return key.lower() in _PERSONAL or _ID_LIKE.search(key) is not None


def note_request_event(event: str) -> None:
    """Declare ``event`` a request event (value in milliseconds): its histogram's unit is ``ms``."""
    _MS_EVENTS.add(event.lower())


def unit_for(event: str) -> str:
    """The histogram unit implied by the event's name, after the original tracker's naming conventions
    (a request event's is ``ms``); the catalogue's ``value.unit``, where given, is used instead."""
    lowered = event.lower()
    if lowered in _MS_EVENTS:
        return "ms"
    for suffix, unit in _UNITS:
        if lowered.endswith(suffix):
            return unit
    return "1"


class Folds:
    """Folds counted since the books last took them (shared by every event's routing)."""

    __slots__ = ("labels", "series")

    def __init__(self) -> None:
        self.labels = 0
        self.series = 0


class Series:
    """One series of an event: its attributes, the counter's total and the histogram's state.

    The routing cache maps straight to this object, so recording an event hashes no series key.
    Histogram values wait in ``pending`` (in their order) until ``histogram`` is read.
    """

    __slots__ = ("_state", "key", "overflow", "pending", "total")

    def __init__(self, key: Key) -> None:
        self.key = key
        self.total = 0
        self.pending: list[int | float] = []
        self._state: HistogramState | None = None
        self.overflow = key is OVERFLOW

    @property
    def histogram(self) -> HistogramState | None:
        """``[count, sum, min, max, bucket_0, ...]`` of every value so far; None before the first."""
        if self.pending:
            self.take_pending()
        return self._state

    def take_pending(self) -> None:
        """The pending values into the histogram's state, as one update per value in their order would
        make it: their sum in order, the first of equal extremes kept (a stable sort keeps equal
        values in their order), each value in the bucket ``bisect_left(BOUNDARIES, value)``."""
        values, state = self.pending, self._state
        if state is None:
            state = self._state = new_histogram()
        state[0] += len(values)
        state[1] = sum_in_order(values, state[1])
        values.sort()
        low, high = values[0], values[bisect_left(values, values[-1])]
        if low < state[2]:
            state[2] = low
        if high > state[3]:
            state[3] = high
        below = 0
        for index, bound in enumerate(BOUNDARIES, 4):  # the values <= bound are in this bucket or before
            upto = bisect_right(values, bound)
            state[index] += upto - below
            below = upto
        state[-1] += len(values) - below
        values.clear()


def _sum_in_order(values: list[int | float], start: int | float) -> int | float:
    total: int | float = reduce(add, values, start)
    return total


# ``start + values[0] + values[1] + ...`` in that order, as one addition per event makes it. Up to
# Python 3.11 ``sum`` adds exactly so, in C; from 3.12 on it compensates float rounding (a different
# result), so ``reduce`` adds there (five times ``sum``'s cost, still a fraction of a Python addition).
sum_in_order: Callable[[list[int | float], int | float], int | float] = (
    sum if sys.version_info < (3, 12) else _sum_in_order)


class EventMetrics:
    """One event's routing memory and its aggregates: counter sums and histogram states per series.

    Routing is cached in two steps so that ids among the labels do not defeat the cache: the label
    *names* choose a ``Plan`` (id-like names are dropped there, once), and only the values of the
    names that may become attributes key the plan's routes.
    """

    def __init__(self, name: str, allow: Iterable[str] | None, config: TrackerConfig, folds: Folds) -> None:
        self.name = name  # as first seen; exported lower-cased, as the SDK does
        # The event catalogue's words when it has them, else what the name implies.
        self.unit = catalogue.unit_for(config, name) or unit_for(name)
        self.description = catalogue.description_for(config, name) or f"Count of '{name}' events (sum of n)"
        self.series: dict[Key, Series] = {OVERFLOW: Series(OVERFLOW)}
        self.plans: dict[tuple[str, ...], Plan[Series]] = {}  # label names, in the caller's order → plan
        self.route: Router[Series] = no_route  # the router of the label names seen last (see Plan)
        self._allow = frozenset(allow) if allow is not None else None
        self._folded: set[str] = set()
        self._seen: dict[str, set[Any]] = {}
        self._value_budget = config.metric_label_values
        self._series_budget = config.metric_series_per_event
        self._folds = folds

    def series_for(self, labels: dict[str, Any]) -> Series:
        """The series of ``labels`` after the routing rule (the slow path; the result is cached)."""
        names = tuple(labels)
        plan = self.plans.get(names)
        if plan is None:
            if len(self.plans) >= _PLAN_LIMIT:
                self.plans.clear()
            admitted = [k for k in names if self._may_admit(k)]
            others = tuple(k for k in names if k not in admitted)
            plan = self.plans[names] = Plan(tuple(sorted(admitted)), others)
        values = plan.values(labels)
        folded = len(self._folded)
        series = self._route(plan.names, values)
        if len(self._folded) != folded:
            self.plans.clear()  # a folded key leaves every plan that had it
            self.route = no_route
            return series
        self.route = plan.route
        with suppress(TypeError):  # a list or dict among the values: routed each time, never cached
            plan.remember(values, series)
        return series

    def switch(self, labels: dict[str, Any]) -> Series:
        """The series of ``labels`` through the plan of their names, now the one tried first; raises
        ``KeyError`` (or ``TypeError``) where ``series_for`` must decide."""
        plan = self.plans[tuple(labels)]
        self.route = plan.route
        series = plan.route(labels)
        if series is None:  # not reached: the plan is that of these very names
            raise KeyError(labels)
        return series

    def _may_admit(self, key: str) -> bool:
        """Whether a label name may ever become an attribute of this event (values decide the rest)."""
        if key in self._folded or not _ATTRIBUTE_KEY.match(key):
            return False
        if self._allow is not None:
            return key in self._allow
        return not (is_id_like(key) or key.startswith("_"))

    def _route(self, names: tuple[str, ...], values: tuple[Any, ...]) -> Series:
        key: Key = tuple((k, v) for k, v in zip(names, values, strict=True) if self._admits(k, v))
        series = self.series.get(key)
        if series is None:
            if len(self.series) > self._series_budget:  # the overflow series is not counted
                return self.series[OVERFLOW]
            series = self.series[key] = Series(key)
        return series

    def _admits(self, key: str, value: Any) -> bool:
        if type(value) not in _ATTRIBUTE_TYPES or key in self._folded:
            return False
        if type(value) is str and len(value) > MAX_ATTRIBUTE_STRING:
            return False
        seen = self._seen.setdefault(key, set())
        if value in seen:
            return True
        if len(seen) >= self._value_budget:
            self._folded.add(key)
            del self._seen[key]
            self._folds.labels += 1
            return False
        seen.add(value)
        return True


def new_histogram() -> HistogramState:
    return [0, 0, math.inf, -math.inf, *([0] * (len(BOUNDARIES) + 1))]


class Metrics:
    """Routes batches of events to series and aggregates them: exact, cumulative, cheap."""

    def __init__(self, config: TrackerConfig, stats: Stats) -> None:
        self._config = config
        self._stats = stats
        self._by_name: dict[str, EventMetrics | None] = {}  # names as tracked → their event's metrics
        self.events: dict[str, EventMetrics] = {}  # lower-cased name → metrics
        self.unmetered = 0
        self.folded = {"label": 0, "series": 0}
        self._folds = Folds()
        self._pending = 0  # values appended to pending lists since they were last all taken in

    def record(self, events: Sequence[Event]) -> None:
        """Add one batch to the aggregates; the inner loop is the per-event cost of metrics."""
        by_name, folds = self._by_name, self._folds
        unmetered = negative = 0
        for event in events:
            try:
                metrics = by_name[event.name]
            except KeyError:
                metrics = self._for(event.name)
            if metrics is None:
                unmetered += event.n
                continue
            labels = event.labels
            try:
                series = metrics.route(labels)
                if series is None:  # other label names than this event's last ones
                    series = metrics.switch(labels)
            except (KeyError, TypeError):  # new names or values, or a list/dict value that cannot be cached
                series = metrics.series_for(labels)
            if series.overflow:
                folds.series += 1
            series.total += event.n
            value = event.value
            if value is None:
                continue
            if value < 0.0:  # OpenTelemetry histograms take only values >= 0 (a float: a float compared at its speed)
                negative += 1
                continue
            series.pending.append(value)
        self._pending += len(events)  # an upper bound of the values appended
        if self._pending >= PENDING_LIMIT:
            self.take_pending()
        self._settle(unmetered, negative)

    def take_pending(self) -> None:
        """Every series' pending histogram values into its state (bounds the memory they hold)."""
        for event in self.events.values():
            for series in event.series.values():
                if series.pending:
                    series.take_pending()
        self._pending = 0

    def route_batch(self, events: Iterable[Event]) -> list[tuple[EventMetrics, Key, Event]]:
        """Each metered event with its metrics and series key, for replaying into SDK instruments;
        the unmetered and fold counts are settled as by ``record``, but nothing is aggregated."""
        routed: list[tuple[EventMetrics, Key, Event]] = []
        unmetered = negative = 0
        for event in events:
            metrics = self._by_name[event.name] if event.name in self._by_name else self._for(event.name)
            if metrics is None:
                unmetered += event.n
                continue
            series = metrics.series_for(event.labels)
            if series.overflow:
                self._folds.series += 1
            if event.value is not None and event.value < 0:
                negative += 1
            routed.append((metrics, series.key, event))
        self._settle(unmetered, negative)
        return routed

    def _settle(self, unmetered: int, negative: int) -> None:
        self.unmetered += unmetered
        if negative:
            warn_limited("input:negative_value", "%d negative values were kept in the log "
                         "records but not in the histograms, which take only values >= 0", negative)
        folds = self._folds
        if folds.labels or folds.series:
            self._stats.fold(folds.labels, folds.series)
            self.folded["label"] += folds.labels
            self.folded["series"] += folds.series
            folds.labels = folds.series = 0

    def _for(self, name: str) -> EventMetrics | None:
        # Instrument names are case-insensitive in OpenTelemetry: "Login" and "login" are one
        # instrument, so they share one EventMetrics (two would make duplicate streams).
        identity = name.lower()
        metrics = self.events.get(identity)
        if metrics is None and len(self.events) < self._config.metric_events:
            allow = self._config.metric_labels.get(name, self._config.metric_labels.get(identity))
            metrics = self.events[identity] = EventMetrics(name, allow, self._config, self._folds)
        if metrics is not None or len(self._by_name) < _CACHE_LIMIT:
            self._by_name[name] = metrics
        return metrics
