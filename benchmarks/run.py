"""``make bench``: the seed's tracker, naive OpenTelemetry and ``gyrinx_tracker`` side by side.

Phases, in one run (the timed ones never overlap anything else of ours):
1. interleaved rounds, per-call cost of every implementation (``rounds.py``);
2. where the time goes: each pipeline stage alone (``stages.py``);
3. eight threads for a few seconds per implementation, each in a fresh process: throughput,
   drops and peak RSS (``threads.py``);
4. untimed checks, run concurrently: one million unique-id events (``cardinality.py``) and the
   books under eight threads at full speed for 10 s with a small queue (``threads.py``);
5. instructions per event under callgrind, a noise-free cross-check of the CPU ratios
   (``instructions.py``; skipped where valgrind is not installed).
Results are printed and written to ``benchmarks/RESULTS.md`` (``--quick`` writes nowhere unless
``--output`` is given). The whole run stays under five minutes on a two-core machine.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks import instructions, report, stages  # noqa: E402 - after the path is set
from benchmarks.impls import BY_KEY, SPECS, Env  # noqa: E402
from benchmarks.loopback import LoopbackProcess  # noqa: E402
from benchmarks.rounds import run_rounds  # noqa: E402
from benchmarks.workload import request_calls  # noqa: E402

THROUGHPUT = ("seed_local", "naive_otel", "ours_local", "ours_local_metrics", "seed_gcp",
              "ours_stdout", "ours_api")
ACCOUNTING = ("ours_local", "ours_api")
ACCOUNTING_QUEUE = 1_000
# Variables that would steer the tracker away from what is being measured.
STEERING = ("GOOGLE_CLOUD_PROJECT", "GCLOUD_PROJECT", "K_SERVICE", "CLOUD_RUN_JOB",
            "OTEL_SERVICE_NAME", "OTEL_RESOURCE_ATTRIBUTES")


def log(message: str) -> None:
    print(message, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--events", type=int, default=8_000, help="calls per implementation per round")
    parser.add_argument("--thread-seconds", type=float, default=2.0)
    parser.add_argument("--accounting-seconds", type=float, default=10.0)
    parser.add_argument("--cardinality-events", type=int, default=1_000_000)
    parser.add_argument("--quick", action="store_true", help="a smoke run: small numbers, no RESULTS.md")
    parser.add_argument("--output", type=Path)
    args = parser.parse_args()
    if args.quick:
        args.rounds, args.events, args.thread_seconds = 3, 2_000, 0.5
        args.accounting_seconds, args.cardinality_events = 1.0, 40_000
    output = args.output or (None if args.quick else ROOT / "benchmarks" / "RESULTS.md")
    for name in [*STEERING, *(n for n in os.environ if n.startswith("GYRINX_TRACKER_"))]:
        os.environ.pop(name, None)

    started = time.perf_counter()
    info = report.machine()
    load_before = report.load()
    log(f"gyrinx_tracker benchmark, {report.now()}; load average {load_before}\n{info['cpu']}; {info['python']}")
    log(f"\n[1/5] per-call cost: {args.rounds} interleaved rounds × {args.events:,} calls")
    calls = request_calls(args.events)
    rows = run_rounds(SPECS, args.rounds, args.events, calls, log)
    log("\n" + report.cost_table(rows))

    with LoopbackProcess() as server:
        log("\n[2/5] where the time goes (each stage alone)")
        profile = stages.profile(Env(endpoint=server.endpoint), calls[:5_000])
        log(report.stage_table(profile))
        log("\n" + report.mode_sums(profile, rows))
        log(f"\n[3/5] 8 threads × {args.thread_seconds:g} s per implementation, fresh process each")
        throughput = [threads(key, args.thread_seconds, server) for key in THROUGHPUT]
        log(report.throughput_table(throughput))
        log(f"\n[4/5] untimed: {args.cardinality_events:,} unique-id events, and the books under 8 threads "
            f"× {args.accounting_seconds:g} s (max_queue={ACCOUNTING_QUEUE})")
        cardinality_run = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.cardinality", str(args.cardinality_events)],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        accounting = [threads(key, args.accounting_seconds, server, max_queue=ACCOUNTING_QUEUE)
                      for key in ACCOUNTING]
        cardinality = _result(*cardinality_run.communicate(timeout=600), "cardinality")
    counted = _instructions(args.quick)
    elapsed = time.perf_counter() - started
    if report.machine()["commit"] != info["commit"]:
        info["commit"] += f" (at the start; {report.machine()['commit']} at the end)"
    targets = report.target_rows(rows, cardinality, accounting) + _instruction_targets(counted)
    log("\n" + report.table(["target", "measured", "verdict"], targets))
    log(f"\ntotal {elapsed:.0f} s; load average {report.load()}")
    if output is not None:
        text = render(args, info, load_before, report.load(), elapsed, rows, profile, throughput,
                      accounting, cardinality, targets, counted)
        output.write_text(text)
        log(f"wrote {output.relative_to(ROOT) if output.is_relative_to(ROOT) else output}")


PAIRS = (("ours_local", "seed_local"), ("ours_stdout", "seed_gcp"))


def _instructions(quick: bool) -> dict[str, float] | None:
    if quick or not instructions.available():
        log("\n[5/5] instructions per event: skipped (" + ("--quick" if quick else "no valgrind") + ")")
        return None
    log(f"\n[5/5] instructions per event under callgrind ({instructions.SMALL:,} and "
        f"{instructions.LARGE:,} calls per implementation)")
    counted = instructions.measure()
    for key, value in counted.items():
        log(f"  {key}: {value:,.0f}")
    return counted


def _instruction_targets(counted: dict[str, float] | None) -> list[list[str]]:
    if counted is None:
        return []
    return [[f"`{ours}` instructions/event ≤ 1× `{seed}` (callgrind cross-check of the CPU target)",
             f"{counted[ours] / counted[seed]:.2f}× ({counted[ours]:,.0f} vs {counted[seed]:,.0f})",
             report.ratio_verdict(counted[ours] / counted[seed], 1.0)]
            for ours, seed in PAIRS]


def _instruction_text(counted: dict[str, float] | None) -> str:
    if counted is None:
        return "Not measured in this run (valgrind missing, or `--quick`).\n"
    rows = [[f"`{key}`", f"{counted[key]:,.0f}",
             f"{counted[key] / counted[seed]:.2f}× `{seed}`" if key != seed else "—"]
            for ours, seed in PAIRS for key in (seed, ours)]
    return report.table(["key", "instructions per event", "ratio"], rows) + "\n"


def threads(key: str, seconds: float, server: LoopbackProcess, max_queue: int | None = None) -> dict[str, Any]:
    """One run of ``benchmarks/threads.py``; for API modes, the server's count is checked too."""
    command = [sys.executable, "-m", "benchmarks.threads", key, str(seconds)]
    spec = BY_KEY[key]
    if spec.api:
        command += ["--endpoint", server.endpoint]
    if max_queue:
        command += ["--max-queue", str(max_queue)]
    before = server.count() if spec.api else 0
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    result = _result(done.stdout, done.stderr, key)
    result.setdefault("key", key)
    result.setdefault("seconds", seconds)
    if spec.api and "error" not in result:
        result["server_received"] = server.count() - before
        result["server_ok"] = result["server_received"] == result["exported"]
    return result


def _result(stdout: str, stderr: str, what: str) -> dict[str, Any]:
    lines = [line for line in stdout.splitlines() if line.startswith("{")]
    if not lines:
        tail = stderr.strip().splitlines()[-3:]
        print(f"  ! {what} failed: {' / '.join(tail)}", file=sys.stderr)
        return {"error": " / ".join(tail) or "no output"}
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def render(args: argparse.Namespace, info: dict[str, str], load_before: str, load_after: str,
           elapsed: float, rows: Any, profile: dict[str, Any], throughput: list[dict[str, Any]],
           accounting: list[dict[str, Any]], cardinality: dict[str, Any],
           targets: list[list[str]], counted: dict[str, float] | None = None) -> str:
    card = "" if "error" in cardinality else _cardinality_text(cardinality)
    accounting_rows = [[f"`{r['key']}`", f"{r.get('calls', 0):,}", f"{r.get('emitted', 0):,}",
                        f"{r.get('exported', 0):,}", f"{r.get('dropped', 0):,}",
                        ", ".join(f"{k} {v:,}" for k, v in r.get("dropped_by_reason", {}).items()),
                        f"{r['server_received']:,}" if "server_received" in r else "—",
                        "exact" if r.get("balanced") and r.get("server_ok", True) else "**NO**"]
                       for r in accounting]
    return f"""# Benchmark results

Generated by `make bench` (`benchmarks/run.py`); regenerate and commit after changes to the
pipeline, so a regression shows up in review as a diff of this file.

- Date: {report.now()}; run took {elapsed:.0f} s
- Machine: `{info['uname']}`
- CPU: {info['cpu']}; load average before {load_before}, after {load_after} (1, 5, 15 min)
- Python {info['python']}; {info['versions']}
- Package at commit {info['commit']}
- Settings: {args.rounds} interleaved rounds × {args.events:,} calls per implementation; threads
  {args.thread_seconds:g} s per implementation; accounting {args.accounting_seconds:g} s with
  `max_queue={ACCOUNTING_QUEUE}`; cardinality {args.cardinality_events:,} events

Absolute numbers move with the machine's load (this is a shared two-core machine); the ratios,
taken within each round between implementations measured seconds apart, are what the targets
are about.

## Targets

{report.table(["target", "measured", "verdict"], targets)}

## Per-call cost

Every call is `track("api_request", 1, value, endpoint=..., method=..., status=..., user_id=...)`
(pool of 1,000 distinct calls, identical for every implementation). *Caller* is the wall time of
the loop of calls divided by the calls, while the implementation's own threads run (they compete
for the GIL, which the caller pays). *Total CPU* is `time.process_time()` of the whole process
(all threads) over the loop plus the flush that exports everything, per event. Medians over the
rounds; ratios are medians of per-round ratios against the row named in *vs*, with the middle
half of the per-round CPU ratios in parentheses. Each round checks
that every call was exported and none dropped (for the API, that the server received them all);
⚠ marks rounds where that failed.

{report.cost_table(rows)}

- `seed_local`: `logger.info(json.dumps({{"event", "n", "value", "labels"}}))` into a
  `StreamHandler` on /dev/null, as the seed document describes. `seed_gcp`: the same call through
  `google.cloud.logging.handlers.StructuredLogHandler` (the seed's production path) on /dev/null.
- `naive_otel`: per call `Logger.emit` + `Counter.add` + `Histogram.record` with the labels as
  attributes, `BatchLogRecordProcessor` → `ConsoleLogRecordExporter` on /dev/null, metrics
  into the SDK's `InMemoryMetricReader`, collected at the flush.
  Its queue is unbounded here so it pays for every record (by default it drops, see threads).
- `ours_local`: `configure(exporter="console")`, the default local set-up: JSON lines through
  the `gyrinx.tracker` logger to a `StreamHandler` on /dev/null, and no metric reader, so no
  metrics are computed (metrics exist only with OTLP, the app's provider or `metric_reader=`).
  `ours_local_metrics` adds the same in-memory metric reader as `naive_otel` (collected at each
  flush), so the metric cost is visible; the same targets are applied to both.
- `ours_stdout`: `exporter="gcp", gcp_transport="stdout"` with `sys.stdout` on /dev/null.
  `ours_api`: `gcp_transport="api"` against the loopback Cloud Logging gRPC server
  (`tests/servers/cloud_logging.py`) running in a separate process, so only the client's CPU
  counts. `ours_api_upstream` (reference, 10% of the calls): the same pipeline with the upstream
  `opentelemetry-exporter-gcp-logging` `CloudLoggingExporter` doing conversion and write.

## Where the time goes

Each stage of the exporter thread timed alone on 5,000 of the same calls (single thread,
process CPU time, best of 5), in µs per event. Stages are sequential, so a mode's cost is
roughly the sum of its rows: submit + validate + body + record + emit [+ metrics] + that mode's
export (the attribute rows apply to OTLP and an application's provider only).

{report.stage_table(profile)}

The stages of each mode added up (*sum*), next to the whole `track()` + flush timed the same way
(*whole*); a positive *whole − sum* is what no stage covers (the queue, the hand-off between
threads, the GIL, the garbage collector), a negative one the stage loops' own overhead (a call
per item in every stage). Both are divided by the seed's whole call timed the
same way, and the last column repeats the ratio measured in the rounds.

{report.mode_sums(profile, rows)}

## Instructions per event

CPU time on this shared VM moves by a third between rounds; instruction counts do not. Each of
these implementations ran in a child process under `valgrind --tool=callgrind` with
{instructions.SMALL:,} and {instructions.LARGE:,} of the same calls (after the same warm-up,
`PYTHONHASHSEED=0`), and the difference per call is shown. It counts work, not waiting: the GIL
hand-offs between our caller and worker threads and cache effects are only in the timed rounds.

{_instruction_text(counted)}
## Eight threads

Each implementation in a fresh process, 8 threads calling it as fast as they can for
{args.thread_seconds:g} s, then a flush. *Delivered/s* counts exported events over the loop and
the flush; *dropped* are events the implementation gave up (ours counts them by reason;
`naive_otel` with the SDK's default 2,048-record queue drops without counting, inferred here from
what reached its exporter). Peak RSS is the `VmHWM` of that process.

{report.throughput_table(throughput)}

## Accounting under load

8 threads at full speed for {args.accounting_seconds:g} s with `max_queue={ACCOUNTING_QUEUE}`, so
the queue overflows. Every call is counted by the thread making it; after the flush the
tracker's `stats()` must say emitted = calls = exported + dropped, with nothing queued or in
flight, and for the API the loopback server must have received exactly the exported events.

{report.table(["key", "calls", "emitted", "exported", "dropped", "by reason", "server received",
               "books"], accounting_rows)}

## Metric cardinality

{card or "The cardinality run failed: " + cardinality.get("error", "?")}
## Method notes

- One process for the rounds, fresh processes for the thread runs and the cardinality run
  (peak RSS is `VmHWM`, since `ru_maxrss` survives `exec` and would report the parent's peak).
- Each round builds every implementation afresh and warms it up with 1,000 calls of another
  event (first export, gRPC channel, caches) before the clock starts. Our pipelines are replaced
  by the next `configure()`, which flushes and shuts the previous one down.
- The loopback server only counts entries (`benchmarks/loopback.py`); everything else is the
  real client stack: GAPIC client, protobuf, gRPC.
"""


def _cardinality_text(result: dict[str, Any]) -> str:
    counter = result["instruments"]["tracker.api_request"]
    histogram = result["instruments"]["tracker.api_request.value"]
    stats = result["stats"]
    curve = ", ".join(f"{n:,}: {mb:+.1f} MB" for n, mb in result["rss_curve"])
    return f"""{result['events']:,} events (after {result['warm_up']:,} warm-up events) in a fresh
process, local mode to /dev/null with an in-memory metric reader. Each event has a unique
`user_id` and `list_id`, a `path` embedding the list id (unique, but not named like an id), and
`endpoint` × `method` × `status` from {counter['low_cardinality_combinations']} combinations. The
producer flushes every 10,000 events so that all of them are processed (dropped:
{stats['dropped']:,}).

- RSS after warm-up {result['baseline_rss_mb']:.1f} MB; growth over the run
  {result['growth_mb']:.1f} MB (by events: {curve}); peak {result['peak_rss_mb']:.1f} MB.
- Counter `tracker.api_request`: {counter['series']} series, attribute keys
  {', '.join(counter['attribute_keys'])}; total {counter['total']:,} (= events + warm-up);
  overflow {counter['overflow_events']}; every endpoint/method/status count exact:
  {counter['exact']}. Histogram `tracker.api_request.value`: {histogram['series']} series, exact:
  {histogram['exact']}.
- Folded (counted in `stats()` and the `gyrinx_tracker.folded` counter):
  {stats['folded_metric_labels']} label key(s), {stats['folded_metric_series']} series.

Here `user_id` and `list_id` never reach a metric, `path` is folded after its 50th value, and
the {counter['low_cardinality_combinations']} low-cardinality combinations stay exact (summing
the series that also carry one of the first 50 `path` values). The rule, as the package
documents it (`gyrinx_tracker/_metrics.py`, quoted at the time of this run):

{_routing_rule()}
"""


def _routing_rule() -> str:
    """The routing rule from the metrics module's docstring, so this file cannot drift from it."""
    from gyrinx_tracker import _metrics

    doc = _metrics.__doc__ or ""
    start = doc.find("Routing rule")
    if start < 0:
        return "(not found in gyrinx_tracker/_metrics.py)"
    return "\n".join("> " + line for line in doc[start:].strip().splitlines())


if __name__ == "__main__":
    main()
