"""Per event (optionally per label value): count, sum of n, value percentiles, in bounded memory.

One pass over the input, one ``Sketch`` per (event, group): memory grows with the number of
distinct events and groups, never with the number of lines. Both are capped like the tracker caps
metric cardinality: past ``MAX_EVENTS`` events or ``MAX_GROUPS`` groups per event, the rest are
counted under ``(other)``, so even ``--by user_id`` over a huge file stays bounded.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, TextIO

from gyrinx_tracker._cli._filter import Everything, Node
from gyrinx_tracker._cli._inputs import Entry, event_of, parse_time, payload
from gyrinx_tracker._cli._match import matches
from gyrinx_tracker._cli._output import Painter, bar, number, scalar, sparkline
from gyrinx_tracker._cli._sketch import RELATIVE_ERROR, Sketch

MAX_EVENTS = 10_000
MAX_GROUPS = 1_000
MAX_LABELS_SEEN = 50
OTHER = "(other)"
QUANTILES = (("p50", 0.5), ("p90", 0.9), ("p99", 0.99))
CHART_BINS = 12


@dataclass
class Row:
    """The books of one event (and group): how many entries, their n, their values."""

    count: int = 0
    n: int = 0
    values: Sketch = field(default_factory=Sketch)


@dataclass
class Window:
    """Entries whose time is in ``[since, until)``; either end may be open."""

    since: float | None = None
    until: float | None = None

    def admits(self, entry: Entry) -> bool:
        if self.since is None and self.until is None:
            return True
        moment = parse_time(entry.get("timestamp"))
        if moment is None:
            return False
        return (self.since is None or moment >= self.since) and (self.until is None or moment < self.until)


class Summary:
    """Accumulates rows per (event, group) from a stream of entries."""

    def __init__(self, by: str | None) -> None:
        self.by = by
        self.rows: dict[tuple[str, str | None], Row] = {}
        self._groups: dict[str, int] = {}
        self.by_found = False  # some event has the --by label: if none has, the name is likely a typo
        self.labels_seen: set[str] = set()  # to suggest the right name; capped like the groups

    def add(self, entry: Entry) -> None:
        event = event_of(entry)
        if event is None:
            return
        body = payload(entry)
        row = self._row(event, self._group(body))
        row.count += 1
        n = body.get("n", 1)
        row.n += _whole(n)
        value = body.get("value")
        if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
            row.values.add(float(value))

    def _group(self, body: dict[str, Any]) -> str | None:
        if self.by is None:
            return None
        labels = body.get("labels")
        if not isinstance(labels, dict) or self.by not in labels:
            if isinstance(labels, dict) and len(self.labels_seen) < MAX_LABELS_SEEN:
                self.labels_seen.update(str(key) for key in list(labels)[:MAX_LABELS_SEEN])
            return "(none)"
        self.by_found = True
        return scalar(labels[self.by])

    def _row(self, event: str, group: str | None) -> Row:
        key = (event, group)
        row = self.rows.get(key)
        if row is not None:
            return row
        if len(self._groups) >= MAX_EVENTS and event not in self._groups:
            key = (OTHER, None if group is None else OTHER)
        elif group is not None and self._groups.get(event, 0) >= MAX_GROUPS:
            key = (event, OTHER)
        if key not in self.rows:
            self._groups[key[0]] = self._groups.get(key[0], 0) + 1
            self.rows[key] = Row()
        return self.rows[key]


def _whole(n: object) -> int:
    """n as an integer; Cloud Logging's JSON (protobuf Struct) gives every number as a double."""
    if isinstance(n, bool) or not isinstance(n, (int, float)):
        return 0
    return int(n) if isinstance(n, int) or n.is_integer() else 0


def collect(entries: Iterable[Entry], node: Node, window: Window, by: str | None) -> Summary:
    """One pass: every entry in the window that matches the filter, into the summary."""
    summary = Summary(by)
    if isinstance(node, Everything) and window.since is None and window.until is None:
        for entry in entries:  # the common case, without two calls per line that always say yes
            summary.add(entry)
        return summary
    for entry in entries:
        if window.admits(entry) and matches(node, entry):
            summary.add(entry)
    return summary


def as_json(summary: Summary, window: Window) -> dict[str, Any]:
    """The summary for scripts: one object per event (and group), plus the window and the error bound."""
    return {
        "window": {"since": _iso(window.since), "until": _iso(window.until)},
        "relative_error": RELATIVE_ERROR,
        "events": [_row_json(event, group, summary.by, row) for (event, group), row in _sorted(summary)],
    }


def _iso(moment: float | None) -> str | None:
    if moment is None:
        return None
    return datetime.fromtimestamp(moment, timezone.utc).isoformat(timespec="microseconds").replace("+00:00", "Z")


def _row_json(event: str, group: str | None, by: str | None, row: Row) -> dict[str, Any]:
    item: dict[str, Any] = {"event": event, "count": row.count, "n": row.n}
    if by is not None:
        item["by"] = {by: group}
    sketch = row.values
    item["value"] = None if not sketch.count else {
        "count": sketch.count, "sum": sketch.total, "min": sketch.minimum, "max": sketch.maximum,
        **{name: sketch.quantile(q) for name, q in QUANTILES},
    }
    return item


def print_table(summary: Summary, out: TextIO, paint: Painter) -> None:
    """A table, one row per event (and group), with a bar for n and a sparkline of the values."""
    rows = _sorted(summary)
    if not rows:
        out.write("no tracker events in the input (after the window and filter)\n")
        return
    top_n = max(row.n for _, row in rows)
    head = ["event"] + ([summary.by] if summary.by else []) + ["count", "sum n", "p50", "p90", "p99", "max"]
    table = [head] + [_cells(event, group, summary.by, row) for (event, group), row in rows]
    widths = [max(len(line[i]) for line in table) for i in range(len(head))]
    labels = len(head) - 6
    out.write(paint(_join(head, widths, labels) + "  n" + " " * 17 + "values (min→max)", "bold") + "\n")
    for ((_, _), row), cells in zip(rows, table[1:], strict=True):
        chart = f"{bar(row.n, top_n, 16):<16}  {sparkline(row.values.histogram(CHART_BINS))}".rstrip()
        out.write(paint(cells[0].ljust(widths[0]), "bold_cyan") + _join(cells, widths, labels)[widths[0]:]
                  + "  " + paint(chart, "cyan") + "\n")
    out.write(paint(f"percentiles within {RELATIVE_ERROR:.0%} relative error; max exact", "dim") + "\n")


def _cells(event: str, group: str | None, by: str | None, row: Row) -> list[str]:
    sketch = row.values
    cells = [event] + ([group or ""] if by else []) + [number(row.count), number(row.n)]
    return cells + [number(sketch.quantile(q)) for _, q in QUANTILES] + [number(sketch.maximum if sketch.count else None)]


def _join(cells: list[str], widths: list[int], labels: int) -> str:
    return "  ".join(cell.ljust(w) if i < labels else cell.rjust(w)
                     for i, (cell, w) in enumerate(zip(cells, widths, strict=True)))


def _sorted(summary: Summary) -> list[tuple[tuple[str, str | None], Row]]:
    """Busiest events first; within an event, busiest groups first."""
    totals: dict[str, int] = {}
    for (event, _), row in summary.rows.items():
        totals[event] = totals.get(event, 0) + row.count
    return sorted(summary.rows.items(), key=lambda item: (-totals[item[0][0]], item[0][0], -item[1].count,
                                                          item[0][1] or ""))
