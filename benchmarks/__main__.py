"""``python -m benchmarks``: the phases, in one run (the timed ones never overlap anything of ours):
1. interleaved rounds of every implementation; 2. eight threads, then single-thread bursts, a fresh
process each; 3. untimed, side by side: the books under overload and one million unique-id events;
then the import time, the previous release's rounds, the cold-start bursts per mode and policy
(``import_time``, ``previous``, ``bursts``) and the event catalogue's cost (``catalogue_cost``: timed
rounds and its own callgrind counts);
4. instructions per event under callgrind, where valgrind is installed.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from benchmarks import bursts, catalogue_cost, import_time, load, previous, report
from benchmarks.impls import IMPLS, Env, Sink, shutdown_app_providers
from benchmarks.receivers import Endpoints, receivers
from benchmarks.rounds import run_rounds
from benchmarks.targets import ACCOUNTED, CALLGRIND_KEYS, Results
from benchmarks.workload import request_calls

# Each floor next to its mode, so that their runs, paired by index (targets.rate_versus), are close in time.
THREADS = ("seed_local", "sdk_otlp", "ours_local_metrics", "floor_local", "ours_stdout_metrics", "floor_stdout",
           "ours_api_metrics", "ours_otlp", "floor_otlp", "ours_app")
BURSTS = ("sdk_otlp", "ours_local_metrics", "ours_otlp", "ours_app")
# Variables that would steer the tracker away from what is being measured.
STEERING = ("GOOGLE_CLOUD_PROJECT", "GCLOUD_PROJECT", "K_SERVICE", "CLOUD_RUN_JOB", "OTEL_SERVICE_NAME",
            "OTEL_RESOURCE_ATTRIBUTES", "OTEL_EXPORTER_OTLP_ENDPOINT")
# name: (full run, --quick)
SETTINGS = {"rounds": (9, 2), "events": (6_000, 1_000), "thread_seconds": (2.0, 0.5), "thread_runs": (5, 1),
            "burst": (40_000, 5_000),
            "books_seconds": (10.0, 1.0), "cardinality_events": (1_000_000, 40_000),
            "catalogue_rounds": (11, 2), "catalogue_calls": (20_000, 4_000)}


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    for name, (full, _) in SETTINGS.items():
        parser.add_argument("--" + name.replace("_", "-"), type=type(full))
    parser.add_argument("--quick", action="store_true", help="a smoke run: small numbers, no RESULTS.md")
    parser.add_argument("--output", type=Path, help="default: benchmarks/RESULTS.md, nothing with --quick")
    parser.add_argument("--docs", type=Path, help="the page whose marked table is rewritten from this run "
                        "(report.docs_block); default: docs/performance.md, nothing with --quick")
    args = parser.parse_args()
    for name, (full, quick) in SETTINGS.items():
        setattr(args, name, getattr(args, name) or (quick if args.quick else full))
    args.output = args.output or (None if args.quick else Path(__file__).with_name("RESULTS.md"))
    args.docs = args.docs or (None if args.quick else Path(__file__).parent.parent / "docs" / "performance.md")
    return args


def measure(args: argparse.Namespace, endpoints: Endpoints, counted: bool) -> Results:
    print(f"[1/4] {args.rounds} interleaved rounds × {args.events:,} calls", flush=True)
    sink = Sink()
    rows = run_rounds(IMPLS, args.rounds, request_calls(args.events), Env(sink, endpoints))
    shutdown_app_providers()
    sink.close()
    print(f"{report.cost_table(rows)}\n[2/4] 8 threads × {args.thread_seconds:g} s, {args.thread_runs} runs per "
          f"implementation, interleaved; bursts of {args.burst:,}", flush=True)
    results = Results(rows, load.repeated(THREADS, args.thread_runs, args.thread_seconds, endpoints),
                      {key: load.run("burst", key, args.burst, endpoints) for key in BURSTS})
    print(f"{report.load_table(results.threads)}\n{report.load_table(results.bursts)}\n[3/4] books under 8 threads "
          f"× {args.books_seconds:g} s, max_queue=1000; {args.cardinality_events:,} unique-id events", flush=True)
    cardinality = subprocess.Popen([sys.executable, "-m", "benchmarks.cardinality", str(args.cardinality_events)],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    results.books = {key: load.run("threads", key, args.books_seconds, endpoints, 1_000) for key in ACCOUNTED}
    results.cardinality = load.last_json(*cardinality.communicate(timeout=900), "cardinality", cardinality.returncode)
    print(f"{report.load_table(results.books)}\n{report.cardinality_table(results.cardinality)}", flush=True)
    results.import_time = import_time.measure(3 if args.quick else import_time.RUNS)
    print(f"import gyrinx_tracker: {results.import_time}\nthe previous release ({previous.PREVIOUS}), "
          f"{args.rounds} rounds", flush=True)
    results.previous = previous.run(endpoints, args.rounds, args.events)
    print(report.previous_table(results.previous), flush=True)
    print("bursts from a cold start per mode and policy; the API ceiling per bound (benchmarks/bursts.py)", flush=True)
    results.policies = bursts.run(endpoints, args.quick)
    print(report.policy_tables(results.policies), flush=True)
    print(f"[3/4] the event catalogue: {args.catalogue_rounds} rounds × {args.catalogue_calls:,} calls"
          + (", then callgrind" if counted else ""), flush=True)
    results.catalogue = catalogue_cost.run(args.catalogue_rounds, args.catalogue_calls, counted)
    return results


def main() -> None:
    args = arguments()
    for name in [*STEERING, *(name for name in os.environ if name.startswith("GYRINX_TRACKER_"))]:
        os.environ.pop(name, None)
    started = time.perf_counter()
    counted = not args.quick and bool(shutil.which("valgrind"))
    with receivers() as endpoints:
        results = measure(args, endpoints, counted)
        if counted:  # with the receivers: the OTLP and API modes need them
            print(f"[4/4] callgrind, {load.SMALL:,} and {load.LARGE:,} calls", flush=True)
            try:
                results.instructions = {key: load.instructions(key, endpoints) for key in CALLGRIND_KEYS}
            except RuntimeError as error:
                print(f"  ! {error}", file=sys.stderr)
    elapsed = time.perf_counter() - started
    print(f"{report.instructions_table(results.instructions)}\n{report.targets_table(results)}\n"
          f"{report.docs_table(results)}\n{report.docs_throughput(results)}\ntotal {elapsed:.0f} s")
    settings = (f"{args.rounds} rounds × {args.events:,} calls; threads {args.thread_runs} × "
                f"{args.thread_seconds:g} s; bursts of "
                f"{args.burst:,}; books {args.books_seconds:g} s; {args.cardinality_events:,} unique-id "
                f"events; the whole run took {elapsed:.0f} s")
    if args.output is not None:
        args.output.write_text(report.render(results, settings))
        print(f"wrote {args.output}")
    if args.docs is not None:
        report.write_docs(args.docs, report.docs_block(results, settings, args.quick))
        print(f"rewrote the table of {args.docs}")


if __name__ == "__main__":
    main()
