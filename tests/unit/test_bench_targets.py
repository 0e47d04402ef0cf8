"""How the benchmark reads issue 27's targets from a run (benchmarks/targets.py): ratios taken round by
round against any row of the same run (not only a row's baseline), medians, and throughput paired run
by run with the floor's, where books that are not exact fail the target whatever the rate.

The results are built by hand, so each expected figure is worked out here from the samples.
"""

from __future__ import annotations

from typing import Any

import pytest

from benchmarks.impls import BY_KEY
from benchmarks.report import docs_table, docs_throughput
from benchmarks.rounds import Row, Sample
from benchmarks.targets import ISSUE_27, Results, Target, per_round, rate_versus, versus


def _rows(**samples: list[tuple[float, float]]) -> dict[str, Row]:
    """Rows of (caller µs, CPU µs) per round, in round order; the caller thread's own CPU is half its wall time."""
    rows = {}
    for key, pairs in samples.items():
        rows[key] = Row(BY_KEY[key], samples=[Sample(caller, cpu, caller / 2) for caller, cpu in pairs])
    return rows


def _run(rates: list[float], exact: bool = True) -> dict[str, Any]:
    ordered = sorted(rates)
    return {"delivered_per_s": ordered[(len(ordered) - 1) // 2], "rates": rates, "balanced": True, "exact": exact}


RESULTS = Results(_rows(
    seed_local=[(10.0, 20.0), (20.0, 40.0), (10.0, 10.0)],
    seed_gcp=[(40.0, 80.0), (40.0, 80.0), (40.0, 80.0)],
    floor_deque=[(1.0, 1.0), (1.0, 1.0), (2.0, 2.0)],
    ours_stdout_metrics=[(1.0, 8.0), (1.5, 12.0), (4.0, 9.0)],
))


class TestRoundRatios:
    def test_a_ratio_is_taken_within_each_round_then_the_median(self) -> None:
        """8/20, 12/40, 9/10 -> 0.4, 0.3, 0.9: the median is 0.4, not the ratio of medians (9/20)."""
        assert per_round(RESULTS, "ours_stdout_metrics", "seed_local") == pytest.approx([0.4, 0.3, 0.9])
        assert versus("ours_stdout_metrics", "seed_local")(RESULTS).value == pytest.approx(0.4)

    def test_the_calling_thread_is_read_from_the_caller_samples(self) -> None:
        """Caller 1/1, 1.5/1, 4/2 over floor_deque: median 1.5, at the limit of 1.5 (a PASS)."""
        reading = versus("ours_stdout_metrics", "floor_deque", cpu=False)
        assert reading(RESULTS).value == pytest.approx(1.5)
        assert reading(RESULTS).shown == "1.50× (1.25–1.75); its thread's CPU 1.50× (1.25–1.75)"  # 1, 1.5, 2
        assert Target("27", "", reading, 1.5).verdict(RESULTS)[1].startswith("PASS")

    def test_the_stdout_target_against_the_original_and_its_google_cloud_path(self) -> None:
        """Issue 27's stdout rows: ≤ 0.5x seed_local (0.4: PASS, 20% headroom); seed_gcp is reported only."""
        verdicts = {target.text: target.verdict(RESULTS) for target in ISSUE_27}
        assert verdicts["Cloud Run stdout as shipped: total CPU ≤ 0.5× `seed_local`"][1] == "PASS (20% headroom)"
        gcp = verdicts["Cloud Run stdout as shipped: total CPU against the original's Google Cloud path (`seed_gcp`)"]
        assert gcp == ("0.11× (0.11–0.13)", "reported")  # 0.1, 0.15, 0.1125: quartiles halfway to the ends

    def test_a_target_whose_rows_are_missing_says_so(self) -> None:
        """ours_otlp was not in this run: not measured, not a PASS."""
        verdicts = {target.text: target.verdict(RESULTS) for target in ISSUE_27}
        assert verdicts["OTLP, three signals: total CPU ≤ 0.4× `seed_local`"] == ("not measured in this run", "—")


class TestThroughput:
    def test_runs_are_paired_in_the_order_run(self) -> None:
        """Ours 80, 90, 50 against the floor's 100, 100, 50: ratios 0.8, 0.9, 1.0, median 0.9."""
        results = Results({}, threads={"ours_otlp": _run([80.0, 90.0, 50.0]), "floor_otlp": _run([100.0, 100.0, 50.0])})
        measured = rate_versus("ours_otlp", "floor_otlp")(results)
        assert measured.value == pytest.approx(0.9)
        assert "runs 0.80–1.00" in measured.shown and "books exact in every run" in measured.shown

    def test_books_not_exact_fail_the_target_whatever_the_rate(self) -> None:
        """Faster than the floor but with a record unaccounted for: a MISS."""
        results = Results({}, threads={"ours_otlp": _run([200.0], exact=False), "floor_otlp": _run([100.0])})
        target = Target("27", "", rate_versus("ours_otlp", "floor_otlp"), 0.8, at_least=True)
        shown, verdict = target.verdict(results)
        assert verdict.startswith("MISS") and "books NOT exact" in shown


class TestDocsTable:
    def test_the_table_shows_the_rows_of_the_run_against_the_original(self) -> None:
        """docs/performance.md's table: one line per measured row, ratios to seed_local per round."""
        lines = docs_table(RESULTS).splitlines()
        assert len(lines) == 2 + 2  # heading, rule, ours_stdout_metrics, floor_deque
        assert lines[2].startswith("| **Cloud Run stdout as shipped**") and "| 0.40× (0.35–0.65) |" in lines[2]
        assert "| — |" in lines[2]  # no instructions counted in this run

    def test_the_throughput_table_has_a_line_per_mode_and_floor(self) -> None:
        """Local, stdout and OTLP against their floors; a pair not run shows its reading as not measured."""
        lines = docs_throughput(RESULTS).splitlines()
        assert len(lines) == 2 + 3 and all("not measured" in line for line in lines[2:])
