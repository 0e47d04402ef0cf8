"""Load runs, each in a fresh process so that peak RSS (``VmHWM``) is that implementation's alone.

``threads KEY SECONDS [--max-queue N]``: 8 threads call as fast as they can (``repeated`` runs
that several times per key, interleaved, and keeps the median); ``burst KEY EVENTS``:
one thread makes EVENTS calls as fast as it can; then one flush. Every call is counted by the
thread that made it and delivery where the output landed. Our books must balance (calls = emitted
= exported + dropped) and be exact (delivered = exported); the others keep no books, so what they
lost is what was called but never arrived. Prints one JSON object; ``run`` starts such a child
(through ``child``, which every child process of the harness goes through).

``instructions`` runs bursts under callgrind: a noise-free cross-check of the CPU ratios (it counts
work, not waiting: GIL hand-offs and cache misses are only in the timed rounds).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import gyrinx_tracker
from benchmarks.impls import BY_KEY, Env, Runner, Sink, running, shutdown_app_providers
from benchmarks.receivers import Endpoints, passed, passing
from benchmarks.rounds import play, span
from benchmarks.workload import EVENT, request_calls

THREADS = 8
# callgrind runs: the difference cancels start-up and warm-up. SMALL covers the whole pool of 1,000
# distinct calls (workload.POOL), so both runs end with the same metric series and the per-series
# work of the final export (a metric line or data point per series) cancels out too.
SMALL, LARGE = 1_000, 2_000
SDK_DEFAULT_QUEUE = 2_048  # what an SDK set-up gets unless it asks for more


def status_mb(field: str = "VmHWM") -> float:
    """A size of this process in MB from ``/proc/self/status``: ``VmHWM`` (peak RSS) or ``VmRSS`` (RSS now)."""
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) / 1024 for line in status if line.startswith(field + ":"))


def hammer(track: Callable[..., None], seconds: float) -> int:
    """Call ``track`` from ``THREADS`` threads (100 distinct calls each) for ``seconds``; the calls made."""
    calls, deadline = request_calls(THREADS * 100), time.perf_counter() + seconds

    def work(slot: int) -> int:
        mine, made = calls[slot * 100:(slot + 1) * 100], 0
        while time.perf_counter() < deadline:
            for value, labels in mine:
                track(EVENT, 1, value, **labels)
            made += len(mine)
        return made

    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        return sum(pool.map(work, range(THREADS)))


def measured(runner: Runner, load: Callable[[Callable[..., None]], int]) -> dict[str, Any]:
    """Run ``load(track)``, flush, and account for every call (``rounds.span``)."""
    made = span(runner, load)
    calls, delivered, books = made["calls"], made["got"][0], made["books"]
    result: dict[str, Any] = {"calls": calls, "delivered": delivered, "lost": calls - delivered,
                              "calls_per_s": calls / made["loop_s"], "delivered_per_s": delivered / made["wall_s"],
                              "cpu_us_per_delivered": made["cpu_s"] / max(delivered, 1) * 1e6}
    if books is not None:
        emitted, exported, dropped = books
        result.update(emitted=emitted, exported=exported, dropped=dropped,
                      balanced=emitted == calls == exported + dropped, exact=delivered == exported,
                      dropped_by_reason=gyrinx_tracker.stats()["dropped_by_reason"])
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=("threads", "burst"))
    parser.add_argument("key", choices=BY_KEY)
    parser.add_argument("amount", type=float, help="seconds (threads) or events (burst)")
    parser.add_argument("--max-queue", type=int)
    parser.add_argument("--warm-up", type=int, default=1_000)
    args = parser.parse_args()
    sink = Sink()
    env = Env(sink, passed(), sdk_queue=SDK_DEFAULT_QUEUE,
              ours={"max_queue": args.max_queue} if args.max_queue else {})
    with running(BY_KEY[args.key], env, args.warm_up) as runner:
        if args.mode == "threads":
            result = measured(runner, lambda track: hammer(track, args.amount))
        else:  # the calls built before the clock starts
            calls = request_calls(int(args.amount))
            result = measured(runner, lambda track: play(track, calls))
    shutdown_app_providers()
    sink.close()
    print(json.dumps({"key": args.key, "peak_rss_mb": status_mb(), **result}))


def child(command: list[str], what: str, env: dict[str, str] | None = None, timeout: float = 300,
          cwd: str | None = None) -> dict[str, Any]:
    """Run a child process: its last JSON line, or ``{"error"}`` if it failed or printed none."""
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=env, cwd=cwd)
    except subprocess.TimeoutExpired:
        return last_json("", f"timed out after {timeout:g} s", what)
    return last_json(done.stdout, done.stderr, what, done.returncode)


def last_json(stdout: str, stderr: str, what: str, returncode: int | None = 0) -> dict[str, Any]:
    """A child's JSON result, or what went wrong (printed too)."""
    lines = [line for line in stdout.splitlines() if line.startswith("{")]
    if returncode or not lines:
        error = " / ".join(stderr.strip().splitlines()[-3:]) or "no output"
        print(f"  ! {what} failed: {error}", file=sys.stderr)
        return {"error": error}
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def callgrind(command: list[str], env: dict[str, str] | None = None) -> int:
    """The instructions ``command`` executes under callgrind (hash seed pinned)."""
    done = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", *command],
                          env={**os.environ, "PYTHONHASHSEED": "0", **(env or {})}, capture_output=True, text=True,
                          timeout=900)
    match = re.search(r"Collected : (\d+)", done.stderr)
    if done.returncode or match is None:
        raise RuntimeError(f"callgrind run of {' '.join(command[1:])} failed: {done.stderr.strip()[-300:]}")
    return int(match.group(1))


def run(mode: str, key: str, amount: float, endpoints: Endpoints, max_queue: int | None = None) -> dict[str, Any]:
    """One load run in a fresh process; ``{"key", "error"}`` if it failed."""
    command = [sys.executable, "-m", "benchmarks.load", mode, key, str(amount)]
    command += ["--max-queue", str(max_queue)] if max_queue else []
    return {"key": key, **child(command, key, {**os.environ, **passing(endpoints)})}


def repeated(keys: tuple[str, ...], runs: int, seconds: float, endpoints: Endpoints) -> dict[str, dict[str, Any]]:
    """``runs`` thread runs of every key, interleaved (key by key, round after round), so a slow
    minute of this shared machine falls on every key alike; each key's result is ``median_run``."""
    found: dict[str, list[dict[str, Any]]] = {key: [] for key in keys}
    for _ in range(runs):
        for key in keys:
            found[key].append(run("threads", key, seconds, endpoints))
    return {key: median_run(key, made) for key, made in found.items()}


def median_run(key: str, runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The run with the median rate received, with every run's rate beside it (``rates``, in the
    order run) and the books judged over all of them: one unbalanced run makes the key's books
    unbalanced. A failed run is reported as the key's error; an even count takes the lower middle."""
    failed = [made for made in runs if "error" in made]
    if failed or not runs:
        return {"key": key, "error": failed[0]["error"] if failed else "no run"}
    ordered = sorted(runs, key=lambda made: made["delivered_per_s"])
    middle = dict(ordered[(len(ordered) - 1) // 2])
    middle["rates"] = [made["delivered_per_s"] for made in runs]
    if "balanced" in middle:
        middle["balanced"] = all(made["balanced"] for made in runs)
        middle["exact"] = all(made["exact"] for made in runs)
    return middle


def instructions(key: str, endpoints: Endpoints) -> float:
    """Instructions per call of ``key``: bursts of ``SMALL`` and ``LARGE`` calls under callgrind."""
    def count(calls: int) -> int:
        # The metric interval pinned: a run slowed past it by valgrind (and a loaded machine) would
        # add a periodic export to one of the two runs only; the final export at exit is in both.
        return callgrind([sys.executable, "-m", "benchmarks.load", "burst", key, str(calls), "--warm-up", "100"],
                         {"GYRINX_TRACKER_METRIC_INTERVAL": "3600", **passing(endpoints)})

    with ThreadPoolExecutor(max_workers=2) as pool:
        small, large = pool.map(count, (SMALL, LARGE))
    return (large - small) / (LARGE - SMALL)


if __name__ == "__main__":
    main()
