"""One readable line per event: time, severity, event, n and value, labels, trace.

``2026-11-29 10:00:01.123 INFO  api_call  endpoint=/api/v1/fighters method=GET status=200  trace=7acca44c``

The line is built from the normalised entry, so it reads the same whether the event came from a
local file, Cloud Run's stdout or ``gcloud logging read``.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Iterable
from typing import TextIO

from gyrinx_tracker._cli._filter import Node
from gyrinx_tracker._cli._inputs import Entry, event_of, payload
from gyrinx_tracker._cli._match import matches
from gyrinx_tracker._cli._output import SEVERITY_COLOURS, Painter, number, scalar


def run(entries: Iterable[Entry], node: Node, out: TextIO, paint: Painter) -> int:
    """Print each matching tracker event as it arrives; returns how many were printed."""
    shown = 0
    for entry in entries:
        if event_of(entry) is None or not matches(node, entry):
            continue
        out.write(line(entry, paint) + "\n")
        out.flush()
        shown += 1
    return shown


def last(entries: Iterable[Entry], node: Node, count: int) -> list[Entry]:
    """The last ``count`` matching events, keeping no more than that many in memory."""
    recent: deque[Entry] = deque(maxlen=max(count, 0))
    for entry in entries:
        if event_of(entry) is not None and matches(node, entry):
            recent.append(entry)
    return list(recent)


def line(entry: Entry, paint: Painter) -> str:
    """The one-line view of a tracker event entry."""
    body = payload(entry)
    severity = str(entry.get("severity") or "INFO").upper()
    parts = [paint(_time(entry.get("timestamp")), "dim"),
             paint(f"{severity:<5}", SEVERITY_COLOURS.get(severity, "bold")),
             paint(str(body.get("event")), "bold_cyan")]
    n = body.get("n", 1)
    if n != 1:
        parts.append(paint(f"×{scalar(n)}", "bold"))
    if "value" in body:
        parts.append(f"{paint('value', 'dim')}={paint(_value(body['value']), 'bold')}")
    labels = body.get("labels")
    if isinstance(labels, dict) and labels:
        parts.append(" ".join(f"{paint(str(key), 'blue')}={scalar(value)}" for key, value in labels.items()))
    trace = entry.get("trace")
    if isinstance(trace, str) and trace:
        parts.append(paint("trace=" + trace.rsplit("/", 1)[-1][:8], "dim"))
    return " ".join(parts)


def _time(value: object) -> str:
    """``2026-11-29 10:00:01.123`` from any RFC 3339 form; the raw value if it is not one."""
    if not isinstance(value, str) or len(value) < 19:
        return "-" if value is None else str(value)
    date, _, rest = value.partition("T")
    clock = rest.rstrip("Z")
    seconds, dot, fraction = clock[:8], clock[8:9], clock[9:12]
    return f"{date} {seconds}{'.' + fraction.ljust(3, '0') if dot == '.' else '.000'}"


def _value(value: object) -> str:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return number(float(value))
    return json.dumps(value)
