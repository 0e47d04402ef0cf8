"""Interleaved rounds: every implementation on the same calls, close together in time.

Round ``r`` runs the table rotated by ``r``, so none is always first (cold caches) or last (most
garbage). *Caller* = wall time of the loop / calls (our worker competes for the GIL meanwhile, which
the caller pays); *total CPU* = ``process_time()`` of all threads over the loop and the flush that
exports everything / calls (the receivers run in another process). Ratios are taken within a round,
against a baseline measured seconds apart; medians over rounds cancel most of a shared machine's
drift. After every round the delivery is counted where it landed; a shortfall marks the row.
"""

from __future__ import annotations

import gc
import statistics
import sys
import time
from dataclasses import dataclass, field
from typing import NamedTuple

from benchmarks.impls import Books, Delivery, Env, Impl, Runner, running
from benchmarks.workload import EVENT, Call


class Sample(NamedTuple):
    caller_us: float
    cpu_us: float


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
    """Median and the quartiles around it (the middle half of the rounds)."""
    if len(values) < 2:
        return values[0], values[0], values[0]
    low, median, high = statistics.quantiles(values, n=4)
    return median, low, high


def measure(runner: Runner, calls: list[Call]) -> tuple[Sample, list[str]]:
    """One round of one implementation, and what did not add up."""
    track, n = runner.track, len(calls)
    gc.collect()
    books, delivered = runner.books(), runner.delivered()
    cpu0, wall0 = time.process_time(), time.perf_counter()
    for value, labels in calls:
        track(EVENT, 1, value, **labels)
    wall1 = time.perf_counter()
    runner.flush()
    cpu1 = time.process_time()
    sample = Sample((wall1 - wall0) / n * 1e6, (cpu1 - cpu0) / n * 1e6)
    return sample, shortfalls(n, books, runner.books(), delivered, runner.delivered())


def shortfalls(n: int, books0: Books | None, books1: Books | None, got0: Delivery,
               got1: Delivery) -> list[str]:
    problems = []
    if books0 is not None and books1 is not None:
        emitted, exported, dropped = (after - before for after, before in zip(books1, books0, strict=True))
        if (emitted, exported, dropped) != (n, n, 0):
            problems.append(f"stats: emitted {emitted}, exported {exported}, dropped {dropped}")
    for what, before, after in zip(("log records", "counter total", "histogram count"), got0, got1, strict=True):
        if before is not None and after is not None and after - before != n:
            problems.append(f"{what} {after - before:g} of {n}")
    return problems


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
