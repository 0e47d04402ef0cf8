"""``make bench-cli``: ``gyrinx-tracker summary`` streams in bounded memory.

Writes local JSON lines as the ``gyrinx.tracker`` logger does behind an app's log prefix (five
events, twenty endpoints, lognormal durations, one id-like label with a new value on every line),
then runs ``python -m gyrinx_tracker summary`` on 100,000 and on 1,000,000 of them as child
processes and reports each child's own peak RSS (``ru_maxrss`` from ``wait4``), wall and CPU time
(CPU time is the steadier figure on a shared machine). The
sketch keeps a fixed number of buckets per event, so peak RSS at 1M lines should match 100k; a
list of every value would grow by about 8 MB per million values kept, and the dicts of the
parsed lines far more. Standalone: the standard library and the package.

Two line formats: ``json-time``, the payload carrying its own RFC 3339 ``time`` behind a fixed
prefix, and ``recommended``, the format the docs recommend for the local output
(``%(asctime)s %(levelname)s %(name)s %(funcName)s trace_id=%(otelTraceID)s %(message)s``), where
the time, level and trace come from the prefix and every line's millisecond differs. The target for
``recommended`` is ``TARGET`` lines per CPU second (the child's own CPU time, start-up included).
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EVENTS = ("api_call", "operation_duration", "user_login", "list_created", "report_generated")
SIZES = (100_000, 1_000_000)
FORMATS = ("json-time", "recommended")
TARGET = 100_000  # lines per CPU second for the recommended format
TRACE = "48da198921e122ce4c9ccf855cbb56c2"


def write_lines(path: Path, count: int, seed: int = 13, layout: str = "json-time") -> None:
    """``count`` lines shaped like the local output, each behind a logging prefix of ``layout``."""
    rng = random.Random(seed)
    start = 1_795_000_000.0
    with path.open("w", encoding="utf-8") as out:
        for i in range(count):
            moment = start + i * 0.01
            stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(moment)) + f".{int(moment % 1 * 1e6):06d}Z"
            event = EVENTS[i % len(EVENTS)]
            body: dict[str, object] = {"event": event, "n": 1}
            if event == "operation_duration" or event == "api_call":
                body["value"] = round(rng.lognormvariate(4, 1), 3)
            body["labels"] = {"endpoint": f"/api/v1/r{i % 20}", "status": 500 if i % 50 == 0 else 200,
                              "request_id": f"req-{i}"}
            if layout == "recommended":  # what logging.Formatter writes: asctime, level, logger, caller, trace
                asctime = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(moment)) + f",{int(moment % 1 * 1e3):03d}"
                line = json.dumps(body)  # the tracker's message: json.dumps(payload), default separators
                out.write(f"{asctime} INFO gyrinx.tracker handle_api trace_id={TRACE} {line}\n")
                continue
            line = json.dumps({**body, "time": stamp, "severity": "INFO"}, separators=(",", ":"))
            out.write(f"2026-11-29 10:00:00,000 INFO gyrinx.tracker {line}\n")


def measure(args: list[str], folder: Path) -> tuple[float, float, float, str]:
    """Wall seconds, the child's CPU seconds and own peak RSS in MB (``wait4``), and its stdout."""
    out_path, err_path = folder / "out.txt", folder / "err.txt"
    with out_path.open("w") as out, err_path.open("w") as err:
        started = time.perf_counter()
        process = subprocess.Popen([sys.executable, "-m", "gyrinx_tracker", *args], stdout=out, stderr=err,
                                   cwd=ROOT)
        _, status, usage = os.wait4(process.pid, 0)  # this child's usage alone, unlike RUSAGE_CHILDREN
        elapsed = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"summary failed ({process.returncode}): {err_path.read_text()}")
    return elapsed, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, out_path.read_text()


def main() -> None:
    rows = []
    with tempfile.TemporaryDirectory(prefix="gyrinx-bench-cli-") as tmp:
        folder = Path(tmp)
        baseline = measure(["--version"], folder)[2]
        for layout in FORMATS:
            for size in SIZES:
                path = folder / f"{size}.log"
                write_lines(path, size, layout=layout)
                for label, extra in (("summary", []), ("summary --by endpoint", ["--by", "endpoint"])):
                    elapsed, cpu, rss, output = measure(["summary", "--json", *extra, str(path)], folder)
                    counted = sum(row["count"] for row in json.loads(output)["events"])
                    if counted != size:
                        raise SystemExit(f"{label} counted {counted} of {size} lines")
                    rows.append((size, f"{label} [{layout}]", elapsed, cpu, rss, path.stat().st_size / 1e6))
                path.unlink()
    print(report(rows, baseline))
    print(verdict(rows))


def report(rows: list[tuple[int, str, float, float, float, float]], baseline: float) -> str:
    """The Markdown result: one row per run, then peak RSS at 1M as a ratio of 100k."""
    lines = [f"`gyrinx-tracker summary` on local JSON lines ({sys.version.split()[0]}, {os.cpu_count()} CPUs; "
             f"interpreter + package alone: {baseline:.1f} MB)", "",
             "| lines | command | input | wall time | CPU time | lines per CPU s | peak RSS |",
             "|---|---|---|---|---|---|---|"]
    for size, label, elapsed, cpu, rss, megabytes in rows:
        lines.append(f"| {size:,} | `{label}` | {megabytes:.0f} MB | {elapsed:.1f} s | {cpu:.1f} s | "
                     f"{size / cpu:,.0f} | {rss:.1f} MB |")
    by_label: dict[str, dict[int, float]] = {}
    for size, label, _, _, rss, _ in rows:
        by_label.setdefault(label, {})[size] = rss
    lines.append("")
    for label, sizes in by_label.items():
        small, large = sizes[SIZES[0]], sizes[SIZES[1]]
        lines.append(f"- `{label}`: peak RSS at {SIZES[1]:,} lines is {large / small:.2f}x that at {SIZES[0]:,} "
                     f"({large - small:+.1f} MB for 10x the input)")
    return "\n".join(lines)


def verdict(rows: list[tuple[int, str, float, float, float, float]]) -> str:
    """Whether the recommended format's slowest run reaches TARGET lines per CPU second, and by how much."""
    rates = [size / cpu for size, label, _, cpu, _, _ in rows if "[recommended]" in label]
    slowest = min(rates)
    state = "met" if slowest >= TARGET else "MISSED"
    return (f"\n- recommended format: slowest {slowest:,.0f} lines per CPU second, target {TARGET:,}: {state} "
            f"({slowest / TARGET - 1:+.0%})")


if __name__ == "__main__":
    main()
