"""Honest books when a call times out at the client but the receiver stored it.

The loopback receivers (OTLP, Cloud Logging) record each call at once and answer it late, past the
export timeout: the client cannot know whether its events arrived. They must be booked
``export_unknown``, never ``export_failed`` (which says they did not arrive) nor ``exported``; the
receiver's own count then lies between ``exported`` and ``exported + export_unknown``.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from tests.faults import CLOUD_RUN_GRACE, ChildRun, balanced, run_child
from tests.servers.cloud_logging import CloudLoggingServer
from tests.servers.otlp import OtlpReceiver

pytest_plugins = ("tests.servers.fixtures",)

EVENTS = 1_000
TIMEOUTS = {"GYRINX_TRACKER_EXPORT_TIMEOUT": "1", "GYRINX_TRACKER_SHUTDOWN_TIMEOUT": "4"}


def _assert_unknown(run: ChildRun, stored: Counter[int]) -> None:
    stats: dict[str, Any] = run.stats
    assert run.returncode == 0, run.stderr[-2000:]
    assert stats["emitted"] == EVENTS and balanced(stats)
    assert stats["queued"] == stats["in_flight"] == 0
    assert not stats["internal_errors"]
    assert not stored or max(stored.values()) == 1
    assert sum(stored.values()) == EVENTS  # the receiver has every event ...
    assert stats["exported"] == 0  # ... the client heard of none ...
    assert stats["dropped_by_reason"] == {"export_unknown": EVENTS}  # ... and says it does not know
    assert run.exit_seconds < CLOUD_RUN_GRACE


class TestStoredButAnsweredLate:
    def test_otlp_books_a_timed_out_call_as_unknown(self, tmp_path: Path, otlp_receiver: OtlpReceiver) -> None:
        """OTLP: each request is stored, then answered after the client's deadline: export_unknown."""
        otlp_receiver.set_answer_delay(3)
        env = {"GYRINX_TRACKER_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_ENDPOINT": otlp_receiver.endpoint,
               "GYRINX_TRACKER_METRIC_INTERVAL": "60", **TIMEOUTS}
        run = run_child(tmp_path, env, events=EVENTS)
        _assert_unknown(run, Counter(int(r["body"]["labels"]["seq"]) for r in otlp_receiver.log_records()))

    def test_cloud_logging_books_a_timed_out_call_as_unknown(
            self, tmp_path: Path, cloud_logging_server: CloudLoggingServer) -> None:
        """The Cloud Logging API: each request is stored, then answered after the deadline: export_unknown."""
        cloud_logging_server.set_answer_delay(3)
        env = {"GYRINX_TRACKER_EXPORTER": "gcp", "GYRINX_TRACKER_GCP_TRANSPORT": "api",
               "GOOGLE_CLOUD_PROJECT": "proj", "GYRINX_TRACKER_GCP_METRICS": "false",
               "GYRINX_TRACKER_CLOUD_LOGGING_ENDPOINT": cloud_logging_server.endpoint, **TIMEOUTS}
        run = run_child(tmp_path, env, events=EVENTS)
        _assert_unknown(run, Counter(int(e["jsonPayload"]["labels"]["seq"]) for e in cloud_logging_server.entries()))
