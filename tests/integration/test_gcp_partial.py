"""Partial Cloud Logging failures against the loopback server answering as the real API does.

With ``partial_success=True`` the API stores the valid entries and fails the call with the
rejected ones listed in a ``WriteLogEntriesPartialErrors`` packed in the status details. The
books must say exactly what the server stored, and a retry must resend only rejected entries.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import grpc
import pytest
from google.api_core import exceptions
from google.cloud.logging_v2.services.logging_service_v2 import LoggingServiceV2Client
from google.cloud.logging_v2.types import WriteLogEntriesPartialErrors, WriteLogEntriesRequest

import gyrinx_tracker
from tests.servers.cloud_logging import CloudLoggingServer

pytest_plugins = ("tests.servers.fixtures",)


@pytest.fixture(autouse=True)
def _logs_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only the log side is under test; metrics on Google Cloud need credentials absent here."""
    monkeypatch.setenv("GYRINX_TRACKER_GCP_METRICS", "false")


def _configure(server: CloudLoggingServer, **options: object) -> None:
    gyrinx_tracker.configure(exporter="gcp", gcp_transport="api", project_id="proj",
                             cloud_logging_endpoint=server.endpoint, global_providers="never",
                             **options)  # type: ignore[arg-type]


def _seq(entry: Any) -> int:
    """The unique label each test event carries, read from a stored or sent LogEntry."""
    return int(entry.json_payload["labels"]["seq"])


def _every_tenth(entry: Any) -> bool:
    return _seq(entry) % 10 == 3


def _stored_seqs(server: CloudLoggingServer) -> Counter[int]:
    return Counter(int(e["jsonPayload"]["labels"]["seq"]) for e in server.entries())


def _track(count: int) -> None:
    for seq in range(count):
        gyrinx_tracker.track("partial_probe", seq=seq)
    assert gyrinx_tracker.flush(20)


class TestLoopbackServer:
    def test_the_partial_errors_reach_the_client_packed_as_the_real_api_sends_them(
            self, cloud_logging_server: CloudLoggingServer, logging_client: LoggingServiceV2Client) -> None:
        """The real client gets INVALID_ARGUMENT whose details hold the packed per-entry errors; the rest is stored."""
        cloud_logging_server.reject_entries(lambda entry: _seq(entry) == 1)
        request = WriteLogEntriesRequest.pb()(log_name="projects/p/logs/t", partial_success=True)
        request.resource.type = "global"
        for seq in range(3):
            request.entries.add().json_payload.update({"labels": {"seq": seq}})
        with pytest.raises(exceptions.InvalidArgument) as raised:
            logging_client.write_log_entries(request=WriteLogEntriesRequest.wrap(request), retry=None)
        errors = WriteLogEntriesPartialErrors.pb()()
        (detail,) = raised.value.details
        assert detail.Unpack(errors)
        assert list(errors.log_entry_errors) == [1]
        assert errors.log_entry_errors[1].code == grpc.StatusCode.INVALID_ARGUMENT.value[0]
        assert sorted(_stored_seqs(cloud_logging_server)) == [0, 2]


class TestPartialFailures:
    def test_only_the_rejected_entries_are_counted_as_dropped(
            self, cloud_logging_server: CloudLoggingServer) -> None:
        """One invalid entry of ten: nine stored, and the books say exported 9, dropped 1."""
        cloud_logging_server.reject_entries(_every_tenth)
        _configure(cloud_logging_server)
        _track(10)
        stats = gyrinx_tracker.stats()
        assert cloud_logging_server.entry_count() == stats["exported"] == 9
        assert stats["dropped_by_reason"] == {"export_failed": 1}
        assert stats["emitted"] == stats["exported"] + stats["dropped"] == 10

    def test_at_scale_the_books_equal_what_the_server_stored(
            self, cloud_logging_server: CloudLoggingServer) -> None:
        """4,000 events with every tenth invalid, over many requests: exported is the server's own count."""
        cloud_logging_server.reject_entries(_every_tenth)
        _configure(cloud_logging_server)
        _track(4_000)
        stats = gyrinx_tracker.stats()
        stored = _stored_seqs(cloud_logging_server)
        assert stats["exported"] == cloud_logging_server.entry_count() == sum(stored.values()) == 3_600
        assert max(stored.values()) == 1
        assert stats["dropped_by_reason"] == {"export_failed": 400}
        assert cloud_logging_server.rejected_entries == 400

    def test_entries_rejected_with_a_retryable_status_are_retried_alone(
            self, cloud_logging_server: CloudLoggingServer) -> None:
        """Per-entry UNAVAILABLE once: only those entries are resent; every entry stored exactly once."""
        cloud_logging_server.reject_entries(_every_tenth, code=grpc.StatusCode.UNAVAILABLE,
                                            entry_code=grpc.StatusCode.UNAVAILABLE, calls=1)
        _configure(cloud_logging_server)
        _track(10)
        stats = gyrinx_tracker.stats()
        assert _stored_seqs(cloud_logging_server) == Counter(range(10))
        assert stats["exported"] == 10
        assert stats["dropped"] == 0
        assert [len(r.entries) for r in cloud_logging_server.requests] == [9, 1]

    def test_invalid_entries_under_a_retryable_call_status_are_not_resent(
            self, cloud_logging_server: CloudLoggingServer) -> None:
        """UNAVAILABLE with invalid entries listed: the stored entries are never written twice."""
        cloud_logging_server.reject_entries(_every_tenth, code=grpc.StatusCode.UNAVAILABLE)
        _configure(cloud_logging_server)
        _track(10)
        stats = gyrinx_tracker.stats()
        stored = _stored_seqs(cloud_logging_server)
        assert max(stored.values()) == 1
        assert stats["exported"] == cloud_logging_server.entry_count() == 9
        assert stats["dropped_by_reason"] == {"export_failed": 1}
