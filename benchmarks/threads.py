"""Eight threads calling ``track()`` at full speed, in a fresh process per implementation.

Run as ``python -m benchmarks.threads KEY SECONDS [--max-queue N] [--endpoint HOST:PORT]``; prints
one JSON object. A fresh process makes ``ru_maxrss`` the peak of that implementation alone.

Reported: calls per second while the threads run, events delivered per second (exported, over
the loop plus the final flush), the books (emitted = exported + dropped, checked exactly: every
call is counted by the thread that made it, independently of the tracker's own counters) and
peak RSS, with the RSS after set-up for reference.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
THREADS = 8


def rss_mb() -> float:
    """Current resident set size, from /proc (ru_maxrss only knows the peak)."""
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    return pages * resource.getpagesize() / 2**20


def peak_rss_mb() -> float:
    """Peak RSS of this process image: ``VmHWM`` (``ru_maxrss`` survives exec, so a child started
    by a big parent would report the parent's peak)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def reset_peak_rss() -> bool:
    """Start ``VmHWM`` again from the current RSS (Linux: ``5`` to ``/proc/self/clear_refs``)."""
    try:
        with open("/proc/self/clear_refs", "w") as clear_refs:
            clear_refs.write("5")
        return True
    except OSError:
        return False


def hammer(track: Any, seconds: float, threads: int = THREADS) -> tuple[list[int], float]:
    """Call ``track`` from ``threads`` threads until ``seconds`` pass; calls per thread, wall time."""
    from benchmarks.workload import EVENT, request_calls

    calls = request_calls(threads * 100)
    counts = [0] * threads
    stop = threading.Event()
    go = threading.Barrier(threads + 1)

    def work(slot: int) -> None:
        mine = calls[slot * 100:(slot + 1) * 100]
        go.wait()
        done = 0
        while not stop.is_set():
            for value, labels in mine:
                track(EVENT, 1, value, **labels)
            done += len(mine)
        counts[slot] = done

    workers = [threading.Thread(target=work, args=(slot,)) for slot in range(threads)]
    for worker in workers:
        worker.start()
    go.wait()
    started = time.perf_counter()
    time.sleep(seconds)
    stop.set()
    for worker in workers:
        worker.join()
    return counts, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("key")
    parser.add_argument("seconds", type=float)
    parser.add_argument("--max-queue", type=int)
    parser.add_argument("--endpoint")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from benchmarks.impls import BY_KEY, Env, naive_otel

    spec = BY_KEY[args.key]
    env = Env(endpoint=args.endpoint)
    options = {"max_queue": args.max_queue} if args.max_queue else {}
    if spec.key == "naive_otel":
        # The SDK's default queue (2,048): what a naive set-up gets, silent drops included.
        spec = type(spec)(**{**spec.__dict__, "build": lambda e: naive_otel(e, max_queue=2_048)})
    elif options:
        build = spec.build
        spec = type(spec)(**{**spec.__dict__, "build": lambda e: build(e, **options)})
    with spec.running(env, warm_up=0) as runner:
        rss_ready = rss_mb()
        cpu0 = time.process_time()
        started = time.perf_counter()
        counts, loop_wall = hammer(runner.track, args.seconds)
        runner.flush()
        total_wall = time.perf_counter() - started
        cpu = time.process_time() - cpu0
        books = runner.counts()
    calls = sum(counts)
    emitted, exported, dropped = books if books is not None else (calls, calls, 0)
    print(json.dumps({
        "key": args.key, "threads": THREADS, "seconds": loop_wall, "calls": calls,
        "emitted": emitted, "exported": exported, "dropped": dropped,
        "dropped_by_reason": _reasons(),
        "calls_per_s": calls / loop_wall, "delivered_per_s": exported / total_wall,
        "flush_s": total_wall - loop_wall, "cpu_us_per_delivered": cpu / max(exported, 1) * 1e6,
        "rss_ready_mb": rss_ready, "peak_rss_mb": peak_rss_mb(),
        "balanced": emitted == calls and emitted == exported + dropped,
    }))


def _reasons() -> dict[str, int]:
    import gyrinx_tracker

    return dict(gyrinx_tracker.stats()["dropped_by_reason"])


if __name__ == "__main__":
    main()
