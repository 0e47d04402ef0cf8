"""``RESULTS.md``: sections of a heading, a short explanation and a table whose rows come from the
implementation table, the target table or the load runs' JSON, through column tables.
"""

from __future__ import annotations

import datetime
import os
import platform
import subprocess
import sys
from collections.abc import Callable, Iterable
from importlib import metadata
from typing import Any

from benchmarks.impls import IMPLS
from benchmarks.rounds import Row, middle_half
from benchmarks.targets import ISSUE_27, TARGETS, THROUGHPUT_PAIRS, Results, Target, per_round, rate_versus

PACKAGES = ("opentelemetry-sdk", "opentelemetry-exporter-otlp-proto-grpc", "google-cloud-logging", "grpcio")
Columns = tuple[tuple[str, Callable[[Any], Any]], ...]


def table(columns: Columns, items: Iterable[Any]) -> str:
    lines = ["| " + " | ".join(name for name, _ in columns) + " |", "|" + "---|" * len(columns)]
    return "\n".join(lines + ["| " + " | ".join(str(cell(item)) for _, cell in columns) + " |" for item in items])


def _ratio(values: list[float]) -> str:
    return "—" if not values else "{:.2f}× ({:.2f}–{:.2f})".format(*middle_half(values))


COSTS: Columns = (
    ("key", lambda row: f"`{row.impl.key}`"),
    ("caller µs/call", lambda row: f"{middle_half([s.caller_us for s in row.samples])[0]:.2f}"),
    ("caller thread CPU µs/call", lambda row: f"{middle_half([s.thread_us for s in row.samples])[0]:.2f}"),
    ("total CPU µs/event", lambda row: f"{middle_half([s.cpu_us for s in row.samples])[0]:.2f}"),
    ("caller × (middle half)", lambda row: _ratio(row.caller_x)),
    ("CPU × (middle half)", lambda row: _ratio(row.cpu_x)),
    ("vs", lambda row: f"`{row.impl.baseline}`" if row.impl.baseline else "—"),
    ("rounds fully received", lambda row: f"{len(row.samples) - len(row.problems)}/{len(row.samples)}"
                                          + (" ⚠" if row.problems else "")),
)


def _books(run: dict[str, Any]) -> str:
    if "balanced" not in run:
        return f"no books; {run['lost']:,} lost" if run["lost"] else "no books; none lost"
    if not run["balanced"]:
        return "**NOT balanced**"
    return "exact" if run["exact"] else f"balanced; **{run['exported'] - run['delivered']:,} exported, not received**"


def _cell(form: str) -> Callable[[dict[str, Any]], str]:
    return lambda run: "" if "error" in run else form.format(**run)


def _reasons(run: dict[str, Any], none: str = "") -> str:
    return ", ".join(f"{k} {v:,}" for k, v in run.get("dropped_by_reason", {}).items()) or none


def _failed(name: str) -> Callable[[dict[str, Any]], str]:
    return lambda run: f"`{run[name]}`" + (f" failed: {run['error']}" if "error" in run else "")


LOADS: Columns = (
    ("key", _failed("key")),
    ("calls", _cell("{calls:,}")),
    ("calls/s", _cell("{calls_per_s:,.0f}")),
    ("received", _cell("{delivered:,}")),
    ("received/s", _cell("{delivered_per_s:,.0f}")),
    ("received/s, every run", lambda run: " · ".join(f"{rate:,.0f}" for rate in run.get("rates", []))),
    ("dropped by reason", _reasons),
    ("CPU µs/received", _cell("{cpu_us_per_delivered:.1f}")),
    ("peak RSS MB", _cell("{peak_rss_mb:.1f}")),
    ("books", lambda run: "" if "error" in run else _books(run)),
)
# benchmarks/bursts.py's runs: one per mode and policy, then one per EXPORT_CONCURRENCY bound
BURSTS: Columns = (
    ("mode", _failed("mode")),
    ("policy", lambda run: f"`{run['policy']}`"),
    ("events / max_queue", _cell("{events:,} / {max_queue:,}")),
    ("received", _cell("{delivered:,}")),
    ("dropped by reason", lambda run: "" if "error" in run else _reasons(run, "—")),
    ("books", lambda run: "" if "error" in run else _books(run)),
    ("block loses nothing", lambda run: "" if "error" in run else "—" if run["policy"] != "block" else
     "PASS" if run["delivered"] == run["events"] and not run["dropped"] else "MISS"),
    ("burst on the caller", _cell("{burst_s:.2f} s ({calls_per_s:,.0f} calls/s)")),
    ("track() p50 / p99 µs", _cell("{p50_us:.1f} / {p99_us:.1f}")),
    ("first track() ms", _cell("{first_ms:.0f}")),
    ("track() max ms", _cell("{max_ms:.0f}")),
    ("until delivered", _cell("{until_delivered_s:.2f} s")),
)
CEILING: Columns = (
    ("EXPORT_CONCURRENCY", lambda run: f"{run['bound']}" + (f" failed: {run['error']}" if "error" in run else "")),
    ("s per call", lambda run: f"{run['delay_s']:g}"),
    ("events stored by the server", _cell("{stored:,} of {events:,}")),
    ("exported (stats)", _cell("{exported:,}")),
    ("seconds", _cell("{seconds:.1f}")),
    ("events/s stored", _cell("{events_per_s:,}")),
    ("most calls in the server at once", _cell("{peak_in_server}")),
)
TARGET_COLUMNS: Columns = (("issue", lambda t: f"#{t[0].issue}"), ("target", lambda t: t[0].text),
                           ("measured", lambda t: t[1][0]), ("verdict", lambda t: t[1][1]))


def targets_table(results: Results, targets: tuple[Target, ...] = TARGETS) -> str:
    return table(TARGET_COLUMNS, ((target, target.verdict(results)) for target in targets))


# docs/performance.md's table: (key, what it is, its floor); every ratio is to the original tracker (seed_local).
DOCS_ROWS = (
    ("ours_local_metrics", "local as shipped (event and metric lines)", "floor_local"),
    ("ours_local", "local, logs only (`local_metrics=False`)", "floor_local"),
    ("ours_stdout_metrics", "**Cloud Run stdout as shipped** (metrics to Cloud Monitoring)", "floor_stdout"),
    ("ours_stdout", "Cloud Run stdout, logs only", "floor_stdout"),
    ("ours_api_metrics", "Cloud Logging API as shipped (metrics to Cloud Monitoring)", None),
    ("ours_api", "Cloud Logging API, logs only", None),
    ("ours_otlp", "OTLP (logs, counter, histogram)", "floor_otlp"),
    ("ours_app", "the app's own providers (OTLP)", None),
    ("sdk_otlp", "hand-written SDK set-up, for scale", None),
    ("floor_deque", "floor of the calling thread: a deque append of the same arguments", None),
    ("floor_local", "floor of local: `json.dumps` lines, one write per batch", None),
    ("floor_stdout", "floor of Cloud Run stdout: structured lines, one write per batch", None),
    ("floor_otlp", "floor of OTLP: requests from bytes cached per label set, one gRPC call per batch (logs only)", None),
)
ORIGINAL = "seed_local"


def _median_ratio(results: Results, key: str, other: str, cpu: bool = True, field: str | None = None) -> str:
    """The median per-round ratio and the middle half, or — where either row is missing."""
    if key not in results.rows or other not in results.rows:
        return "—"
    return "{:.2f}× ({:.2f}–{:.2f})".format(*middle_half(per_round(results, key, other, cpu, field)))


def _instructions(results: Results, key: str, other: str | None) -> str:
    counted = results.instructions or {}
    if other is None or key not in counted or other not in counted:
        return "—"
    return f"{counted[key] / counted[other]:.2f}×"


def _floor_distance(results: Results, key: str, floor: str | None) -> str:
    if floor is None:
        return "—"
    counted = _instructions(results, key, floor)
    return f"{_median_ratio(results, key, floor).split(' ')[0]} CPU" + ("" if counted == "—" else f", {counted} instructions")


def docs_table(results: Results) -> str:
    """The table docs/performance.md shows: each mode and floor against the original, from one run."""
    columns: Columns = (
        ("mode", lambda row: row[1]),
        ("total CPU vs the original (middle half)", lambda row: _median_ratio(results, row[0], ORIGINAL)),
        ("instructions vs the original", lambda row: _instructions(results, row[0], ORIGINAL)),
        ("calling thread vs the original", lambda row: _median_ratio(results, row[0], ORIGINAL, cpu=False)),
        ("calling thread vs a deque append", lambda row: _median_ratio(results, row[0], "floor_deque", cpu=False)),
        ("its own CPU vs a deque append's", lambda row: _median_ratio(results, row[0], "floor_deque",
                                                                      field="thread_us")),
        ("distance from its floor", lambda row: _floor_distance(results, row[0], row[2])),
    )
    return table(columns, [row for row in DOCS_ROWS if row[0] in results.rows])


def docs_throughput(results: Results) -> str:
    """Eight threads: each mode's median events/s received beside its floor's."""
    def cell(key: str) -> str:
        run = results.threads.get(key, {})
        return "—" if "delivered_per_s" not in run else f"{run['delivered_per_s']:,.0f}"

    columns: Columns = (
        ("mode (8 threads, one process)", lambda pair: f"`{pair[0]}`"),
        ("events/s received (median run)", lambda pair: cell(pair[0])),
        ("its floor's", lambda pair: f"{cell(pair[1])} (`{pair[1]}`)"),
        ("ratio, run by run", lambda pair: Target("27", "", rate_versus(*pair), reported=True).verdict(results)[0]),
    )
    return table(columns, THROUGHPUT_PAIRS)


DOCS_BEGIN = "<!-- make bench writes from here: benchmarks/report.py, docs_block() -->"
DOCS_END = "<!-- make bench writes up to here -->"


def docs_block(results: Results, settings: str, quick: bool) -> str:
    origin = ("**A `--quick` smoke run (two short rounds, no callgrind), not a `make bench` run: placeholder "
              "numbers, to be replaced by the next `make bench`.** " if quick else "")
    return (f"{DOCS_BEGIN}\n{origin}From `python -m benchmarks` ({settings}):\n\n{machine()}\n\n"
            f"{docs_table(results)}\n\n{docs_throughput(results)}\n{DOCS_END}")


def write_docs(path: Any, block: str) -> None:
    """Replace the block between the markers of ``path`` (docs/performance.md) with ``block``."""
    text = path.read_text()
    begin, end = text.find(DOCS_BEGIN), text.find(DOCS_END)
    if begin < 0 or end < begin:
        raise ValueError(f"{path} has no block between {DOCS_BEGIN!r} and {DOCS_END!r}")
    path.write_text(text[:begin] + block + text[end + len(DOCS_END):])


def cost_table(rows: dict[str, Row]) -> str:
    return table(COSTS, rows.values())


def load_table(runs: dict[str, dict[str, Any]]) -> str:
    return table(LOADS, runs.values())


def cardinality_table(result: dict[str, Any]) -> str:
    if "error" in result:
        return f"The cardinality run failed: {result['error']}"
    facts = [("events, after 20,000 warm-up events", f"{result['events']:,}"), ("dropped", result["dropped"]),
             ("RSS after warm-up, growth, peak", "{baseline_mb:.1f}, {growth_mb:+.1f}, {peak_rss_mb:.1f} MB"
              .format(**result)), ("folded label keys, series", "{folded_labels}, {folded_series}".format(**result))]
    facts += [(f"`{name}`", f"{i['series']} series, keys {', '.join(i['keys'])}; overflow {i['overflow']}; "
               f"{result['combinations']} endpoint/method/status counts exact: {i['exact']}")
              for name, i in result.items() if name.startswith("tracker.")]
    return table((("measure", lambda f: f[0]), ("value", lambda f: f[1])), facts)


def policy_tables(found: dict[str, Any]) -> str:
    """``benchmarks/bursts.py``'s bursts per mode and policy, and the API ceiling per bound."""
    if not found:
        return "Not measured in this run."
    return f"{table(BURSTS, found['bursts'])}\n\n{table(CEILING, found['ceiling'])}"


def instructions_table(counted: dict[str, float] | None) -> str:
    if counted is None:
        return "Not measured in this run (no valgrind, or `--quick`)."
    return table((("key", lambda i: f"`{i[0]}`"), ("instructions per event", lambda i: f"{i[1]:,.0f}")),
                 counted.items())


def previous_table(found: dict[str, Any]) -> str:
    """The previous release's rows (``benchmarks/previous.py``) and both import times."""
    if not found or "error" in found:
        return f"Not measured in this run ({found.get('error', 'skipped') if found else 'skipped'})."
    rows = [(key, row) for key, row in found.items() if isinstance(row, dict) and "cpu_us" in row]
    shown = table((("key", lambda i: f"`{i[0]}`"), ("total CPU µs/event", lambda i: f"{middle_half(i[1]['cpu_us'])[0]:.2f}"),
                   ("CPU × (middle half)", lambda i: _ratio(i[1]["cpu_x"])),
                   ("vs", lambda i: f"`{i[1]['vs']}`" if i[1]["vs"] else "—"),
                   ("rounds fully received", lambda i: f"{len(i[1]['cpu_us']) - len(i[1]['problems'])}/{len(i[1]['cpu_us'])}")),
                  rows)
    about = "\n".join(f"- `{key}`: {row['about']}" for key, row in rows if key.startswith("previous"))
    imported = found.get("import_time", {})
    return (f"{shown}\n\n{about}\n\n`import gyrinx_tracker` of the previous release: median "
            f"{imported.get('median_ms', float('nan')):.1f} ms ({imported.get('min_ms', float('nan')):.1f}–"
            f"{imported.get('max_ms', float('nan')):.1f}) over {imported.get('runs', 0)} fresh interpreters.")


def machine() -> str:
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], capture_output=True, text=True, timeout=10).stdout.strip()

    dirty = git("status", "--porcelain", "gyrinx_tracker", "benchmarks", ":!benchmarks/RESULTS.md")
    versions = ", ".join(f"{name} {metadata.version(name)}" for name in PACKAGES)
    return (f"- Date: {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M UTC}\n"
            f"- Commit: {git('rev-parse', '--short', 'HEAD')}{' + uncommitted changes' if dirty else ''}\n"
            f"- Machine: {platform.machine()}, {os.cpu_count()} logical CPUs; load average at the end "
            + " ".join(f"{x:.2f}" for x in os.getloadavg()) + f"\n- Python {sys.version.split()[0]}; {versions}")


INTRO = """# Benchmark results

Generated by `make bench` (`python -m benchmarks`; the method is in `benchmarks/__init__.py`).
Absolute numbers move with the load of this shared machine; the ratios, taken within each round
between implementations measured seconds apart, are what the targets are about."""

COST = """Every call is `track("api_request", 1, value, endpoint=..., method=..., status=..., user_id=...)`
from a pool of 1,000 distinct calls, the same for every implementation. *Caller*: wall time of the
loop / calls, while the implementation's own threads run; *caller thread CPU*: that thread's own CPU
(`thread_time()`) over the loop, without GIL waits or other processes' turns. *Total CPU*: `process_time()` of the whole
process over the loop and the flush that exports everything, per event. Medians over the rounds;
ratios are medians of per-round ratios to *vs*, with the middle half of the rounds in parentheses.
After each round the delivery is counted where it landed (lines in the sink file, entries and records
at the receivers, counter totals and histogram counts at the receiver or the in-memory reader)."""

LOAD = """Each run in a fresh process: {what}, then one flush; *received* is counted where the output
landed, *received/s* over the loop and the flush. Ours must balance its books (calls = emitted =
exported + dropped) and be exact (received = exported); the others keep no books. The SDK set-ups
(`sdk_otlp`, and the app's providers under `ours_app`) keep the SDK's default 2,048-record queue here;
what the app's processor drops after we handed a record over is *exported, not received*."""

THREAD_RUNS = """ Each implementation is run several times, the
implementations interleaved run by run (`load.repeated`), and the row is its median run by
*received/s*, with every run's rate beside it in the order run; the books are those of all its runs.
On this shared machine, 2-s runs of the same code minutes apart have differed by a quarter (OTLP,
73,304 to 96,990 events/s on 2026-12-07): one run cannot decide a target."""


ISSUE_27_TEXT = """Each mode against the original tracker (`seed_local`) and against its floor (`floor_*`,
`benchmarks/floors.py`: the least a pipeline writing the same output does, measured in the same rounds and
counted where its output landed; each floor's description below says what it leaves out). Ratios are
medians of per-round ratios, the middle half of the rounds in parentheses; instructions are counted under
callgrind; the 8-thread ratios pair each mode's runs with its floor's, interleaved (`load.repeated`)."""

IMPORT = """`import gyrinx_tracker` in a fresh interpreter, the cumulative time `-X importtime` reports for it
(`benchmarks/import_time.py`): median {median_ms:.1f} ms, min {min_ms:.1f}, max {max_ms:.1f}, over {runs} runs."""

POLICIES = """*Burst*: each run is a fresh process configured through the environment only, so its first
``track()`` builds the pipeline (imports, the output, channels) as a batch job's would; one thread
then makes *events* calls as fast as it can, each call timed (its two clock reads included). The
books come from ``stats()`` and delivery is counted where it landed (lines in a file for local and
stdout, entries and records at the counting receivers of ``benchmarks/receivers.py`` for api and
OTLP). *Until delivered* is the time from the first call until the books say every event was
exported or dropped (polled every 2 ms), and the receiver's count is checked against ``exported``
after it. Modes run as shipped: metrics on (to the OTLP receiver standing in for Cloud Monitoring
in the GCP modes).

*Ceiling*: per bound, a fresh process against its own loopback Cloud Logging server answering
each call after *s per call*; *events/s stored* is what the server stored over the time from the
first ``track()`` until it had every event."""

PREVIOUS = """The package at the previous release's commit, installed into a temporary directory
(`git archive` + `pip install --no-deps --target`) and measured in a process of its own beside the
seeds (`benchmarks/previous.py`), same rounds and calls as above; its ratios are to the seeds of
that process."""


def render(results: Results, settings: str) -> str:
    problems = "\n".join(f"- ⚠ `{key}`: {p}" for key, row in results.rows.items() for p in row.problems)
    sections = (
        INTRO, machine() + f"\n- Settings: {settings}", "## Issue 27: every mode near its floor", ISSUE_27_TEXT,
        targets_table(results, ISSUE_27), docs_table(results), docs_throughput(results),
        "## Targets", targets_table(results, tuple(t for t in TARGETS if t not in ISSUE_27)),
        "## Per-call cost", COST, cost_table(results.rows), problems,
        "\n".join(f"- `{impl.key}`: {impl.about}" for impl in IMPLS),
        "## Eight threads", LOAD.format(what="8 threads call as fast as they can") + THREAD_RUNS,
        load_table(results.threads),
        "## Bursts", LOAD.format(what="one thread calls as fast as it can"), load_table(results.bursts),
        "## Books under overload", LOAD.format(what="8 threads with `max_queue=1000`, so the queue overflows"),
        load_table(results.books), "## Metric cardinality",
        "Local mode with an in-memory reader (`benchmarks/cardinality.py`).", cardinality_table(results.cardinality),
        "## Bursts and the API ceiling, per mode and policy", POLICIES, policy_tables(results.policies),
        "## Import time", IMPORT.format(**results.import_time) if results.import_time else "Not measured.",
        "## The previous release", PREVIOUS, previous_table(results.previous),
        "## Instructions per event (callgrind)", "Work, not waiting: a noise-free cross-check of the CPU ratios "
        "(`instructions()` in `benchmarks/load.py`).", instructions_table(results.instructions))
    return "\n\n".join(section for section in sections if section) + "\n"
