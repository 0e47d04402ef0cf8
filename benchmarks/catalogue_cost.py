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
alone: ``.venv/bin/python -m benchmarks.catalogue_cost`` (``make bench-catalogue``; ``--no-instructions``
to skip callgrind, ``--json`` for one JSON object).
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from gyrinx_tracker import configure, flush, shutdown, track

EVENTS = 100
CALLS = 20_000
ROUNDS = 11
REPEAT = 3  # callgrind counts per arm (median)
TARGET = 1.10


def write_catalogue(directory: Path) -> Path:
    """100 entries in the shape of examples/events.json."""
    events = {
        f"event_{i:03d}": {
            "description": f"Synthetic event {i}.",
            "owner": "bench",
            "status": "active",
            "value": {"unit": "ms"},
            "labels": {
                "type": "object",
                "properties": {
                    "method": {"type": "string", "enum": ["GET", "POST", "PUT", "DELETE"]},
                    "endpoint": {"type": "string", "pattern": "^/api/", "maxLength": 200},
                    "status": {"type": "integer", "minimum": 100, "maximum": 599},
                    "request_id": {"type": "string", "pattern": "^r[0-9]+$"},
                },
                "required": ["method", "endpoint"],
                "additionalProperties": False,
            },
        }
        for i in range(EVENTS)
    }
    path = directory / "events.json"
    path.write_text(json.dumps({"events": events}), encoding="utf-8")
    return path


def calls(unique: bool) -> list[tuple[str, dict[str, object]]]:
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


def cpu_per_event(catalogue: Path | None, workload: list[tuple[str, dict[str, object]]]) -> float:
    """Process CPU seconds per event for the workload's valid calls, through the console output."""
    options: dict[str, object] = {"exporter": "console", "global_providers": "never", "handle_sigterm": False}
    if catalogue is not None:
        options["catalogue"] = catalogue
    configure(**options)
    for name, labels in workload[:2_000]:  # warm the caches and start the worker outside the measurement
        track(name, value=1.0, **labels)
    flush(30)
    start = time.process_time()
    for name, labels in workload:
        track(name, value=1.0, **labels)
    flush(30)
    spent = time.process_time() - start
    shutdown(30)
    return spent / len(workload)


def compare(catalogue: Path, workload: list[tuple[str, dict[str, object]]],
            rounds: int = ROUNDS) -> tuple[float, float, float, list[float]]:
    """Median CPU per event without and with the catalogue, the median ratio, and every round's ratio."""
    ratios, plain, checked = [], [], []
    for round_ in range(rounds):
        first_plain = round_ % 2 == 0
        a = cpu_per_event(None if first_plain else catalogue, workload)
        b = cpu_per_event(catalogue if first_plain else None, workload)
        without, with_ = (a, b) if first_plain else (b, a)
        plain.append(without)
        checked.append(with_)
        ratios.append(with_ / without)
    return statistics.median(plain), statistics.median(checked), statistics.median(ratios), ratios


def quiet_events_logger() -> None:
    events_logger = logging.getLogger("gyrinx.tracker")
    events_logger.addHandler(logging.NullHandler())  # lines are built and dispatched, then discarded
    events_logger.setLevel(logging.INFO)
    events_logger.propagate = False


SMALL, LARGE = 1_000, 4_000
_COLLECTED = re.compile(r"Collected : (\d+)")


def instructions_per_event(catalogue: Path | None, unique: bool) -> float:
    """Instructions of one call (caller and exporter thread) under callgrind, start-up cancelled."""
    counts = []
    for calls_ in (SMALL, LARGE):
        done = subprocess.run(
            ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable, __file__, "child",
             str(catalogue or ""), "unique" if unique else "repeating", str(calls_)],
            env={**os.environ, "PYTHONHASHSEED": "0"}, capture_output=True, text=True, timeout=900)
        match = _COLLECTED.search(done.stderr)
        if done.returncode != 0 or match is None:
            raise RuntimeError(f"callgrind run failed: {done.stderr.strip()[-300:]}")
        counts.append(int(match.group(1)))
    return (counts[1] - counts[0]) / (LARGE - SMALL)


def child(catalogue: str, workload: str, count: int) -> None:
    """One callgrind run: warm-up, a full garbage collection, then ``count`` calls, flushed.

    The collection after the warm-up makes the two runs of an arm start from the same state: the
    objects the warm-up created (instruments, series, caches) otherwise trigger a full collection
    of the whole heap at a point that falls in one run's window and not the other's, which moved
    an arm's count per event by thousands of instructions from one catalogue version to the next.
    """
    quiet_events_logger()
    made = calls(workload == "unique")
    options: dict[str, object] = {"exporter": "console", "global_providers": "never", "handle_sigterm": False}
    if catalogue:
        options["catalogue"] = catalogue
    configure(**options)
    for name, labels in made[:2_000]:
        track(name, value=1.0, **labels)
    flush(60)
    gc.collect()
    for name, labels in made[2_000:2_000 + count]:
        track(name, value=1.0, **labels)
    flush(60)
    shutdown(60)


WORKLOADS = (("repeating", "repeating labels", False), ("unique", "unique id label", True))


def measure(rounds: int, count: int, instructions: bool, repeat: int = REPEAT) -> dict[str, dict[str, Any]]:
    """Both workloads: timed ratios (``rounds`` rounds of ``count`` calls), and callgrind counts if asked
    (the median of ``repeat`` counts per arm, and every count)."""
    quiet_events_logger()
    results: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory() as directory:
        catalogue = write_catalogue(Path(directory))
        for key, _, unique in WORKLOADS:
            plain, checked, ratio, ratios = compare(catalogue, calls(unique)[:count], rounds)
            results[key] = {"without_us": plain * 1e6, "with_us": checked * 1e6, "ratio": ratio,
                            "low": min(ratios), "high": max(ratios)}
        if instructions:
            jobs = [(arm, unique) for _ in range(repeat) for _, _, unique in WORKLOADS for arm in (None, catalogue)]
            with ThreadPoolExecutor(max_workers=2) as pool:
                counts = list(pool.map(lambda job: instructions_per_event(*job), jobs))
            for index, (key, _, _) in enumerate(WORKLOADS):
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
    command = [sys.executable, "-m", "benchmarks.catalogue_cost", "--json", "--rounds", str(rounds), "--calls",
               str(count), "--repeat", str(repeat)] + ([] if instructions else ["--no-instructions"])
    done = subprocess.run(command, capture_output=True, text=True, timeout=1_800)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if not lines:
        return {"error": " / ".join(done.stderr.strip().splitlines()[-3:]) or "no output"}
    result: dict[str, Any] = json.loads(lines[-1])
    return result


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
    print(f"catalogue of {EVENTS} events, {args.calls} calls x {args.rounds} interleaved rounds, process CPU per event")
    for key, title, _ in WORKLOADS:
        result = results[key]
        verdict = "met" if result["ratio"] <= TARGET else "MISSED"
        print(f"  {title:17s} without {result['without_us']:6.2f} us, with {result['with_us']:6.2f} us: ratio "
              f"{result['ratio']:.3f} (rounds {result['low']:.3f}-{result['high']:.3f}); target <= {TARGET:.2f}: {verdict}")
        if "instructions_with" in result:
            without, with_ = result["instructions_without"], result["instructions_with"]
            print(f"  {title:17s} instructions/event without {without:,.0f}, with {with_:,.0f} (medians of "
                  f"{len(result['instructions_runs_with'])}): ratio {with_ / without:.3f} (runs "
                  f"{result['instructions_low']:.3f}-{result['instructions_high']:.3f}); target <= {TARGET:.2f}: "
                  f"{'met' if with_ / without <= TARGET else 'MISSED'}")
    return 1 if any(result["ratio"] > TARGET for result in results.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
