"""Bursts from a cold start per mode and ``WHEN_FULL`` policy, and the Cloud Logging API ceiling per
``EXPORT_CONCURRENCY``: issue 9's "50,000 in 0.1 s" and "256 events/s at 2 s per call", as figures.
The method, as ``RESULTS.md`` states it, is ``report.POLICIES``.

``python -m benchmarks.bursts [--quick]`` runs this phase alone, with its own receivers.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import gyrinx_tracker
from benchmarks.impls import Sink
from benchmarks.receivers import Endpoints, counts, receivers
from benchmarks.workload import EVENT, Call, request_calls
from gyrinx_tracker import Snapshot

MODES = ("local", "stdout", "api", "otlp")
POLICIES = ("block", "drop")
BOUNDS = (1, 4)  # EXPORT_CONCURRENCY values for the ceiling
# name: (full run, --quick). A quick burst keeps the full run's ratio of events to queue (2.5).
SETTINGS: dict[str, tuple[int, int]] = {"events": (50_000, 10_000), "max_queue": (20_000, 4_000),
                                        "ceiling_events": (4_096, 2_048)}
DELAY = (2.0, 0.5)  # seconds per WriteLogEntries call: the figure; --quick
POLL = 0.002
SETTLE_LIMIT = 120.0  # seconds after the first call: a pipeline that has not settled by then is reported so
ENVIRONMENT = "GYRINX_BENCH_RECEIVERS"


def environment(mode: str, policy: str, max_queue: int, endpoints: Endpoints) -> dict[str, str]:
    """The child's variables: the mode and policy as a deployment would set them, nothing else ours."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GYRINX_TRACKER_", "OTEL_"))}
    env.update(GYRINX_TRACKER_WHEN_FULL=policy, GYRINX_TRACKER_MAX_QUEUE=str(max_queue),
               GYRINX_TRACKER_HANDLE_SIGTERM="false", GYRINX_TRACKER_GLOBAL_PROVIDERS="never")
    env[ENVIRONMENT] = json.dumps(endpoints)
    if mode == "local":
        env.update(GYRINX_TRACKER_EXPORTER="console")
    elif mode == "otlp":
        env.update(GYRINX_TRACKER_EXPORTER="otlp", OTEL_EXPORTER_OTLP_ENDPOINT=endpoints["otlp"],
                   OTEL_EXPORTER_OTLP_INSECURE="true")
    else:
        env.update(GYRINX_TRACKER_EXPORTER="gcp", GYRINX_TRACKER_GCP_TRANSPORT=mode, GOOGLE_CLOUD_PROJECT="bench",
                   GYRINX_TRACKER_CLOUD_MONITORING_ENDPOINT=endpoints["otlp"].removeprefix("http://"))
        if mode == "api":
            env.update(GYRINX_TRACKER_CLOUD_LOGGING_ENDPOINT=endpoints["api"])
    return env


def _settled(stats: Snapshot) -> bool:
    """Every event the pipeline received is exported or dropped (or sampled out): nothing left inside."""
    return (stats["emitted"] == stats["exported"] + stats["dropped"] + stats["sampled_out"]
            and not stats["queued"] and not stats["in_flight"])


def _percentile(sorted_ns: list[int], share: float) -> float:
    return sorted_ns[min(len(sorted_ns) - 1, int(len(sorted_ns) * share))] / 1_000


def _receiver(mode: str, sink: Sink, endpoints: Endpoints) -> Callable[[], int]:
    """Events counted where ``mode`` delivers them, from zero at this call."""
    if mode == "local":  # as an app's logging configuration would route the tracker's logger
        logger = logging.getLogger("gyrinx.tracker")
        logger.handlers[:], logger.propagate = [logging.StreamHandler(sink.file)], False
        logger.setLevel(logging.INFO)
    if mode in ("local", "stdout"):
        return sink.lines

    def received() -> int:
        got = counts(endpoints)
        return got["entries"] if mode == "api" else got["logs"]

    before = received()
    return lambda: received() - before


def _timed(calls: list[Call]) -> tuple[list[int], int]:
    """Track every call from this thread as fast as it can: each call's ns, and the whole loop's."""
    track, clock, took = gyrinx_tracker.track, time.perf_counter_ns, [0] * len(calls)
    start = clock()
    for i, (value, labels) in enumerate(calls):
        began = clock()
        track(EVENT, 1, value, **labels)
        took[i] = clock() - began
    return took, clock() - start


def burst(mode: str, events: int) -> dict[str, Any]:
    """In this fresh process: the timed burst, the wait until settled, the books and the delivery."""
    sink, calls = Sink(), request_calls(events)
    delivered = _receiver(mode, sink, json.loads(os.environ[ENVIRONMENT]))
    with contextlib.redirect_stdout(sink.file) if mode == "stdout" else contextlib.nullcontext():
        start = time.perf_counter()
        took, loop_ns = _timed(calls)
        while not _settled(gyrinx_tracker.stats()) and time.perf_counter() - start < SETTLE_LIMIT:
            time.sleep(POLL)
        settled = time.perf_counter() - start
        gyrinx_tracker.flush(30)
        stats, got = gyrinx_tracker.stats(), delivered()
        gyrinx_tracker.shutdown(10)
    sink.close()
    first, loop = took[0], loop_ns / 1e9
    took.sort()
    return {"mode": mode, "policy": os.environ["GYRINX_TRACKER_WHEN_FULL"], "events": events,
            "max_queue": int(os.environ["GYRINX_TRACKER_MAX_QUEUE"]), "delivered": got,
            "emitted": stats["emitted"], "exported": stats["exported"], "dropped": stats["dropped"],
            "dropped_by_reason": stats["dropped_by_reason"],
            "balanced": stats["emitted"] == events and _settled(stats), "exact": got == stats["exported"],
            "burst_s": loop, "calls_per_s": events / loop, "p50_us": _percentile(took, 0.5),
            "p99_us": _percentile(took, 0.99), "max_ms": took[-1] / 1e6, "first_ms": first / 1e6,
            "until_delivered_s": settled}


def _child(command: list[str], env: dict[str, str] | None, what: str) -> dict[str, Any]:
    """The last JSON line of a child, or what went wrong."""
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=300, env=env)
    except subprocess.TimeoutExpired:
        return {"error": f"{what}: timed out"}
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode or not lines:
        error = " / ".join(done.stderr.strip().splitlines()[-3:]) or "no output"
        print(f"  ! {what} failed: {error}", file=sys.stderr)
        return {"error": f"{what}: {error}"}
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def ceiling(bound: int, delay: float, events: int) -> dict[str, Any]:
    """One bound of ``benchmarks/api_ceiling.py`` in a fresh process, with our variables cleared."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GYRINX_TRACKER_", "OTEL_"))}
    command = [sys.executable, "-m", "benchmarks.api_ceiling", "--one", str(bound), "--delay", str(delay),
               "--events", str(events)]
    return {"delay_s": delay, "events": events, **_child(command, env, f"ceiling at bound {bound}")}


def run(endpoints: Endpoints, quick: bool = False) -> dict[str, Any]:
    """Every mode × policy, then the ceiling per bound; ``{"bursts": [...], "ceiling": [...]}``."""
    pick = 1 if quick else 0
    events, max_queue, ceiling_events = (SETTINGS[name][pick] for name in ("events", "max_queue", "ceiling_events"))
    delay = DELAY[pick]
    found: dict[str, Any] = {"bursts": [], "ceiling": []}
    for mode in MODES:
        for policy in POLICIES:
            command = [sys.executable, "-m", "benchmarks.bursts", "--one", mode, "--events", str(events)]
            result = _child(command, environment(mode, policy, max_queue, endpoints), f"burst {mode}/{policy}")
            found["bursts"].append({"mode": mode, "policy": policy, **result})
    found["ceiling"] = [ceiling(bound, delay, ceiling_events) for bound in BOUNDS]
    return found


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bursts", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="bursts of 10,000 into a queue of 4,000; 0.5 s calls")
    parser.add_argument("--one", choices=MODES, help=argparse.SUPPRESS)  # a child: one burst
    parser.add_argument("--events", type=int, default=SETTINGS["events"][0], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(burst(args.one, args.events)))
        return
    from benchmarks.report import policy_tables  # not in the children: they time their own imports

    started = time.perf_counter()
    with receivers() as endpoints:
        found = run(endpoints, args.quick)
    print(f"{policy_tables(found)}\ntotal {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
