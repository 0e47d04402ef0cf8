"""Interleaved rounds: every implementation measured on the same calls, close together in time.

Round ``r`` runs the implementations in the table's order rotated by ``r``, so none always runs
first (cold caches) or last (after the most garbage). Per implementation and round:

* caller cost = wall time of the loop of ``track()`` calls / calls. The pipeline's worker runs
  meanwhile and competes for the GIL, which is part of what the caller pays;
* total CPU = ``time.process_time()`` (all threads of the process) over the loop *and* the flush
  that exports everything, / calls.

The loopback Cloud Logging server runs in another process, so its CPU is not counted. Ratios are
taken within a round (each implementation against its baseline measured seconds apart) and the
median over rounds is reported, which cancels most of the drift of a shared machine's load.
"""

from __future__ import annotations

import gc
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from benchmarks.impls import Env, Runner, Spec
from benchmarks.loopback import LoopbackProcess
from benchmarks.workload import EVENT, Call


@dataclass
class Sample:
    caller_us: float
    cpu_us: float


@dataclass
class Row:
    """One implementation's samples over all rounds and the checks made on each."""

    spec: Spec
    samples: list[Sample] = field(default_factory=list)
    ratios_caller: list[float] = field(default_factory=list)
    ratios_cpu: list[float] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def caller_us(self) -> float:
        return statistics.median(s.caller_us for s in self.samples)

    @property
    def cpu_us(self) -> float:
        return statistics.median(s.cpu_us for s in self.samples)

    @property
    def caller_ratio(self) -> float | None:
        return statistics.median(self.ratios_caller) if self.ratios_caller else None

    @property
    def cpu_ratio(self) -> float | None:
        return statistics.median(self.ratios_cpu) if self.ratios_cpu else None


def measure(runner: Runner, calls: list[Call]) -> tuple[Sample, str | None]:
    """One round of one implementation; the problem string says what did not add up, if anything."""
    track = runner.track
    event = EVENT
    gc.collect()
    before = runner.counts()
    cpu0 = time.process_time()
    t0 = time.perf_counter()
    for value, labels in calls:
        track(event, 1, value, **labels)
    t1 = time.perf_counter()
    runner.flush()
    cpu1 = time.process_time()
    after = runner.counts()
    n = len(calls)
    problem = None
    if before is not None and after is not None:
        emitted, exported, dropped = (a - b for a, b in zip(after, before))
        if (emitted, exported, dropped) != (n, n, 0):
            problem = f"{n} calls: emitted {emitted}, exported {exported}, dropped {dropped}"
    return Sample((t1 - t0) / n * 1e6, (cpu1 - cpu0) / n * 1e6), problem


def run_rounds(specs: tuple[Spec, ...], rounds: int, events: int, calls: list[Call],
               log: Callable[[str], None]) -> dict[str, Row]:
    rows = {spec.key: Row(spec) for spec in specs}
    server = LoopbackProcess() if any(spec.api for spec in specs) else None
    env = Env(endpoint=server.endpoint if server else None)
    try:
        for index in range(rounds):
            started = time.perf_counter()
            order = specs[index % len(specs):] + specs[:index % len(specs)]
            this_round: dict[str, Sample] = {}
            for spec in order:
                this_round[spec.key] = _one(spec, env, server, calls[:max(1, int(events * spec.scale))],
                                            rows[spec.key])
            for key, sample in this_round.items():
                row = rows[key]
                row.samples.append(sample)
                base = this_round.get(row.spec.baseline or "")
                if base is not None:
                    row.ratios_caller.append(sample.caller_us / base.caller_us)
                    row.ratios_cpu.append(sample.cpu_us / base.cpu_us)
            log(f"  round {index + 1}/{rounds}: {time.perf_counter() - started:.1f} s  " + "  ".join(
                f"{key}={s.cpu_us:.1f}" for key, s in this_round.items()) + "  (CPU µs/event)")
    finally:
        if server is not None:
            server.close()
    return rows


def _one(spec: Spec, env: Env, server: LoopbackProcess | None, calls: list[Call], row: Row) -> Sample:
    with spec.running(env) as runner:
        received = server.count() if server is not None and spec.api else None
        sample, problem = measure(runner, calls)
        if received is not None and server is not None:
            got = server.count() - received
            if got != len(calls):
                problem = (problem + "; " if problem else "") + \
                    f"server received {got} of {len(calls)} entries"
    if problem:
        row.problems.append(problem)
        print(f"  ! {spec.key}: {problem}", file=sys.stderr)
    return sample
