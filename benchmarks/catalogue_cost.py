"""What validating against an event catalogue costs: process CPU per event, with and without one.

Public API only (``configure``, ``track``, ``flush``), so the number is what an application pays:
the caller's thread plus the exporter thread, measured with ``time.process_time`` (all threads of
the process). The catalogue has 100 events, each with three or four labels under typical rules
(an enum, a pattern, an integer range); the calls are spread over all of them and every call is
valid, which is the steady state (an invalid call costs a rate-limited warning on top).

Two workloads, because the validator remembers label sets that passed:

* ``repeating``: each event's labels cycle through 12 combinations (3 endpoints x 2 methods x 2
  statuses), as an ``api_call`` does: after the first calls, a label set is one set lookup.
* ``unique id``: the same, plus a ``request_id`` label unique to every call: every call is
  checked label by label (the worst case for the validator).

Rounds alternate the arms so drift in the machine affects both; the result is the median of the
per-round ratios. Because CPU time on a shared two-core machine moves by tens of percent between
rounds, the same arms are also counted in instructions under callgrind (when valgrind is
installed): each arm runs twice, with 1,000 and 4,000 calls after the same warm-up, and the
difference over 3,000 is the cost of one call. Identical counts still differ by a few points from
run to run (where a full garbage collection falls, how the two threads interleave), so each arm
is counted ``REPEAT`` times and the medians are compared; the lowest and highest ratio of the
runs, paired in order, are reported beside it. Target (issue 12): at most +10% total CPU per event.
Part of ``make bench`` (``python -m benchmarks`` runs ``run``; its targets are in ``targets.py``);
alone: ``python -m benchmarks.catalogue_cost`` (``make bench-catalogue``) prints the issue-12 rows
of the targets table (``--no-instructions`` skips callgrind, ``--json`` prints one JSON object).
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import shutil
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from gyrinx_tracker import configure, flush, shutdown, track

EVENTS, CALLS, WARM_UP = 100, 20_000, 2_000
ROUNDS = 11
REPEAT = 3  # callgrind counts per arm (median)
SMALL, LARGE = 1_000, 4_000  # calls of the two callgrind runs of an arm
WORKLOADS = (("repeating", False), ("unique", True))
Calls = list[tuple[str, dict[str, object]]]


def write_catalogue(directory: Path) -> Path:
    """100 entries in the shape of examples/events.json."""
    schema = {"type": "object", "required": ["method", "endpoint"], "additionalProperties": False, "properties": {
        "method": {"type": "string", "enum": ["GET", "POST", "PUT", "DELETE"]},
        "endpoint": {"type": "string", "pattern": "^/api/", "maxLength": 200},
        "status": {"type": "integer", "minimum": 100, "maximum": 599},
        "request_id": {"type": "string", "pattern": "^r[0-9]+$"}}}
    events = {f"event_{i:03d}": {"description": f"Synthetic event {i}.", "owner": "bench", "status": "active",
                                 "value": {"unit": "ms"}, "labels": schema} for i in range(EVENTS)}
    path = directory / "events.json"
    path.write_text(json.dumps({"events": events}), encoding="utf-8")
    return path


def calls(unique: bool) -> Calls:
    """The CALLS (event, labels) pairs of one workload."""
    combos = [{"endpoint": f"/api/v1/{resource}", "method": method, "status": status}
              for resource in ("fighters", "lists", "campaigns") for method in ("GET", "POST") for status in (200, 404)]
    made = []
    for i in range(CALLS):
        labels: dict[str, object] = dict(combos[(i // EVENTS) % len(combos)])
        if unique:
            labels["request_id"] = f"r{i}"
        made.append((f"event_{i % EVENTS:03d}", labels))
    return made


def started(catalogue: Path | str | None, workload: Calls) -> None:
    """The console output, lines discarded by a NullHandler, with the catalogue if any; warmed up (caches,
    the worker) on the workload's first calls, outside any measurement."""
    events_logger = logging.getLogger("gyrinx.tracker")
    events_logger.handlers[:], events_logger.propagate = [logging.NullHandler()], False
    events_logger.setLevel(logging.INFO)
    configure(exporter="console", global_providers="never", handle_sigterm=False,
              **({"catalogue": catalogue} if catalogue else {}))
    for name, labels in workload[:WARM_UP]:
        track(name, value=1.0, **labels)
    flush(60)


def cpu_per_event(catalogue: Path | None, workload: Calls) -> float:
    """Process CPU seconds per event for the workload's valid calls."""
    started(catalogue, workload)
    start = time.process_time()
    for name, labels in workload:
        track(name, value=1.0, **labels)
    flush(30)
    spent = time.process_time() - start
    shutdown(30)
    return spent / len(workload)


def compare(catalogue: Path, workload: Calls, rounds: int) -> dict[str, float]:
    """Median CPU per event without and with the catalogue, the median ratio, and the rounds' range."""
    plain, checked = [], []
    for round_ in range(rounds):  # the arms alternate which goes first
        for arm in (None, catalogue) if round_ % 2 == 0 else (catalogue, None):
            (plain if arm is None else checked).append(cpu_per_event(arm, workload))
    ratios = [b / a for a, b in zip(plain, checked, strict=True)]
    return {"without_us": statistics.median(plain) * 1e6, "with_us": statistics.median(checked) * 1e6,
            "ratio": statistics.median(ratios), "low": min(ratios), "high": max(ratios)}


def instructions_per_event(catalogue: Path | None, unique: bool) -> float:
    """Instructions of one call (caller and exporter thread) under callgrind, start-up cancelled."""
    from benchmarks.load import callgrind  # not in the child: callgrind would count the import

    small, large = (callgrind([sys.executable, "-m", "benchmarks.catalogue_cost", "child", str(catalogue or ""),
                               "unique" if unique else "repeating", str(count)]) for count in (SMALL, LARGE))
    return (large - small) / (LARGE - SMALL)


def child(catalogue: str, workload: str, count: int) -> None:
    """One callgrind run: warm-up, a full garbage collection, then ``count`` calls, flushed.

    The collection after the warm-up makes the two runs of an arm start from the same state: the
    objects the warm-up created (instruments, series, caches) otherwise trigger a full collection
    of the whole heap at a point that falls in one run's window and not the other's, which moved
    an arm's count per event by thousands of instructions from one catalogue version to the next.
    """
    made = calls(workload == "unique")
    started(catalogue, made)
    gc.collect()
    for name, labels in made[WARM_UP:WARM_UP + count]:
        track(name, value=1.0, **labels)
    flush(60)
    shutdown(60)


def measure(rounds: int, count: int, instructions: bool, repeat: int = REPEAT) -> dict[str, dict[str, Any]]:
    """Both workloads: timed ratios (``rounds`` rounds of ``count`` calls), and callgrind counts if asked
    (the median of ``repeat`` counts per arm, and every count)."""
    results: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory() as directory:
        catalogue = write_catalogue(Path(directory))
        for key, unique in WORKLOADS:
            results[key] = compare(catalogue, calls(unique)[:count], rounds)
        if instructions:
            jobs = [(arm, unique) for _ in range(repeat) for _, unique in WORKLOADS for arm in (None, catalogue)]
            with ThreadPoolExecutor(max_workers=2) as pool:
                counts = list(pool.map(lambda job: instructions_per_event(*job), jobs))
            for index, (key, _) in enumerate(WORKLOADS):
                without = counts[2 * index::2 * len(WORKLOADS)]
                with_ = counts[2 * index + 1::2 * len(WORKLOADS)]
                paired = [b / a for a, b in zip(without, with_, strict=True)]
                results[key].update(instructions_without=statistics.median(without),
                                    instructions_with=statistics.median(with_),
                                    instructions_runs_without=without, instructions_runs_with=with_,
                                    instructions_low=min(paired), instructions_high=max(paired))
    return results


def run(rounds: int, count: int, instructions: bool, repeat: int = REPEAT) -> dict[str, Any]:
    """``measure`` in a fresh process (it configures the tracker): for ``python -m benchmarks``."""
    from benchmarks.load import child

    command = [sys.executable, "-m", "benchmarks.catalogue_cost", "--json", "--rounds", str(rounds), "--calls",
               str(count), "--repeat", str(repeat)] + ([] if instructions else ["--no-instructions"])
    return child(command, "the catalogue's cost", timeout=1_800)


def main() -> int:
    if sys.argv[1:2] == ["child"]:
        child(sys.argv[2], sys.argv[3], int(sys.argv[4]))
        return 0
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    parser.add_argument("--calls", type=int, default=CALLS)
    parser.add_argument("--no-instructions", action="store_true", help="skip the callgrind counts")
    parser.add_argument("--repeat", type=int, default=REPEAT, help="callgrind counts per arm (their median is compared)")
    parser.add_argument("--json", action="store_true", help="print the results as one JSON object")
    args = parser.parse_args()
    results = measure(args.rounds, args.calls, bool(shutil.which("valgrind")) and not args.no_instructions,
                      args.repeat)
    if args.json:
        print(json.dumps(results))
        return 0
    from benchmarks.report import TARGET_COLUMNS, table
    from benchmarks.targets import TARGETS, Results

    verdicts = [(target, target.verdict(Results({}, catalogue=results))) for target in TARGETS if target.issue == "12"]
    print(f"catalogue of {EVENTS} events, {args.calls:,} calls × {args.rounds} interleaved rounds\n"
          + table(TARGET_COLUMNS, verdicts))
    return 1 if any(verdict.startswith("MISS") for _, (_, verdict) in verdicts) else 0


if __name__ == "__main__":
    sys.exit(main())
