"""Counting at the files: what each gateway's file exporter wrote, and when.

During the run a thread only stats the files (cheap: the collectors need the CPU); afterwards each
line's arrival time is the first poll that saw the file reach the line's end. A record's latency
is that arrival minus its timestamp, which the SDK set inside track(), so it spans the app's queue
and export, the front's queue, the gateway and the write, to within the poll interval.
"""

from __future__ import annotations

import bisect
import json
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


def logs_file(prefix: Path) -> Path:
    """The logs output of a file-exporter prefix."""
    return prefix.with_name(f"{prefix.name}.logs.jsonl")


class SizeTail:
    """Polls the sizes of some files every ``interval`` seconds, in a thread."""

    def __init__(self, paths: list[Path], interval: float = 0.05) -> None:
        self.paths = paths
        self.interval = interval
        self.polls: dict[Path, list[tuple[float, int]]] = {p: [] for p in paths}
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self.stopped.is_set():
            now = time.time()
            for path in self.paths:
                try:
                    size = path.stat().st_size
                except OSError:
                    size = 0
                polls = self.polls[path]
                if not polls or polls[-1][1] != size:
                    polls.append((now, size))
            self.stopped.wait(self.interval)

    def arrival(self, path: Path, end: int) -> float:
        """When the file first held ``end`` bytes (the last poll's time if never seen)."""
        polls = self.polls[path]
        sizes = [s for _, s in polls]
        index = bisect.bisect_left(sizes, end)
        return polls[min(index, len(polls) - 1)][0] if polls else time.time()

    def __enter__(self) -> SizeTail:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopped.set()
        self.thread.join()


def any_value(value: dict[str, Any]) -> Any:
    """An OTLP/JSON AnyValue (int64 arrive as strings)."""
    if "intValue" in value:
        return int(value["intValue"])
    for key in ("stringValue", "doubleValue", "boolValue"):
        if key in value:
            return value[key]
    return None


@dataclass
class Received:
    """Every log record the gateways wrote, keyed by (app, seq)."""

    copies: Counter[tuple[int, int]] = field(default_factory=Counter)
    gateways_of_trace: dict[str, set[str]] = field(default_factory=dict)
    records_of_trace: Counter[str] = field(default_factory=Counter)
    latencies_s: list[float] = field(default_factory=list)
    last_arrival: float = 0.0
    per_gateway: Counter[str] = field(default_factory=Counter)
    unreadable_lines: int = 0

    def add_file(self, gateway: str, path: Path, tail: SizeTail | None) -> None:
        """Parse one gateway's logs file (complete lines only)."""
        if not path.exists():
            return
        offset = 0
        with path.open("rb") as handle:
            for raw in handle:
                offset += len(raw)
                if not raw.endswith(b"\n"):
                    break
                try:
                    doc = json.loads(raw)
                except ValueError:
                    self.unreadable_lines += 1
                    continue
                arrived = tail.arrival(path, offset) if tail is not None else 0.0
                self.last_arrival = max(self.last_arrival, arrived)
                self._add_doc(gateway, doc, arrived)

    def _add_doc(self, gateway: str, doc: dict[str, Any], arrived: float) -> None:
        for resource_logs in doc.get("resourceLogs", []):
            for scope_logs in resource_logs.get("scopeLogs", []):
                for record in scope_logs.get("logRecords", []):
                    attrs = {kv["key"]: any_value(kv.get("value", {})) for kv in record.get("attributes", [])}
                    app, seq = attrs.get("gyrinx.label.app"), attrs.get("gyrinx.label.seq")
                    if app is None or seq is None:
                        continue
                    self.copies[(int(app), int(seq))] += 1
                    self.per_gateway[gateway] += 1
                    trace = record.get("traceId", "")
                    if trace:
                        self.gateways_of_trace.setdefault(trace, set()).add(gateway)
                        if self.copies[(int(app), int(seq))] == 1:
                            self.records_of_trace[trace] += 1
                    if arrived and self.copies[(int(app), int(seq))] == 1:
                        self.latencies_s.append(arrived - int(record.get("timeUnixNano", 0)) / 1e9)

    @property
    def unique(self) -> int:
        """Distinct records."""
        return len(self.copies)

    @property
    def duplicates(self) -> int:
        """Copies beyond the first (at-least-once delivery)."""
        return sum(self.copies.values()) - len(self.copies)

    def split_traces(self) -> int:
        """Traces whose records landed on more than one gateway."""
        return sum(1 for gateways in self.gateways_of_trace.values() if len(gateways) > 1)


def percentile(values: list[float], q: float) -> float:
    """The q-quantile (0..1) by nearest rank; 0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]
