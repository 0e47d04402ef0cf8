"""Turning measurements into the printed tables and ``RESULTS.md``: machine, tables, verdicts."""

from __future__ import annotations

import datetime
import os
import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

from benchmarks.rounds import Row

ROOT = Path(__file__).resolve().parent.parent
RSS_TARGET_MB = 20.0


def machine() -> dict[str, str]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = ", ".join(f"{name} {_version(name)}" for name in (
        "opentelemetry-sdk", "opentelemetry-exporter-gcp-logging", "google-cloud-logging",
        "protobuf", "grpcio"))
    return {
        "uname": " ".join(platform.uname()),
        "cpu": f"{cpu} × {os.cpu_count()} logical CPUs",
        "python": sys.version.split()[0] + f" ({platform.python_implementation()})",
        "versions": versions,
        "commit": _git("rev-parse", "--short", "HEAD") + (" + uncommitted changes in gyrinx_tracker/"
                                                          if _git("status", "--porcelain", "gyrinx_tracker")
                                                          else ""),
    }


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "absent"


def _git(*args: str) -> str:
    try:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True,
                              timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "?"


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def ratio_verdict(measured: float | None, target: float) -> str:
    if measured is None:
        return "n/a"
    if measured <= target:
        return f"PASS ({measured:.2f}× ≤ {target:g}×, {(1 - measured / target) * 100:.0f}% headroom)"
    return f"MISS ({measured:.2f}× > {target:g}×, {(measured / target - 1) * 100:.0f}% over)"


def cost_table(rows: dict[str, Row]) -> str:
    body = []
    for row in rows.values():
        spec = row.spec
        body.append([
            f"`{spec.key}`", spec.title, f"{row.caller_us:.2f}", f"{row.cpu_us:.2f}",
            _ratio(row.caller_ratio), _ratio(row.cpu_ratio) + _spread(row.ratios_cpu),
            f"`{spec.baseline}`" if spec.baseline else "—",
            str(len(row.samples)) + (f" ⚠ {len(row.problems)}" if row.problems else ""),
        ])
    return table(["key", "implementation", "caller µs/call", "total CPU µs/event", "caller ×",
                  "CPU ×", "vs", "rounds"], body)


def _spread(ratios: list[float]) -> str:
    """The middle half of the per-round ratios, so a reader sees how much the machine moved."""
    if len(ratios) < 4:
        return ""
    ordered = sorted(ratios)
    quarter = len(ordered) // 4
    return f" ({ordered[quarter]:.2f}–{ordered[-1 - quarter]:.2f})"


def _ratio(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}×"


def target_rows(rows: dict[str, Row], cardinality: dict[str, Any] | None,
                accounting: list[dict[str, Any]]) -> list[list[str]]:
    out = []
    for row in rows.values():
        spec = row.spec
        note = " (variant with a metric reader; informational)" if spec.variant else ""
        if spec.caller_target is not None:
            out.append([f"`{spec.key}` caller cost ≤ {spec.caller_target:g}× `{spec.baseline}`{note}",
                        _ratio(row.caller_ratio), ratio_verdict(row.caller_ratio, spec.caller_target)])
        if spec.cpu_target is not None:
            out.append([f"`{spec.key}` total CPU ≤ {spec.cpu_target:g}× `{spec.baseline}`{note}",
                        _ratio(row.cpu_ratio), ratio_verdict(row.cpu_ratio, spec.cpu_target)])
    if cardinality is not None:
        out += cardinality_targets(cardinality)
    for result in accounting:
        ok = result.get("balanced") and result.get("server_ok", True) and result.get("dropped", 0) > 0
        out.append([f"`{result['key']}` 8 threads × {result['seconds']:.0f} s: emitted = exported + dropped",
                    f"{result['emitted']:,} = {result['exported']:,} + {result['dropped']:,}"
                    + (f"; server got {result['server_received']:,}" if "server_received" in result else ""),
                    "PASS (exact)" if ok else "MISS"])
    return out


def cardinality_targets(result: dict[str, Any]) -> list[list[str]]:
    if "error" in result:
        return [["cardinality run", "error", f"MISS ({result['error']})"]]
    growth = result["growth_mb"]
    counter = result["instruments"]["tracker.api_request"]
    histogram = result["instruments"]["tracker.api_request.value"]
    cap = result.get("series_cap", 500)
    exact = counter["exact"] and histogram["exact"]
    stats = result["stats"]
    return [
        [f"{result['events']:,} unique-id events: RSS growth ≤ {RSS_TARGET_MB:g} MB", f"{growth:.1f} MB",
         "PASS" if growth <= RSS_TARGET_MB else f"MISS ({growth - RSS_TARGET_MB:.1f} MB over)"],
        ["endpoint/method/status series exact, no overflow",
         f"{counter['low_cardinality_combinations']} combinations, overflow {counter['overflow_events']}",
         "PASS" if exact else "MISS"],
        [f"series per event ≤ cap ({cap})", f"{counter['series']} counter, {histogram['series']} histogram",
         "PASS" if max(counter["series"], histogram["series"]) <= cap else "MISS"],
        ["folds counted", f"{stats['folded_metric_labels']} label keys, {stats['folded_metric_series']} series",
         "PASS" if stats["folded_metric_labels"] + stats["folded_metric_series"] > 0 else "MISS"],
    ]


def throughput_table(results: list[dict[str, Any]]) -> str:
    body = []
    for r in results:
        if "error" in r:
            body.append([f"`{r['key']}`", "error: " + r["error"][:80], "", "", "", "", ""])
            continue
        body.append([f"`{r['key']}`", f"{r['calls_per_s']:,.0f}", f"{r['delivered_per_s']:,.0f}",
                     f"{r['dropped']:,}" + (" (silent)" if r["key"] == "naive_otel" and r["dropped"] else ""),
                     f"{r['cpu_us_per_delivered']:.1f}", f"{r['peak_rss_mb']:.1f}",
                     "yes" if r["balanced"] else "**NO**"])
    return table(["key", "calls/s (8 threads)", "delivered/s", "dropped", "CPU µs/delivered",
                  "peak RSS MB", "books balance"], body)


# The worker's stages per mode; their sum, next to the measured total, shows what is left for
# the queue, thread hand-offs and garbage collection.
BASELINE_STAGE = {"ours_local": "seed_local", "ours_local_metrics": "seed_local",
                  "ours_stdout": "seed_gcp", "ours_api": "seed_gcp"}
MODE_STAGES = {
    "ours_local": ("submit", "validate", "body", "record", "emit", "local"),
    "ours_local_metrics": ("submit", "validate", "body", "record", "emit", "metrics", "local"),
    "ours_stdout": ("submit", "validate", "body", "record", "emit", "stdout"),
    "ours_api": ("submit", "validate", "body", "record", "emit", "api"),
}


def stage_table(profile: dict[str, Any]) -> str:
    body = [[name, f"{us:.2f}", f"`{where}`"] for _, name, us, where in profile["stages"]]
    text = table(["stage", "µs/event", "code"], body)
    if profile["notes"]:
        text += "\n\n" + "\n".join(f"- {note}" for note in profile["notes"])
    return text


def mode_sums(profile: dict[str, Any], rows: dict[str, Row]) -> str:
    """Sum of a mode's stages against its measured total CPU per event (from the rounds)."""
    cost = {sid: us for sid, _, us, _ in profile["stages"]}
    body = []
    for key, parts in MODE_STAGES.items():
        base = BASELINE_STAGE[key]
        if key not in rows or not all(part in cost for part in (*parts, base, key)):
            continue
        total = sum(cost[part] for part in parts)
        body.append([f"`{key}`", " + ".join(parts), f"{total:.1f}", f"{cost[key]:.1f}",
                     f"{cost[key] - total:+.1f}", f"{cost[base]:.1f}", f"{total / cost[base]:.2f}×",
                     f"{cost[key] / cost[base]:.2f}×", _ratio(rows[key].cpu_ratio)])
    return table(["mode", "stages", "sum µs", "whole µs", "whole − sum", "seed µs",
                  "sum ÷ seed", "whole ÷ seed", "rounds CPU ×"], body)
