"""Counters and histograms per event, with cardinality that stays bounded whatever the labels.

Naming: each event ``E`` gets a counter ``tracker.E`` (unit ``{event}``, incremented by ``n``) and,
once a ``value`` is seen, a histogram ``tracker.E.value``. The histogram's unit follows the original tracker's
naming conventions: ``*_duration`` and ``*_ms`` are milliseconds, ``*_seconds`` seconds,
``*_bytes`` bytes, anything else ``1``.

Routing rule (all labels always reach the log record; this decides only metric attributes):
1. If the event has an allowlist (``metric_labels``), only those keys are considered.
2. Otherwise id-like keys are denied: ``id``, ``*_id``, ``*Id``, ``*_ids``, ``uuid``, ``guid``,
   ``pk``, and ``user``, ``username``, ``email``, ``ip``, ``ip_address``, ``phone``, ``url``.
3. Each key may take ``metric_label_values`` distinct values per event; the key that exceeds it is
   *folded*: left out of that event's metrics from then on (series already made stay exact).
4. Each event may have ``metric_series_per_event`` series; later combinations are recorded under
   ``{"otel.metric.overflow": true}``, the SDK's own overflow convention.
5. Only scalar values (str, int, float, bool) become attributes; strings over 128 chars are left out.
Negative values stay in the log record but not in the histogram (OpenTelemetry histograms take
only non-negative values); that is warned about once.
Every fold is counted in ``stats()`` and in the ``gyrinx_tracker.folded`` counter.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from opentelemetry.metrics import Counter, Histogram, Meter

from gyrinx_tracker import _catalogue as catalogue
from gyrinx_tracker._config import TrackerConfig
from gyrinx_tracker._diagnostics import warn_limited
from gyrinx_tracker._sanitize import Event
from gyrinx_tracker._stats import Stats

PREFIX = "tracker."
OVERFLOW: tuple[tuple[str, Any], ...] = (("otel.metric.overflow", True),)
MAX_ATTRIBUTE_STRING = 128

_ID_LIKE = re.compile(r"(?:^|_)(?:ids?|uuid|guid|pk)$|[a-z0-9](?:Id|ID|Ids|IDs|Uuid)$|^(?:uuid|guid)")
_PERSONAL = frozenset({"user", "username", "user_name", "email", "ip", "ip_address", "phone", "url"})
_UNITS = (("_duration", "ms"), ("_ms", "ms"), ("_seconds", "s"), ("_bytes", "By"))
_ATTRIBUTE_TYPES = frozenset({str, int, float, bool})

Key = tuple[tuple[str, Any], ...]


def is_id_like(key: str) -> bool:
    """True for keys whose values identify one thing (a user, a list): one series each is useless."""
    return key.lower() in _PERSONAL or _ID_LIKE.search(key) is not None


def unit_for(event: str) -> str:
    """The histogram unit implied by the event's name, after the original tracker's naming conventions."""
    lowered = event.lower()
    for suffix, unit in _UNITS:
        if lowered.endswith(suffix):
            return unit
    return "1"


class _EventMetrics:
    """One event's instruments and the memory of which attribute values it has seen."""

    def __init__(self, meter: Meter, name: str, allow: Iterable[str] | None, config: TrackerConfig) -> None:
        self.counter: Counter = meter.create_counter(
            PREFIX + name, unit="{event}",
            description=catalogue.description_for(config, name) or f"Count of '{name}' events (sum of n)")
        self._unit = catalogue.unit_for(config, name) or unit_for(name)
        self._meter = meter
        self._name = name
        self.histogram: Histogram | None = None
        self._allow = frozenset(allow) if allow is not None else None
        self._denied: set[str] = set()
        self._values: dict[str, set[Any]] = {}
        # Each series' attributes as the dict the SDK takes, made once: the SDK only reads it.
        self._series: dict[Key, dict[str, Any]] = {OVERFLOW: dict(OVERFLOW)}
        self._value_budget = config.metric_label_values
        self._series_budget = config.metric_series_per_event
        self.folded_labels = 0
        self.folded_series = 0

    def value_histogram(self) -> Histogram:
        if self.histogram is None:
            self.histogram = self._meter.create_histogram(
                PREFIX + self._name + ".value", unit=self._unit,
                description=f"Distribution of the value of '{self._name}' events")
        return self.histogram

    def key(self, labels: dict[str, Any]) -> Key:
        """The metric attributes for ``labels``, after the routing rule; a sorted tuple."""
        items = [(k, v) for k, v in labels.items() if self._admits(k, v)]
        key: Key = tuple(sorted(items)) if len(items) > 1 else tuple(items)
        if key in self._series:
            return key
        if len(self._series) > self._series_budget:  # the overflow series is not counted
            self.folded_series += 1
            return OVERFLOW
        self._series[key] = dict(key)
        return key

    def attributes(self, key: Key) -> dict[str, Any]:
        """The attribute dict of a series ``key`` returned; do not mutate it."""
        return self._series[key]

    def _admits(self, key: str, value: Any) -> bool:
        if key in self._denied or type(value) not in _ATTRIBUTE_TYPES:
            return False
        if self._allow is not None:
            if key not in self._allow:
                return False
        elif is_id_like(key) or key.startswith("_"):
            self._denied.add(key)
            return False
        if type(value) is str and len(value) > MAX_ATTRIBUTE_STRING:
            return False
        seen = self._values.setdefault(key, set())
        if value in seen:
            return True
        if len(seen) >= self._value_budget:
            self._denied.add(key)
            del self._values[key]
            self.folded_labels += 1
            return False
        seen.add(value)
        return True


class Metrics:
    """Turns batches of events into counter increments (summed per series) and histogram records."""

    def __init__(self, meter: Meter, config: TrackerConfig, stats: Stats) -> None:
        self._meter = meter
        self._config = config
        self._stats = stats
        self._events: dict[str, _EventMetrics] = {}
        self._overflow = meter.create_counter(
            "gyrinx_tracker.unmetered", unit="{event}",
            description="Events beyond the metric_events cap: logged, but without instruments of their own")
        self._folded = meter.create_counter(
            "gyrinx_tracker.folded", unit="{attribute}",
            description="Metric label keys and series folded to bound cardinality")

    def record(self, events: Iterable[Event]) -> None:
        """Record one batch; counters are added once per series per batch, not once per event."""
        sums: dict[tuple[_EventMetrics, Key], int] = {}
        touched: set[_EventMetrics] = set()
        unmetered = negative = 0
        for event in events:
            metrics = self._for(event.name)
            if metrics is None:
                unmetered += event.n
                continue
            touched.add(metrics)
            key = metrics.key(event.labels)
            if event.n:
                sums[(metrics, key)] = sums.get((metrics, key), 0) + event.n
            if event.value is None:
                continue
            if event.value < 0:  # the SDK would refuse it and log a warning per call
                negative += 1
            else:
                metrics.value_histogram().record(event.value, metrics.attributes(key))
        for (metrics, key), total in sums.items():
            metrics.counter.add(total, metrics.attributes(key))
        if unmetered:
            self._overflow.add(unmetered)
        if negative:
            warn_limited("input:negative_value", "gyrinx_tracker: %d negative values were kept in the log "
                      "records but not in the histograms, which take only values >= 0", negative)
        self._collect_folds(touched)

    def _for(self, name: str) -> _EventMetrics | None:
        # Instrument names are case-insensitive in OpenTelemetry: "Login" and "login" are one
        # instrument, so two _EventMetrics for them made duplicate streams with the same attributes.
        identity = name.lower()
        metrics = self._events.get(identity)
        if metrics is None and len(self._events) < self._config.metric_events:
            allow = self._config.metric_labels.get(name, self._config.metric_labels.get(identity))
            metrics = self._events[identity] = _EventMetrics(self._meter, name, allow, self._config)
        return metrics

    def _collect_folds(self, touched: set[_EventMetrics]) -> None:
        """Move fold counts into the books; only events routed in this batch can have new folds."""
        labels = series = 0
        for metrics in touched:
            labels += metrics.folded_labels
            series += metrics.folded_series
            metrics.folded_labels = metrics.folded_series = 0
        if labels or series:
            self._stats.fold(labels, series)
            self._folded.add(labels, {"kind": "label"})
            self._folded.add(series, {"kind": "series"})
