"""OTLP exports run concurrently (bounded by ``EXPORT_CONCURRENCY``), so one slow or retrying
request does not stop the queue from draining; books exact, counted at the loopback receiver.

Real child processes (``tests/processes/fault_child.py``) against the real ``OtlpReceiver``; the
receiver counts how many calls it handled at once (not a timing: a count).
"""

from __future__ import annotations

import threading
from collections import Counter
from pathlib import Path

from tests.faults import ChildRun, assert_books, run_child
from tests.servers.otlp import OtlpReceiver

pytest_plugins = ("tests.servers.fixtures",)


def _env(endpoint: str, **extra: str) -> dict[str, str]:
    """Default settings but the endpoint (and no metric exports, which the receiver would count)."""
    return {"GYRINX_TRACKER_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint,
            "GYRINX_TRACKER_METRIC_INTERVAL": "600", **extra}


def _received(receiver: OtlpReceiver) -> Counter[int]:
    return Counter(int(record["body"]["labels"]["seq"]) for record in receiver.log_records())


class TestConcurrentRequests:
    def test_a_slow_receiver_gets_several_requests_at_once(self, tmp_path: Path, otlp_receiver: OtlpReceiver) -> None:
        """A receiver taking 1 s per call: up to EXPORT_CONCURRENCY (4) calls in flight, never more; exact books."""
        otlp_receiver.set_delay(1)
        run = run_child(tmp_path, _env(otlp_receiver.endpoint), events=8 * 512)
        assert_books(run, 8 * 512, _received(otlp_receiver))
        assert run.stats["exported"] == 8 * 512
        assert otlp_receiver.most_at_once == 4

    def test_concurrency_1_sends_one_at_a_time(self, tmp_path: Path, otlp_receiver: OtlpReceiver) -> None:
        """EXPORT_CONCURRENCY=1 keeps the one-request-at-a-time order of before."""
        otlp_receiver.set_delay(0.2)
        run = run_child(tmp_path, _env(otlp_receiver.endpoint, GYRINX_TRACKER_EXPORT_CONCURRENCY="1"), events=4 * 512)
        assert_books(run, 4 * 512, _received(otlp_receiver))
        assert otlp_receiver.most_at_once == 1


class TestOutage:
    def test_a_2_s_receiver_outage_at_10k_events_per_s_loses_nothing(
            self, tmp_path: Path, otlp_receiver: OtlpReceiver) -> None:
        """The receiver stops for 2 s and restarts on its port, with 10k events/s tracked: nothing dropped."""
        events = 40_000
        runs: list[ChildRun] = []
        child = threading.Thread(target=lambda: runs.append(run_child(
            tmp_path, _env(otlp_receiver.endpoint), events=events, rounds=40, pause=0.1)))
        child.start()
        try:
            assert otlp_receiver.wait_for_logs(3_000, timeout=60)
            otlp_receiver.stop()
            threading.Event().wait(2.0)
            otlp_receiver.start()
        finally:
            child.join(180)
        (run,) = runs
        assert_books(run, events, _received(otlp_receiver))
        assert run.stats["dropped_by_reason"] == {}
        assert run.stats["exported"] == events
