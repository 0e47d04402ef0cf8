"""The memory soak: sustained overload, RSS recorded over time (``make bench``; ``python -m benchmarks.soak``).

Eight threads track as fast as they can, each call with a fresh 100 KB label, against the loopback
OTLP receiver answering one call at a time, each after 1 s: the queue stays full, the byte budget spent, every
export slow. The child samples its own RSS (``/proc/self/statm``: what the kernel bills, the
allocator's free lists and fragmentation included) every second; the parent writes the curve, the
peak, the growth over the last minute, the books (ours and the receiver's own count) and the
verdict against docs/faults.md's bound to ``benchmarks/SOAK.md``.

The bound is computed, not typed in: ``bound()`` is docs/faults.md's formula, fed with the
configuration the child ran with and the baseline it measured before the overload began. PASS
means the peak stayed under it and the last minute grew by less than ``CREEP_LIMIT``.

Two runs: the default settings (``WHEN_FULL=block``: the callers wait for room, so the queue is
full and the exporter busy all the time) and ``WHEN_FULL=drop`` (the callers never wait: a fresh
100 KB string per call as fast as eight threads can make them, most dropped as ``queue_full``; the
allocator's hardest case). Each takes ``--seconds`` (180 by default): run it once, not in a loop
(shared CPUs). ``--trace`` adds tracemalloc's largest holders at the end (slower: a diagnosis).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).parents[1]
THREADS, LABEL_BYTES, RECEIVER_DELAY = 8, 100_000, 1.0
MB = 1e6
CREEP_LIMIT = 0.05  # MB/s over the last minute: more than this is a leak, not noise (3 MB/min)
VARIANTS = ("block", "drop")


def rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / MB


def mallinfo() -> dict[str, float] | None:
    """glibc's own account (``mallinfo2``), MB: ``free`` held in its arenas for reuse (``fordblks``),
    ``in_use`` by the program (``uordblks`` + ``hblkhd``, the blocks it mapped on their own). None
    where there is no glibc (musl, macOS)."""
    try:
        import ctypes

        class MallInfo2(ctypes.Structure):
            _fields_ = [(name, ctypes.c_size_t) for name in (
                "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks",
                "keepcost")]

        libc = ctypes.CDLL(None)
        libc.mallinfo2.restype = MallInfo2
        info = libc.mallinfo2()
    except (OSError, AttributeError):
        return None
    return {"free": info.fordblks / MB, "in_use": (info.uordblks + info.hblkhd) / MB}


def bound(baseline_mb: float, config: Any) -> dict[str, float]:
    """docs/faults.md's RSS bound, term by term (MB), for ``config`` and a measured ``baseline_mb``."""
    from gyrinx_tracker._outputs.otlp.logs import MAX_REQUEST_BYTES
    from gyrinx_tracker._pipeline.budget import QUEUED_FOOTPRINT

    terms = {
        "baseline": baseline_mb,
        "queue": config.max_queue * QUEUED_FOOTPRINT / MB,
        "queue_bytes": config.max_queue_bytes / MB,
        # each request: its bytes in Python and gRPC's copy of them while it is sent
        "requests": (config.export_concurrency + 1) * 2 * MAX_REQUEST_BYTES / MB,
        # what the application's own threads hold at once: each call's label and its copy
        "app": THREADS * 2 * LABEL_BYTES / MB,
    }
    # glibc's free lists: large blocks freed by one thread stay in its arena for reuse, as much
    # again as the large objects held (mallinfo2's fordblks measured up to 95 MB; faults.md)
    terms["allocator"] = terms["queue_bytes"] + terms["requests"] + terms["app"]
    terms["total"] = sum(terms.values())
    return terms


def child(seconds: float, trace: bool) -> None:
    """The overloaded process: prints ``{"t", "rss_mb"}`` lines, then ``{"books"}``."""
    if trace:
        import tracemalloc

        tracemalloc.start(12)
    import gyrinx_tracker
    from gyrinx_tracker import _api, _config

    gyrinx_tracker.track("soak_start")
    gyrinx_tracker.flush(10)  # the output built and connected: all of its code loaded
    baseline = rss_mb()
    config = _config.from_env(os.environ)
    print(json.dumps({"baseline_mb": round(baseline, 1), "bound": bound(baseline, config),
                      "max_queue": config.max_queue}), flush=True)
    pipeline: Any = _api._pipeline
    stop = threading.Event()
    counter = iter(range(1 << 62))

    def work() -> None:
        while not stop.is_set():
            seq = next(counter)
            gyrinx_tracker.track("soak", seq=seq, blob=f"{seq:012d}".ljust(LABEL_BYTES, "x"))

    threads = [threading.Thread(target=work, daemon=True) for _ in range(THREADS)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    while (now := time.monotonic() - started) < seconds:
        budget = getattr(pipeline, "_bytes", None)
        print(json.dumps({"t": round(now, 1), "rss_mb": round(rss_mb(), 1), "queued": len(pipeline._queue),
                          "gen2": gc.get_stats()[2]["collections"],  # full collections so far
                          "free_mb": None if (info := mallinfo()) is None else round(info["free"], 1),
                          "in_use_mb": None if info is None else round(info["in_use"], 1),
                          "budget_mb": round(budget.used / MB, 1) if budget else None}), flush=True)
        time.sleep(1.0)
    stop.set()
    for thread in threads:
        thread.join()
    if trace:
        top = tracemalloc.take_snapshot().statistics("traceback")[:12]
        traced, peak = tracemalloc.get_traced_memory()
        print(json.dumps({"traced_mb": round(traced / MB, 1), "traced_peak_mb": round(peak / MB, 1),
                          "top": [[round(s.size / MB, 2), s.count, s.traceback.format()[-6:]] for s in top]}),
              flush=True)
    gyrinx_tracker.shutdown(5)  # the books after it, so the receiver's count can be compared with them
    print(json.dumps({"books": gyrinx_tracker.stats(), "rss_mb": round(rss_mb(), 1)}), flush=True)


def received(receiver: Any) -> tuple[int, int]:
    """The receiver's own count: records stored, and how many distinct ones (by their nanosecond time
    stamp: a request stored twice, a retry of one the receiver already had, shows as repeats)."""
    total, stamps = 0, set()
    for request in list(receiver.log_requests):
        for resource_logs in request.resource_logs:
            for scope_logs in resource_logs.scope_logs:
                for record in scope_logs.log_records:
                    total += 1
                    stamps.add(record.time_unix_nano)
    return total, len(stamps)


def run(seconds: float, when_full: str, trace: bool) -> dict[str, Any]:
    sys.path.insert(0, str(ROOT))
    from tests.servers.otlp import OtlpReceiver

    # One call at a time, each answered after RECEIVER_DELAY: at most 512 events/s whatever the
    # machine, so the callers outrun it, and EXPORT_CONCURRENCY calls wait at most 4 s, inside the
    # export timeout. (Answering calls concurrently after 0.5 s took ~1,000 events/s, as many as
    # eight threads converting 100 KB labels make on 2 busy CPUs: the queue stayed short, no
    # overload. One at a time after 2 s: most calls timed out waiting, export_unknown.)
    with OtlpReceiver(max_workers=1) as receiver:
        receiver.set_delay(RECEIVER_DELAY)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("GYRINX_TRACKER_", "OTEL_"))}
        env.update(PYTHONPATH=str(ROOT), GYRINX_TRACKER_EXPORTER="otlp", GYRINX_TRACKER_GLOBAL_PROVIDERS="never",
                   OTEL_EXPORTER_OTLP_ENDPOINT=receiver.endpoint, GYRINX_TRACKER_METRIC_INTERVAL="600",
                   GYRINX_TRACKER_WHEN_FULL=when_full)
        command = [sys.executable, "-m", "benchmarks.soak", "--child", str(seconds)] + (["--trace"] if trace else [])
        done = subprocess.run(command, env=env, capture_output=True, text=True, cwd=ROOT, timeout=seconds * 3 + 120)
        records, distinct = received(receiver)
        calls = {"attempts": receiver.attempts, "abandoned": receiver.abandoned, "failures": receiver.failures}
    lines = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    head: dict[str, Any] = next((line for line in lines if "bound" in line), {})
    return {"seconds": seconds, "when_full": when_full,
            "curve": [(line["t"], line["rss_mb"], line.get("budget_mb")) for line in lines if "t" in line],
            "free": [line.get("free_mb") for line in lines if "t" in line],
            "queued": [line["queued"] for line in lines if "t" in line], "max_queue": head.get("max_queue", 0),
            "bound": head.get("bound", {}), "books": next((line["books"] for line in lines if "books" in line), {}),
            "trace": next((line for line in lines if "top" in line), None),
            "received": records, "distinct": distinct, "calls": calls,
            "returncode": done.returncode, "stderr": done.stderr[-3000:]}


def verdict(result: dict[str, Any]) -> dict[str, float | str]:
    """Peak, growth over the last minute, the bound and PASS/MISS (with the margin in MB)."""
    curve, total = result["curve"], result["bound"].get("total", 0.0)
    peak = max((rss for _, rss, _ in curve), default=0.0)
    last = [rss for t, rss, _ in curve if t >= result["seconds"] - 60]
    growth = (last[-1] - last[0]) if len(last) > 1 else 0.0
    rate = growth / 60
    ok = bool(curve) and peak <= total and rate <= CREEP_LIMIT and result["returncode"] == 0
    return {"peak": peak, "growth": growth, "rate": rate, "bound": total, "margin": total - peak,
            "verdict": "PASS" if ok else "MISS"}


def summary(result: dict[str, Any]) -> str:
    found, books, terms = verdict(result), result["books"] or {}, result["bound"]
    full = sum(queued >= 0.9 * result["max_queue"] for queued in result["queued"])
    formula = " + ".join(f"{name} {value:.1f}" for name, value in terms.items() if name != "total")
    step = max(1, len(result["curve"]) // 36)
    samples = list(zip(result["curve"], result["free"], result["queued"], strict=True))[::step]
    rows = "\n".join(f"| {t:g} | {rss:.1f} | {'' if budget is None else f'{budget:.1f}'} | "
                     f"{'' if free is None else free} | {queued} |" for (t, rss, budget), free, queued in samples)
    text = (f"## WHEN_FULL={result['when_full']}\n\n"
            f"- **{found['verdict']}**: peak RSS {found['peak']:.1f} MB against the bound {found['bound']:.1f} MB "
            f"({found['margin']:+.1f} MB of room); growth over the last minute {found['growth']:+.1f} MB "
            f"({found['rate']:.3f} MB/s, limit {CREEP_LIMIT})\n"
            f"- bound (MB, docs/faults.md): {formula} = {terms.get('total', 0.0):.1f}\n"
            f"- books: emitted {books.get('emitted')}, exported {books.get('exported')}, dropped "
            f"{books.get('dropped_by_reason')}, in flight {books.get('in_flight')}, queued {books.get('queued')}\n"
            f"- overload: the queue at least 90% full in {full} of {len(result['queued'])} samples\n"
            f"- receiver: {result['received']} records ({result['distinct']} distinct), calls {result['calls']}\n"
            f"- exit status {result['returncode']}\n")
    if result["trace"]:
        text += f"- tracemalloc: {json.dumps(result['trace'])[:3000]}\n"
    if result["returncode"] or not result["curve"]:
        text += f"\n```\n{result['stderr']}\n```\n"
    return (text + "\n| seconds | RSS (MB) | byte budget used (MB) | free in malloc's arenas (MB) | queued |\n"
            f"|---|---|---|---|---|\n{rows}\n\n")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.soak", description=__doc__)
    parser.add_argument("--seconds", type=float, default=180.0)
    parser.add_argument("--when-full", choices=VARIANTS, action="append", help="one variant (default: both)")
    parser.add_argument("--trace", action="store_true", help="tracemalloc's largest holders at the end")
    parser.add_argument("--child", type=float, help=argparse.SUPPRESS)
    parser.add_argument("--output", type=Path, default=Path(__file__).with_name("SOAK.md"))
    args = parser.parse_args()
    if args.child is not None:
        child(args.child, args.trace)
        return
    results = [run(args.seconds, when_full, args.trace) for when_full in args.when_full or VARIANTS]
    text = (f"# Memory soak\n\n{THREADS} threads, a fresh {LABEL_BYTES // 1000} KB label per call, the OTLP "
            f"receiver answering one call at a time after {RECEIVER_DELAY} s, {args.seconds:g} s per run, default settings but "
            f"WHEN_FULL. Written by `python -m benchmarks.soak` on "
            f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.\n\n" + "".join(map(summary, results)))
    args.output.write_text(text)
    print(text)
    if any(verdict(result)["verdict"] == "MISS" for result in results):
        sys.exit(1)


if __name__ == "__main__":
    main()
