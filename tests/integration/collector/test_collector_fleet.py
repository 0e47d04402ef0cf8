"""A two-tier fleet under faults, for real: app processes using the public API over OTLP -> the
front (front.yaml) -> two gateway replicas (gateway.yaml + the file overlay) -> files.

Each case runs a few seconds of load through benchmarks/fleet (the harness `make fleet` runs with
more load) and compares the apps' books with what the gateways' files hold: every record the books
call exported is in a file, what is missing is exactly what the books call dropped, and every
trace's records are in one gateway's file. Copies beyond the first (at-least-once delivery) are
allowed and reported by the harness, never counted as records.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from benchmarks.fleet.run import Scenario, run

pytestmark = [pytest.mark.collector, pytest.mark.slow]

# Three apps x 4,000 events take a few seconds on the shared two-core machine; a kill lands once
# records have reached the files and before the last ones do (asserted: never a vacuous case).
LOAD: dict[str, Any] = {"apps": 3, "events": 4_000, "fault_at": 0.5, "down_s": 1.5}


def assert_books_match_files(result: dict[str, Any]) -> None:
    """Unique records = exported, missing = dropped (+ still queued), no trace split, all drained."""
    books, files = result["books"], result["files"]
    assert result["drained"], result
    assert files["unique"] == books["exported"], result
    assert files["missing"] == sum(books["dropped"].values()) + books["pending"], result
    assert files["split_traces"] == 0 and files["traces"] > 0, result
    assert files["unreadable_lines"] == 0, result


def assert_killed_mid_stream(result: dict[str, Any]) -> None:
    """The kill happened after records had arrived and before the last did (not a vacuous case)."""
    assert result["killed_at_s"] is not None, result
    assert 0 < result["killed_written_bytes"] < result["final_written_bytes"], result


def test_without_faults_every_record_arrives_once_and_whole_traces_per_gateway(collector_binary: Path, tmp_path: Path) -> None:
    result = run(collector_binary, Scenario("plain", **LOAD), tmp_path)
    assert_books_match_files(result)
    assert result["books"]["exported"] == result["books"]["emitted"] == 12_000
    assert result["files"]["duplicates"] == 0
    # Both replicas took a share: the routing really spread the traces.
    assert len(result["files"]["per_gateway"]) == 2, result


def test_a_gateway_killed_and_restarted_loses_nothing_the_tier_acknowledged(collector_binary: Path, tmp_path: Path) -> None:
    result = run(collector_binary, Scenario("kill", fault="gateway-kill", **LOAD), tmp_path)
    assert_killed_mid_stream(result)
    assert_books_match_files(result)
    # Durable: the apps' books say everything was exported, and everything is in the files.
    assert result["files"]["unique"] == result["books"]["emitted"], result


def test_a_refusing_memory_limiter_is_retried_not_lost(collector_binary: Path, tmp_path: Path) -> None:
    result = run(collector_binary, Scenario("refusal", fault="refusal", **LOAD), tmp_path)
    assert_books_match_files(result)
    assert result["files"]["unique"] == result["books"]["emitted"], result
    refusing = (tmp_path / f"gw-{LOAD.get('gateways', 2) - 1}" / "collector.log").read_text()
    assert "Refusing data" in refusing  # the limiter did refuse: the case is not vacuous


def test_a_front_killed_and_restarted_sends_what_it_had_acknowledged(collector_binary: Path, tmp_path: Path) -> None:
    result = run(collector_binary, Scenario("front", fault="front-restart", **LOAD), tmp_path)
    assert_killed_mid_stream(result)
    assert_books_match_files(result)


def test_the_check_sees_records_a_replica_lost_after_acknowledging_them(collector_binary: Path, tmp_path: Path) -> None:
    # Guard against a harness that cannot fail: gateways that acknowledge every record and write
    # only about half of them (the sampling the gateway config offers, at 50 % for the run's own
    # event) must be seen as a loss, although every app's books say exported. (A kill of a
    # gateway whose file exporter buffers was the control before; on this machine its loss came
    # and went with timing, so the control now loses by construction.)
    dropping = {"GYRINX_SAMPLED_EVENTS": "fleet_page_view", "GYRINX_SAMPLING_PERCENT": "50"}
    scenario = Scenario("lossy", apps=2, events=2_000, per_trace=10, event="fleet_page_view", gateway_env=dropping)
    result = run(collector_binary, scenario, tmp_path)
    assert result["books"]["exported"] == result["books"]["emitted"] == 4_000, result
    assert 0 < result["files"]["unique"] < result["books"]["exported"], result
    assert not result["checks"]["unique_equals_exported"]
    assert not result["checks"]["missing_equals_dropped"]


def test_sampling_by_trace_is_consistent_across_gateway_replicas(collector_binary: Path, tmp_path: Path) -> None:
    # A high-volume event sampled at 50 % by two replicas: the front sends a whole trace to one
    # replica and the decision hashes the trace id, so each trace is kept whole or dropped whole.
    sampled = {"GYRINX_SAMPLED_EVENTS": "fleet_page_view", "GYRINX_SAMPLING_PERCENT": "50"}
    scenario = Scenario("sampled", apps=2, events=2_000, per_trace=10, event="fleet_page_view", gateway_env=sampled)
    result = run(collector_binary, scenario, tmp_path)
    files = result["files"]
    assert result["books"]["exported"] == result["books"]["emitted"] == 4_000, result
    assert files["records_per_trace"] == {10: files["traces"]}, result  # every kept trace whole
    assert files["split_traces"] == 0 and files["duplicates"] == 0, result
    # 400 traces at 50 %: outside [140, 260] kept has a chance below 1e-9.
    assert 140 <= files["traces"] <= 260, result
    assert len(files["per_gateway"]) == 2, result
