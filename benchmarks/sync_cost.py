"""The caller's cost of ``track()`` under the pytest plugin (synchronous delivery) and without it.

Public API only. Each round times a loop of calls with a null handler on ``gyrinx.tracker`` (so the
local output does all its work but writes nowhere), background then synchronous, interleaved;
background's caller cost excludes the export (the worker does it), synchronous includes it. The
original tracker's ``logger.info(json.dumps(payload))`` is the yardstick for both.

    python -m benchmarks.sync_cost [--calls 20000] [--rounds 7]
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import time
from collections.abc import Callable

import gyrinx_tracker

LABELS = {"endpoint": "/api/v1/fighters", "method": "GET", "status": 200}


class _Null(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        record.getMessage()


def _original(calls: int) -> float:
    logger = logging.getLogger("gyrinx.tracker")
    started = time.perf_counter()
    for _ in range(calls):
        logger.info(json.dumps({"event": "api_call", "n": 1, "labels": LABELS}))
    return (time.perf_counter() - started) / calls * 1e6


def _ours(delivery: str) -> Callable[[int], float]:
    def run(calls: int) -> float:
        gyrinx_tracker.configure(exporter="console", delivery=delivery, handle_sigterm=False,
                                 global_providers="never", max_queue=calls + 1, batch_size=calls + 1,
                                 flush_interval=60)
        track = gyrinx_tracker.track
        started = time.perf_counter()
        for _ in range(calls):
            track("api_call", **LABELS)
        elapsed = time.perf_counter() - started
        assert gyrinx_tracker.flush(60) and gyrinx_tracker.stats()["exported"] == calls
        return elapsed / calls * 1e6

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    logger = logging.getLogger("gyrinx.tracker")
    logger.addHandler(_Null())
    logger.setLevel(logging.INFO)
    logger.propagate = False
    kinds = {"original": _original, "background": _ours("background"), "sync": _ours("sync")}
    results: dict[str, list[float]] = {kind: [] for kind in kinds}
    for _ in range(args.rounds):
        for kind, run in kinds.items():
            results[kind].append(run(args.calls))
    gyrinx_tracker.shutdown()
    base = statistics.median(results["original"])
    print("| delivery | caller µs/call (median) | × original tracker's logger.info |")
    print("|---|---|---|")
    for kind, values in results.items():
        median = statistics.median(values)
        print(f"| {kind} | {median:.2f} | {median / base:.2f}× |")


if __name__ == "__main__":
    main()
