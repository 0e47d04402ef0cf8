"""``gyrinx-tracker alerts check``: the catalogue's alerts evaluated over the app's logs, locally.

Why: an alert is tested before it pages anyone, in CI on a recorded log, or on a laptop on the
app's own output. The input is what ``summary`` reads (``_inputs.entries``: local JSON lines,
Cloud Run stdout, ``gcloud logging read`` output), in one pass, in memory that grows with the
number of windows, not of lines.

How each kind is judged, as close to Cloud Monitoring as logs allow:

* windows are aligned to multiples of the alert's window since the epoch (as alignment periods
  are); ``rate_below`` judges only windows wholly inside the input's time span, so the edges of a
  log do not look like a drought;
* counts are the entries' ``n`` scaled back by their ``sample_rate`` (the tracker writes it on each
  kept entry of a sampled event), so they estimate the exact counters the policies read;
* ``absent`` fires for each gap of at least its duration between the input's first time, the
  event's entries, and the input's last time;
* ``log_match`` evaluates the policy's own label filter (``policies.match_filter``) with the same
  evaluator as ``query``.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, TextIO

from gyrinx_tracker._catalogue.alerts import AlertSpec
from gyrinx_tracker._catalogue.catalogue import Catalogue
from gyrinx_tracker._cli._filter import Node, parse
from gyrinx_tracker._cli._inputs import Entry, event_of, parse_time, payload
from gyrinx_tracker._cli._match import matches
from gyrinx_tracker._cli._sketch import Sketch
from gyrinx_tracker._monitoring.describe import describe, match_filter

SHOWN = 5  # firings printed per alert; the rest are counted


@dataclass
class Firing:
    """One time an alert would have fired: when (the window or gap) and what was seen."""

    start: float
    end: float
    seen: str


@dataclass
class _State:
    alert: AlertSpec
    windows: dict[int, float] = field(default_factory=dict)  # window index → weighted count
    sketches: dict[int, Sketch] = field(default_factory=dict)  # window index → values
    times: list[float] = field(default_factory=list)  # absent: entry times (only the gaps matter)
    matched: list[float] = field(default_factory=list)
    node: Node | None = None


@dataclass
class Result:
    """Each alert with its firings; ``first``/``last`` the input's time span (None: no timed entry)."""

    alerts: list[tuple[AlertSpec, list[Firing]]]
    first: float | None
    last: float | None
    untimed: int
    sampled: dict[str, float] = field(default_factory=dict)  # event → its catalogue sample rate below 1

    @property
    def fired(self) -> int:
        return sum(1 for _, firings in self.alerts if firings)


def evaluate(catalogue: Catalogue, entries: Iterable[Entry]) -> Result:
    """One pass over ``entries``: every alert of every entry of the catalogue."""
    states: dict[str, list[_State]] = {}
    sampled = {spec.name: spec.sample_rate for spec in catalogue.entries()
               if spec.alerts and spec.sample_rate is not None and spec.sample_rate < 1}
    for spec in catalogue.entries():
        for alert in spec.alerts:
            node = parse(match_filter(alert.match)) if alert.kind == "log_match" else None
            states.setdefault(alert.event, []).append(_State(alert, node=node))
    first = last = None
    untimed = 0
    for entry in entries:
        moment = parse_time(entry.get("timestamp"))
        if moment is None:
            untimed += 1
            continue
        first = moment if first is None or moment < first else first
        last = moment if last is None or moment > last else last
        event = event_of(entry)
        for state in states.get(event or "", ()):
            _add(state, entry, moment)
    alerts = [(state.alert, _firings(state, first, last)) for group in states.values() for state in group]
    return Result(alerts, first, last, untimed, sampled)


def _weight(body: dict[str, Any]) -> float:
    """The entry's n scaled back by its sample rate: what the exact counter added."""
    n = body.get("n", 1)
    rate = body.get("sample_rate", 1)
    n = n if isinstance(n, (int, float)) and not isinstance(n, bool) else 0
    rate = rate if isinstance(rate, (int, float)) and not isinstance(rate, bool) and 0 < rate <= 1 else 1
    return float(n) / float(rate)


def _add(state: _State, entry: Entry, moment: float) -> None:
    alert = state.alert
    body = payload(entry)
    if alert.kind in ("rate_above", "rate_below"):
        assert alert.window is not None
        index = math.floor(moment / alert.window)
        state.windows[index] = state.windows.get(index, 0.0) + _weight(body)
    elif alert.kind == "percentile_above":
        assert alert.window is not None
        value = body.get("value")
        if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value >= 0:
            state.sketches.setdefault(math.floor(moment / alert.window), Sketch()).add(float(value))
    elif alert.kind == "absent":
        state.times.append(moment)
    elif state.node is not None and matches(state.node, entry):
        state.matched.append(moment)


def _firings(state: _State, first: float | None, last: float | None) -> list[Firing]:
    alert = state.alert
    if first is None or last is None:
        return []
    if alert.kind == "rate_above":
        assert alert.window is not None and alert.threshold is not None
        return [Firing(i * alert.window, (i + 1) * alert.window, f"{count:g} events")
                for i, count in sorted(state.windows.items()) if count > alert.threshold]
    if alert.kind == "rate_below":
        assert alert.window is not None and alert.threshold is not None
        whole = range(math.ceil(first / alert.window), math.floor(last / alert.window))
        return [Firing(i * alert.window, (i + 1) * alert.window, f"{state.windows.get(i, 0.0):g} events")
                for i in whole if state.windows.get(i, 0.0) < alert.threshold]
    if alert.kind == "percentile_above":
        assert alert.window is not None and alert.threshold is not None and alert.percentile is not None
        found = []
        for i, sketch in sorted(state.sketches.items()):
            value = sketch.quantile(alert.percentile / 100)
            if value is not None and value > alert.threshold:
                found.append(Firing(i * alert.window, (i + 1) * alert.window,
                                    f"p{alert.percentile} {value:.4g} over {sketch.count} values"))
        return found
    if alert.kind == "absent":
        assert alert.duration is not None
        marks = [first, *sorted(state.times), last]
        return [Firing(a, b, f"no event for {(b - a) / 60:.4g} min")
                for a, b in itertools.pairwise(marks) if b - a >= alert.duration]
    if not state.matched:
        return []
    times = sorted(state.matched)
    return [Firing(times[0], times[-1], f"{len(times)} matching entries")]


def iso(moment: float) -> str:
    return datetime.fromtimestamp(moment, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def write_text(result: Result, out: TextIO) -> None:
    """One block per alert: FIRING with its first firings and when, or ok."""
    if result.first is None or result.last is None:
        out.write("no timed tracker entries in the input: nothing to evaluate\n")
    else:
        out.write(f"input: {iso(result.first)} to {iso(result.last)}\n")
    for alert, firings in result.alerts:
        head = f"{alert.name} ({alert.kind}, {alert.severity}): {describe(alert)}"
        rate = result.sampled.get(alert.event)
        note = "" if rate is None or alert.kind != "log_match" else (
            f"          (the catalogue samples `{alert.event}` at {rate:g}: only kept entries can match here; "
            "the generated policy counts the exact counter when the labels are metric labels)\n")
        if not firings:
            out.write(f"ok      {head}\n{note}")
            continue
        out.write(f"FIRING  {head}: {len(firings)} time{'s' if len(firings) != 1 else ''}\n")
        for firing in firings[:SHOWN]:
            out.write(f"          {iso(firing.start)} to {iso(firing.end)}: {firing.seen}\n")
        if len(firings) > SHOWN:
            out.write(f"          ... and {len(firings) - SHOWN} more\n")
        out.write(note)
    if result.untimed:
        out.write(f"{result.untimed} entries without a time were left out\n")
    out.write(f"{result.fired} of {len(result.alerts)} alerts would have fired\n")


def as_json(result: Result) -> dict[str, Any]:
    return {"first": None if result.first is None else iso(result.first),
            "last": None if result.last is None else iso(result.last),
            "alerts": [{"name": alert.name, "event": alert.event, "kind": alert.kind, "severity": alert.severity,
                        "fired": bool(firings),
                        "firings": [{"start": iso(f.start), "end": iso(f.end), "seen": f.seen} for f in firings]}
                       for alert, firings in result.alerts]}
