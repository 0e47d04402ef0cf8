"""Interleaved rounds: every implementation on the same calls, close together in time.

Round ``r`` runs the table rotated by ``r``, so none is always first (cold caches) or last (most
garbage). *Caller* = wall time of the loop / calls (our worker competes for the GIL meanwhile, which
the caller pays), and the calling thread's own CPU over it; *total CPU* = ``process_time()`` of all threads over the loop and the flush that
exports everything / calls (the receivers run in another process). Ratios are taken within a round,
against a baseline measured seconds apart; medians over rounds cancel most of a shared machine's
drift. After every round the delivery is counted where it landed; a shortfall marks the row.
"""

from __future__ import annotations

import gc
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from benchmarks.impls import Env, Impl, Runner, running
from benchmarks.workload import EVENT, Call


class Sample(NamedTuple):
    caller_us: float
    cpu_us: float
    # The calling thread's own CPU over the loop (``thread_time()``): its work without the time it
    # waited for the GIL or was descheduled by other processes, the steadier figure beside a bare
    # deque append's on a loaded machine.
    thread_us: float = 0.0


@dataclass
class Row:
    impl: Impl
    samples: list[Sample] = field(default_factory=list)
    caller_x: list[float] = field(default_factory=list)
    cpu_x: list[float] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def add(self, sample: Sample, base: Sample | None) -> None:
        self.samples.append(sample)
        if base is not None:
            self.caller_x.append(sample.caller_us / base.caller_us)
            self.cpu_x.append(sample.cpu_us / base.cpu_us)


def middle_half(values: list[float]) -> tuple[float, float, float]:
    """Median and the quartiles around it (the middle half of the rounds). Inclusive quartiles: they
    stay within the values measured (the default method extrapolates past them with few rounds, which
    gave a --quick run of two rounds negative ratios)."""
    if len(values) < 2:
        return values[0], values[0], values[0]
    low, median, high = statistics.quantiles(values, n=4, method="inclusive")
    return median, low, high


def span(runner: Runner, load: Callable[[Callable[..., None]], int]) -> dict[str, Any]:
    """Run ``load(track)`` (it returns the calls it made), then flush: the caller's wall time (``loop_s``),
    the wall time until flushed (``wall_s``), process CPU over both (``cpu_s``), and what changed
    meanwhile where the output lands (``got``: records, counter total, histogram count, None where
    not counted) and in our books (``books``: emitted, exported, dropped; None: no books)."""
    books0, got0 = runner.books(), runner.delivered()
    cpu0, thread0, start = time.process_time(), time.thread_time(), time.perf_counter()
    calls = load(runner.track)
    loop, thread = time.perf_counter() - start, time.thread_time() - thread0
    runner.flush()
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu0
    return {"calls": calls, "loop_s": loop, "thread_s": thread, "wall_s": wall, "cpu_s": cpu, "got": _change(got0, runner.delivered()),
            "books": _change(books0, runner.books())}


def _change(before: Sequence[float | None] | None, after: Sequence[float | None] | None) -> Any:
    if before is None or after is None:
        return None
    return tuple(None if b is None or a is None else a - b for a, b in zip(after, before, strict=True))


def play(track: Callable[..., None], calls: list[Call]) -> int:
    for value, labels in calls:
        track(EVENT, 1, value, **labels)
    return len(calls)


def measure(runner: Runner, calls: list[Call]) -> tuple[Sample, list[str]]:
    """One round of one implementation, and what did not add up."""
    gc.collect()
    made, n, problems = span(runner, lambda track: play(track, calls)), len(calls), []
    if made["books"] is not None and made["books"] != (n, n, 0):
        problems.append("stats: emitted {}, exported {}, dropped {}".format(*made["books"]))
    for what, got in zip(("log records", "counter total", "histogram count"), made["got"], strict=True):
        if got is not None and got != n:
            problems.append(f"{what} {got:g} of {n}")
    return Sample(made["loop_s"] / n * 1e6, made["cpu_s"] / n * 1e6, made["thread_s"] / n * 1e6), problems


def run_rounds(impls: tuple[Impl, ...], rounds: int, calls: list[Call], env: Env) -> dict[str, Row]:
    rows = {impl.key: Row(impl) for impl in impls}
    for index in range(rounds):
        started = time.perf_counter()
        turn = index % len(impls)
        this_round = {impl.key: _one(impl, env, calls, rows[impl.key]) for impl in impls[turn:] + impls[:turn]}
        for key, sample in this_round.items():
            rows[key].add(sample, this_round.get(rows[key].impl.baseline or ""))
        print(f"  round {index + 1}/{rounds} ({time.perf_counter() - started:.1f} s), CPU µs/event: "
              + "  ".join(f"{key}={sample.cpu_us:.1f}" for key, sample in this_round.items()), flush=True)
    return rows


def _one(impl: Impl, env: Env, calls: list[Call], row: Row) -> Sample:
    with running(impl, env) as runner:
        sample, problems = measure(runner, calls)
    if problems:
        row.problems.append("; ".join(problems))
        print(f"  ! {impl.key}: {'; '.join(problems)}", file=sys.stderr)
    return sample
