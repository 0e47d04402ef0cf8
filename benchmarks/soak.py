"""The memory soak: sustained overload, RSS recorded over time (``make bench``; ``python -m benchmarks.soak``).

Eight threads track as fast as they can, each call with a fresh 100 KB label, against the loopback
OTLP receiver answering each call after 0.5 s: the queue stays full, the byte budget spent, every
export slow. The child samples its own RSS (``/proc/self/statm``: what the kernel bills, the
allocator's free lists and fragmentation included) every second; the parent writes the curve, the
peak, the growth over the last third of the run and the books to ``benchmarks/SOAK.md``. The bound
it is read against is docs/faults.md's (queue + byte budget + requests in flight + the process's
own baseline). A run takes ``--seconds`` (180 by default): run it once, not in a loop (shared CPUs).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).parents[1]
THREADS, LABEL_BYTES, RECEIVER_DELAY = 8, 100_000, 0.5


def rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6


def child(seconds: float) -> None:
    """The overloaded process: prints ``{"t", "rss_mb"}`` lines, then ``{"books"}``."""
    import gyrinx_tracker

    gyrinx_tracker.track("soak_start")
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
        print(json.dumps({"t": round(now, 1), "rss_mb": round(rss_mb(), 1)}), flush=True)
        time.sleep(1.0)
    stop.set()
    for thread in threads:
        thread.join()
    gyrinx_tracker.shutdown(5)  # the books after it, so the receiver's count can be compared with them
    print(json.dumps({"books": gyrinx_tracker.stats(), "rss_mb": round(rss_mb(), 1)}), flush=True)


def run(seconds: float) -> dict[str, Any]:
    sys.path.insert(0, str(ROOT))
    from tests.servers.otlp import OtlpReceiver

    with OtlpReceiver(max_workers=16) as receiver:
        receiver.set_delay(RECEIVER_DELAY)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("GYRINX_TRACKER_", "OTEL_"))}
        env.update(PYTHONPATH=str(ROOT), GYRINX_TRACKER_EXPORTER="otlp", GYRINX_TRACKER_GLOBAL_PROVIDERS="never",
                   OTEL_EXPORTER_OTLP_ENDPOINT=receiver.endpoint, GYRINX_TRACKER_METRIC_INTERVAL="600")
        done = subprocess.run([sys.executable, "-m", "benchmarks.soak", "--child", str(seconds)], env=env,
                              capture_output=True, text=True, cwd=ROOT, timeout=seconds + 120)
        received = len(receiver.log_records())
    lines = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    curve = [(line["t"], line["rss_mb"]) for line in lines if "t" in line]
    end = next((line for line in lines if "books" in line), {})
    return {"seconds": seconds, "curve": curve, "books": end.get("books"), "received": received,
            "returncode": done.returncode, "stderr": done.stderr[-1500:]}


def summary(result: dict[str, Any]) -> str:
    curve = result["curve"]
    peak = max((rss for _, rss in curve), default=0.0)
    third = [rss for t, rss in curve if t >= result["seconds"] * 2 / 3]
    creep = (third[-1] - third[0]) if len(third) > 1 else 0.0
    books = result["books"] or {}
    rows = "\n".join(f"| {t:g} | {rss:.1f} |" for t, rss in curve[:: max(1, len(curve) // 36)])
    return (f"# Memory soak\n\n{THREADS} threads, a fresh {LABEL_BYTES // 1000} KB label per call, the OTLP "
            f"receiver answering after {RECEIVER_DELAY} s, {result['seconds']:g} s, default settings.\n"
            f"Written by `python -m benchmarks.soak` on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.\n\n"
            f"- peak RSS: **{peak:.1f} MB**; growth over the last third: {creep:+.1f} MB\n"
            f"- books: emitted {books.get('emitted')}, exported {books.get('exported')} (receiver: "
            f"{result['received']}), dropped {books.get('dropped_by_reason')}\n"
            f"- exit status {result['returncode']}\n\n| seconds | RSS (MB) |\n|---|---|\n{rows}\n")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.soak", description=__doc__)
    parser.add_argument("--seconds", type=float, default=180.0)
    parser.add_argument("--child", type=float, help=argparse.SUPPRESS)
    parser.add_argument("--output", type=Path, default=Path(__file__).with_name("SOAK.md"))
    args = parser.parse_args()
    if args.child is not None:
        child(args.child)
        return
    result = run(args.seconds)
    text = summary(result)
    args.output.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
