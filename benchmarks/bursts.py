"""Bursts from a cold start per mode and ``WHEN_FULL`` policy, and the Cloud Logging API ceiling per
``EXPORT_CONCURRENCY``: issue 9's "50,000 in 0.1 s" and "256 events/s at 2 s per call", as figures.
The method, as ``RESULTS.md`` states it, is ``report.POLICIES``.

A burst child is configured through the environment only, so its first ``track()`` builds the
pipeline as a batch job's would; it imports no more of ours than before (``report`` and ``load``
are imported by the parent only), so that the first call's cost stays the tracker's own.
A ceiling child runs against its own loopback Cloud Logging server set to answer each call after
*s per call*; its rate is the events the *server* stored divided by the time from the first
``track()`` until it had them all, with the server's count of calls handled at once beside it.

``python -m benchmarks.bursts [--quick]`` runs this phase alone, with its own receivers.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import sys
import time
from typing import Any

import gyrinx_tracker
from benchmarks.impls import Env, Sink, _received, _to_sink
from benchmarks.receivers import Endpoints, passed, passing, receivers
from benchmarks.workload import EVENT, Call, request_calls
from gyrinx_tracker import Snapshot

MODES = ("local", "stdout", "api", "otlp")
POLICIES = ("block", "drop")
BOUNDS = (1, 4)  # EXPORT_CONCURRENCY values for the ceiling
# name: (full run, --quick). A quick burst keeps the full run's ratio of events to queue (2.5); the
# ceiling's delay is the 2 s per WriteLogEntries call.
SETTINGS: dict[str, tuple[Any, Any]] = {"events": (50_000, 10_000), "max_queue": (20_000, 4_000),
                                        "ceiling_events": (4_096, 2_048), "delay": (2.0, 0.5)}
POLL = 0.002
SETTLE_LIMIT = 120.0  # seconds after the first call: a pipeline that has not settled by then is reported so
BATCH = 512  # the ceiling's batch size


def clean_environment() -> dict[str, str]:
    """This process's variables without ours or OpenTelemetry's: a child gets only what it is given."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("GYRINX_TRACKER_", "OTEL_"))}


def environment(mode: str, policy: str, max_queue: int, endpoints: Endpoints) -> dict[str, str]:
    """The child's variables: the mode and policy as a deployment would set them, nothing else ours."""
    env = {**clean_environment(), **passing(endpoints)}
    env.update(GYRINX_TRACKER_WHEN_FULL=policy, GYRINX_TRACKER_MAX_QUEUE=str(max_queue),
               GYRINX_TRACKER_HANDLE_SIGTERM="false", GYRINX_TRACKER_GLOBAL_PROVIDERS="never")
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
    if mode == "local":  # as an app's logging configuration would route the tracker's logger
        _to_sink(logging.getLogger("gyrinx.tracker"), logging.StreamHandler(sink.file))
    # where mode delivers: lines in the sink file, or the receivers' count, from zero at this call
    count = _received(Env(sink, passed()), {"local": "lines", "stdout": "lines", "api": "entries"}.get(mode, "logs"))
    before = count()[0]
    with contextlib.redirect_stdout(sink.file) if mode == "stdout" else contextlib.nullcontext():
        start = time.perf_counter()
        took, loop_ns = _timed(calls)
        while not _settled(gyrinx_tracker.stats()) and time.perf_counter() - start < SETTLE_LIMIT:
            time.sleep(POLL)
        settled = time.perf_counter() - start
        gyrinx_tracker.flush(30)
        stats, got = gyrinx_tracker.stats(), count()[0] - before
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


def ceiling(bound: int, delay: float, events: int) -> dict[str, Any]:
    """In this fresh process, one bound: the server-verified rate and the most calls in the server at once."""
    from tests.servers.cloud_logging import CloudLoggingServer

    with CloudLoggingServer(max_workers=max(8, bound * 2)) as server:
        server.set_delay(delay)
        gyrinx_tracker.configure(exporter="gcp", gcp_transport="api", project_id="bench",
                                 cloud_logging_endpoint=server.endpoint, gcp_metrics=False,
                                 global_providers="never", handle_sigterm=False, max_queue=events,
                                 batch_size=BATCH, export_concurrency=bound, export_timeout=delay * 4 + 5)
        started = time.monotonic()
        for seq in range(events):
            gyrinx_tracker.track("ceiling_probe", seq=seq)
        stored_all = server.wait_for(events, timeout=events / BATCH * delay * 2 + 30)
        elapsed = time.monotonic() - started
        gyrinx_tracker.flush(delay * 4 + 5)  # the last sender settles its books after the answer
        stats = gyrinx_tracker.stats()
        gyrinx_tracker.shutdown(5)
        return {"stored": server.entry_count(), "exported": stats["exported"], "all_stored": stored_all,
                "seconds": round(elapsed, 2), "events_per_s": round(server.entry_count() / elapsed),
                "peak_in_server": server.peak_in_server}


def run(endpoints: Endpoints, quick: bool = False) -> dict[str, Any]:
    """Every mode × policy, then the ceiling per bound; ``{"bursts": [...], "ceiling": [...]}``."""
    from benchmarks.load import child  # as report in main: the children need neither

    events, max_queue, ceiling_events, delay = (SETTINGS[name][1 if quick else 0] for name in SETTINGS)
    me = [sys.executable, "-m", "benchmarks.bursts"]
    found: dict[str, Any] = {"bursts": [], "ceiling": []}
    for mode in MODES:
        for policy in POLICIES:
            result = child([*me, "--one", mode, "--events", str(events)], f"burst {mode}/{policy}",
                           environment(mode, policy, max_queue, endpoints))
            found["bursts"].append({"mode": mode, "policy": policy, **result})
    for bound in BOUNDS:
        result = child([*me, "--ceiling", str(bound), "--delay", str(delay), "--events", str(ceiling_events)],
                       f"ceiling at bound {bound}", clean_environment())
        found["ceiling"].append({"bound": bound, "delay_s": delay, "events": ceiling_events, **result})
    return found


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bursts", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="bursts of 10,000 into a queue of 4,000; 0.5 s calls")
    parser.add_argument("--one", choices=MODES, help=argparse.SUPPRESS)  # a child: one burst
    parser.add_argument("--ceiling", type=int, help=argparse.SUPPRESS)  # a child: one bound of the ceiling
    parser.add_argument("--events", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--delay", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one or args.ceiling:
        print(json.dumps(burst(args.one, args.events) if args.one else ceiling(args.ceiling, args.delay, args.events)))
        return
    from benchmarks.report import policy_tables

    started = time.perf_counter()
    with receivers() as endpoints:
        found = run(endpoints, args.quick)
    print(f"{policy_tables(found)}\ntotal {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
