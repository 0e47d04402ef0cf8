"""What ``track()`` costs the calling thread alone, against its floor and the original tracker.

Three callables get the same calls (``workload.request_calls``: one event, a value, four labels):

- ``floor``: ``dq.append((event, n, value, labels))`` behind the same signature as ``track``: the
  least any queueing tracker can do on the caller's thread;
- ``ours``: ``gyrinx_tracker.track`` with the worker NOT draining while the clock runs (a queue and
  a batch larger than the burst, an interval of an hour: nothing rings it), so only the call is
  measured, not the GIL the worker takes; the queue is flushed after each burst, off the clock;
- ``seed``: the original tracker, ``logger.info(json.dumps(payload))`` into a ``StreamHandler``.

``python -m benchmarks.caller_floor time [local|stdout] [ROUNDS]``: interleaved bursts in one process
(the order rotates per round), the calling thread's CPU time, medians of per-round ratios. Timings on a
shared machine are noisy:
``python -m benchmarks.caller_floor instr [local|stdout]`` counts instructions per call of each
callable under callgrind instead (two burst sizes per callable, the difference per call: start-up
cancels; each run ends with ``os._exit`` so no flush or exit hook is counted).

``local``: ``exporter="console"`` (the call site is captured: the local output's records carry it);
``stdout``: ``exporter="gcp", gcp_transport="stdout"``, metrics off (no call site).
"""

from __future__ import annotations

import gc
import logging
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections import deque
from collections.abc import Callable
from typing import Any

import gyrinx_tracker
from benchmarks.impls import seed_track
from benchmarks.workload import EVENT, request_calls

BURST = 2_000  # calls per timed burst: below the queue and batch sizes set in ``_configure``
SMALL, LARGE = 2_000, 6_000  # callgrind burst sizes

_dq: deque[tuple[str, int, float | None, dict[str, Any]]] = deque()
_append = _dq.append


def floor(event: str, n: int = 1, value: float | None = None, **labels: Any) -> None:
    _append((event, n, value, labels))


def _sink() -> Any:
    handle, path = tempfile.mkstemp(dir="/dev/shm" if os.path.isdir("/dev/shm") else None)
    os.unlink(path)
    return open(handle, "w")  # lives as long as the process


def _seed() -> Callable[..., None]:
    logger = logging.getLogger("bench.caller_floor.seed")
    logger.handlers[:], logger.propagate = [logging.StreamHandler(_sink())], False
    logger.setLevel(logging.INFO)
    return seed_track(logger)


def _configure(mode: str) -> None:
    quiet = {"max_queue": 1 << 30, "batch_size": 1 << 30, "flush_interval": 3600.0, "handle_sigterm": False,
             "global_providers": "never"}
    if mode == "local":
        logger = logging.getLogger("gyrinx.tracker")
        logger.handlers[:], logger.propagate = [logging.StreamHandler(_sink())], False
        logger.setLevel(logging.INFO)
        gyrinx_tracker.configure(exporter="console", **quiet)
    else:
        sys.stdout = _sink()
        gyrinx_tracker.configure(exporter="gcp", gcp_transport="stdout", gcp_metrics=False,
                                 project_id="bench-project", **quiet)
    for value, labels in request_calls(1_000, seed=99):  # warm up: the worker started, caches filled
        gyrinx_tracker.track("warm_up", 1, value, **labels)
        gyrinx_tracker.track(EVENT, 1, value, **labels)
    gyrinx_tracker.flush(60)


def _burst(track: Callable[..., None], calls: list[tuple[float, dict[str, Any]]]) -> float:
    """CPU seconds of this thread for the burst, GC off (as in the harness' rounds, a collection is
    nobody's cost). Thread CPU time, not wall time: on a shared machine a burst's wall time is
    mostly other processes' and threads' turns."""
    gc.collect()
    gc.disable()
    try:
        start = time.thread_time()
        for value, labels in calls:
            track(EVENT, 1, value, **labels)
        return time.thread_time() - start
    finally:
        gc.enable()


def timed(mode: str, rounds: int) -> None:
    _configure(mode)
    seed = _seed()
    calls = request_calls(BURST)
    impls: list[tuple[str, Callable[..., None]]] = [("floor", floor), ("ours", gyrinx_tracker.track), ("seed", seed)]
    per_call: dict[str, list[float]] = {name: [] for name, _ in impls}
    for index in range(rounds):
        turn = index % len(impls)
        for name, track in impls[turn:] + impls[:turn]:
            per_call[name].append(_burst(track, calls) / BURST * 1e9)
            if name == "floor":
                _dq.clear()
            elif name == "ours":
                books = gyrinx_tracker.stats()
                assert books["dropped"] == 0 and books["queued"] <= BURST, books
                gyrinx_tracker.flush(60)
    books = gyrinx_tracker.stats()
    assert books["dropped"] == 0 and books["emitted"] == books["exported"], books
    median = {name: statistics.median(values) for name, values in per_call.items()}
    vs_floor = statistics.median(o / f for o, f in zip(per_call["ours"], per_call["floor"], strict=True))
    vs_seed = statistics.median(o / s for o, s in zip(per_call["ours"], per_call["seed"], strict=True))
    out = sys.__stdout__
    print(f"mode={mode} rounds={rounds} burst={BURST} ns/call (median): "
          + "  ".join(f"{name}={value:.0f}" for name, value in median.items()), file=out)
    print(f"ours/floor = {vs_floor:.2f}x   ours/seed = {vs_seed:.3f}x   (medians of per-round ratios)", file=out)


def _one_burst(mode: str, which: str, count: int) -> None:
    """A child under callgrind: set up, one burst of ``count`` calls, exit without any clean-up."""
    if which == "ours":
        _configure(mode)
    track = {"floor": floor, "ours": gyrinx_tracker.track}.get(which) or _seed()
    if which == "seed":
        track("warm_up", 1, 1.0, a="b")
    _burst(track, request_calls(count))
    os._exit(0)  # no flush, no exit hook: only the calls differ between the two burst sizes


def _callgrind(mode: str, which: str, count: int) -> int:
    done = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable,
                           "-m", "benchmarks.caller_floor", "one", mode, which, str(count)],
                          env={**os.environ, "PYTHONHASHSEED": "0"}, capture_output=True, text=True, timeout=900)
    match = re.search(r"Collected : (\d+)", done.stderr)
    if match is None:
        raise RuntimeError(done.stderr[-500:])
    return int(match.group(1))


def instructions(mode: str) -> None:
    per_call = {which: (_callgrind(mode, which, LARGE) - _callgrind(mode, which, SMALL)) / (LARGE - SMALL)
                for which in ("floor", "ours", "seed")}
    print(f"mode={mode} instructions/call: " + "  ".join(f"{k}={v:,.0f}" for k, v in per_call.items()))
    print(f"ours/floor = {per_call['ours'] / per_call['floor']:.2f}x   "
          f"ours/seed = {per_call['ours'] / per_call['seed']:.3f}x")


if __name__ == "__main__":
    command, mode = sys.argv[1], (sys.argv[2] if len(sys.argv) > 2 else "local")
    if command == "time":
        timed(mode, int(sys.argv[3]) if len(sys.argv) > 3 else 30)
    elif command == "instr":
        instructions(mode)
    else:
        _one_burst(mode, sys.argv[3], int(sys.argv[4]))
