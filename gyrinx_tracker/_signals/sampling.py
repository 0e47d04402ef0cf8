"""Which events' log records are written: per-event rates, decided by the trace, never for metrics.

High-frequency events (``page_view``, ``api_call``) can cost more in Cloud Logging than they tell,
so a rate below 1 writes only that share of their log records. Three promises make the kept share
usable:

* **Metrics stay exact.** The outputs record metrics for the whole batch before asking this
  module which records to build (``_signals.output``), so counters and histograms see every
  event.
* **Trace-consistent.** When the event's context carries a valid trace, the decision is the rule of
  OpenTelemetry's ``TraceIdRatioBased`` sampler: keep when the low 64 bits of the trace id are
  below ``round(rate * 2**64)``. Every process, thread and event of one request agrees, and with
  the same rate a trace sampled by that sampler keeps its events. Without a trace, ``random()``.
* **Re-weightable.** A kept record subject to a rate below 1 carries ``"sample_rate"`` in its
  payload, so a count of entries can be scaled back by ``1 / sample_rate``.

Sampled-out events are not drops: they are counted on their own line of ``stats()``.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from opentelemetry.trace import get_current_span

from gyrinx_tracker._core.event import Event
from gyrinx_tracker._signals.records import body_of

ANY_EVENT = "*"  # the rate or cap for events not named (see _config._per_event)
_CACHE_LIMIT = 10_000

Kept = list[tuple[Event, dict[str, Any]]]


class Sampler:
    """The sampling decision for one configuration; used only on the worker thread.

    ``default_for`` supplies a rate for events the configured rates do not name (the catalogue's
    ``sample_rate``); the ``*`` entry applies after it. A cap (records per second per event) is
    applied to what the rate keeps, in windows of one second of call time (``Event.time_ns``),
    so a spike is cut the same way however late the worker runs.
    """

    def __init__(self, rates: Mapping[str, float], caps: Mapping[str, float] | None = None,
                 default_for: Callable[[str], float | None] | None = None,
                 chance: Callable[[], float] = random.random) -> None:
        self._rates = dict(rates)
        self._any = self._rates.pop(ANY_EVENT, None)
        self._caps = dict(caps or {})
        self._any_cap = self._caps.pop(ANY_EVENT, None)
        self._default_for = default_for
        self._chance = chance
        self._rules: dict[str, tuple[float, int, float | None]] = {}
        self._windows: dict[str, list[int]] = {}  # event -> [second of call time, records kept in it]
        # The SDK's own rule, so a trace its sampler keeps at a rate keeps its events at that rate:
        # the bound for a rate, and the bits of the trace id compared with it. Imported here, when
        # a rate below 1 is configured: the tracing SDK is not otherwise loaded by the tracker.
        from opentelemetry.sdk.trace.sampling import TraceIdRatioBased

        self._bound_for = TraceIdRatioBased.get_bound_for_rate
        self._trace_bits = TraceIdRatioBased.TRACE_ID_LIMIT

    def rate_for(self, name: str) -> float:
        """The rate that applies to events called ``name``: named, else the catalogue's, else ``*``, else 1."""
        rate = self._rates.get(name)
        if rate is None and self._default_for is not None:
            rate = self._default_for(name)
        if rate is None:
            rate = self._any
        return 1.0 if rate is None else rate

    def split(self, batch: Sequence[Event]) -> tuple[Kept, int]:
        """The kept events with their payloads (``sample_rate`` added below 1), and how many were left out."""
        kept: Kept = []
        sampled_out = 0
        for event in batch:
            rate, bound, cap = self._rule(event.name)
            if (rate < 1.0 and not self._keeps(event, rate, bound)) or (cap is not None and self._over(event, cap)):
                sampled_out += 1
            else:
                kept.append((event, body_of(event, rate)))
        return kept, sampled_out

    def _rule(self, name: str) -> tuple[float, int, float | None]:
        rule = self._rules.get(name)
        if rule is None:
            rate = self.rate_for(name)
            rule = (rate, self._bound_for(rate), self._caps.get(name, self._any_cap))
            if len(self._rules) < _CACHE_LIMIT:
                self._rules[name] = rule
        return rule

    def _keeps(self, event: Event, rate: float, bound: int) -> bool:
        if event.context is not None:
            span_context = get_current_span(event.context).get_span_context()
            if span_context.is_valid:
                return span_context.trace_id & self._trace_bits < bound
        return self._chance() < rate

    def _over(self, event: Event, cap: float) -> bool:
        """True when ``cap`` records of this event were already kept in the second of its call."""
        second = event.time_ns // 1_000_000_000
        window = self._windows.get(event.name)
        if window is None or window[0] != second:
            if len(self._windows) >= _CACHE_LIMIT:
                self._windows.clear()  # bounded memory; at worst one second's cap starts afresh
            window = self._windows[event.name] = [second, 0]
        if window[1] >= cap:
            return True
        window[1] += 1
        return False


def kept_bodies(sampler: Sampler | None, batch: Sequence[Event]) -> tuple[Kept, int]:
    """Every event with its payload when nothing is sampled; else the sampler's split."""
    if sampler is None:
        return [(event, body_of(event)) for event in batch], 0
    return sampler.split(batch)


def sampler_for(rates: Mapping[str, float], caps: Mapping[str, float] | None = None,
                default_for: Callable[[str], float | None] | None = None) -> Sampler | None:
    """A sampler when some event can be sampled; None (every record written, no cost) otherwise."""
    if default_for is None and not caps and all(rate >= 1.0 for rate in rates.values()):
        return None
    return Sampler(rates, caps, default_for)
