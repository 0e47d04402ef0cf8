"""``track()`` from a signal handler at every stage of start-up: no deadlock, no import error,
and every call accounted for, counted against the loopback OTLP receiver's own records.

The child (``tests/processes/reentrant_child.py``) runs an interval timer whose handler calls
``track()`` while the main thread's first ``track()`` imports and builds the pipeline. The
intervals differ so the handler lands at different points of start-up. A hang is caught by the
subprocess timeout.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from tests.faults import ROOT, balanced
from tests.servers.otlp import OtlpReceiver

pytest_plugins = ("tests.servers.fixtures",)

CHILD = Path(__file__).parents[1] / "processes" / "reentrant_child.py"
EVENTS = 3_000


def _run(tmp: Path, endpoint: str, interval_us: int) -> dict[str, object]:
    books = tmp / f"books-{interval_us}.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GYRINX_TRACKER_", "OTEL_"))}
    env.update(PYTHONPATH=str(ROOT), GYRINX_TRACKER_EXPORTER="otlp", OTEL_EXPORTER_OTLP_ENDPOINT=endpoint,
               GYRINX_TRACKER_GLOBAL_PROVIDERS="never", GYRINX_TRACKER_METRIC_INTERVAL="60")
    done = subprocess.run([sys.executable, str(CHILD), str(books), str(EVENTS), str(interval_us)],
                          env=env, capture_output=True, text=True, timeout=30, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "ImportError" not in done.stderr and "partially initialized" not in done.stderr, done.stderr[-3000:]
    report: dict[str, object] = json.loads(books.read_text())
    return report


class TestSignalHandlerDuringStartUp:
    @pytest.mark.parametrize("interval_us", [50, 200, 1_000])
    def test_a_handler_that_tracks_never_deadlocks_and_every_call_is_counted(
            self, tmp_path: Path, otlp_receiver: OtlpReceiver, interval_us: int) -> None:
        """Each call of the handler is exported or dropped under a reason; the receiver agrees."""
        report = _run(tmp_path, otlp_receiver.endpoint, interval_us)
        stats = report["stats"]
        assert isinstance(stats, dict)
        signal_calls = report["signal_calls"]
        assert isinstance(signal_calls, int) and signal_calls > 0
        assert stats["emitted"] == EVENTS + signal_calls
        assert balanced(stats)
        assert stats["queued"] == stats["in_flight"] == 0
        assert not stats["internal_errors"]
        assert set(stats["dropped_by_reason"]) <= {"reentrant"}
        received = Counter(record["event_name"] or record["body"]["event"] for record in otlp_receiver.log_records())
        assert sum(received.values()) == stats["exported"]
        assert received["main"] == EVENTS


RACE = """
import json, sys, threading
import gyrinx_tracker
start = threading.Barrier(8)
def work(n):
    start.wait()
    for i in range(250):
        gyrinx_tracker.track("race", seq=n * 250 + i)
threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
[t.start() for t in threads]
[t.join() for t in threads]
gyrinx_tracker.flush(30)
print(json.dumps(gyrinx_tracker.stats()))
"""


class TestFirstCallsRace:
    def test_threads_racing_to_build_the_pipeline_keep_the_one_built(self, otlp_receiver: OtlpReceiver) -> None:
        """Eight threads' first track() at once: one pipeline, none closed under the others, all 2,000 arrive."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("GYRINX_TRACKER_", "OTEL_"))}
        env.update(PYTHONPATH=str(ROOT), GYRINX_TRACKER_EXPORTER="otlp", GYRINX_TRACKER_GLOBAL_PROVIDERS="never",
                   OTEL_EXPORTER_OTLP_ENDPOINT=otlp_receiver.endpoint, GYRINX_TRACKER_METRIC_INTERVAL="600")
        done = subprocess.run([sys.executable, "-c", RACE], env=env, capture_output=True, text=True,
                              timeout=30, cwd=ROOT)
        assert done.returncode == 0, done.stderr[-2000:]
        stats = json.loads(done.stdout.strip().splitlines()[-1])
        assert stats["dropped_by_reason"] == {} and stats["exported"] == 2_000
        assert len(otlp_receiver.log_records()) == 2_000
