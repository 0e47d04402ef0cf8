"""Bounded concurrent Cloud Logging requests, against the loopback server answering slowly.

One request at a time made the API's latency the ceiling (512 events per call). With
``export_concurrency`` requests in flight the worker keeps draining; the server counts how many
calls it handles at once, so these tests assert on counts, never on timings.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable

import pytest

import gyrinx_tracker
from gyrinx_tracker import Snapshot
from tests.servers.cloud_logging import CloudLoggingServer

pytest_plugins = ("tests.servers.fixtures",)

BATCH = 512
SLOW = 1.0  # seconds per call: long enough that requests overlap whenever the bound allows it


@pytest.fixture(autouse=True)
def _logs_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only the log side is under test; metrics on Google Cloud need credentials absent here."""
    monkeypatch.setenv("GYRINX_TRACKER_GCP_METRICS", "false")


def _configure(server: CloudLoggingServer, bound: int, **options: object) -> None:
    gyrinx_tracker.configure(exporter="gcp", gcp_transport="api", project_id="proj",
                             cloud_logging_endpoint=server.endpoint, global_providers="never",
                             export_concurrency=bound, batch_size=BATCH, export_timeout=30,
                             **options)  # type: ignore[arg-type]


def _track(count: int) -> None:
    for seq in range(count):
        gyrinx_tracker.track("concurrency_probe", seq=seq)


def _stored(server: CloudLoggingServer) -> Counter[int]:
    return Counter(int(e["jsonPayload"]["labels"]["seq"]) for e in server.entries())


def _in_server(server: CloudLoggingServer, calls: int) -> bool:
    return server._wait_until(lambda: server.in_server >= calls, 20)


class TestBound:
    @pytest.mark.parametrize("bound", [1, 4])
    def test_the_server_sees_exactly_the_bound_of_requests_at_once(
            self, cloud_logging_server: CloudLoggingServer, bound: int) -> None:
        """With more batches than the bound, the server handles exactly ``bound`` requests at once, never more."""
        cloud_logging_server.set_delay(SLOW)
        _configure(cloud_logging_server, bound)
        _track(BATCH * (bound + 3))
        assert gyrinx_tracker.flush(60)
        assert cloud_logging_server.peak_in_server == bound
        assert _stored(cloud_logging_server) == Counter(range(BATCH * (bound + 3)))
        assert gyrinx_tracker.stats()["exported"] == cloud_logging_server.entry_count()

    def test_four_in_flight_carry_four_times_the_events_of_one(
            self, cloud_logging_server: CloudLoggingServer) -> None:
        """While the server holds four slow calls, four batches are in flight and the queue keeps draining."""
        cloud_logging_server.set_delay(30)  # answered when the server stops, or cancelled at shutdown
        _configure(cloud_logging_server, 4, shutdown_timeout=1)
        _track(BATCH * 6)
        assert _in_server(cloud_logging_server, 4)
        # four requests in the server, the worker holding the fifth batch at the bound: the sixth waits
        assert _books_reach(lambda stats: stats["queued"] == BATCH)
        stats = gyrinx_tracker.stats()
        assert stats["exported"] == 0
        assert stats["in_flight"] == BATCH * 5
        assert cloud_logging_server.in_server == 4


class TestBooks:
    def test_flush_waits_for_the_requests_in_flight(self, cloud_logging_server: CloudLoggingServer) -> None:
        """flush() returns True only once the server answered every request: then exported is its own count."""
        cloud_logging_server.set_delay(SLOW)
        _configure(cloud_logging_server, 4)
        _track(BATCH * 4)
        assert gyrinx_tracker.flush(60)
        stats = gyrinx_tracker.stats()
        assert stats["in_flight"] == 0
        assert stats["exported"] == cloud_logging_server.entry_count() == BATCH * 4

    def test_flush_times_out_while_requests_are_unanswered(self, cloud_logging_server: CloudLoggingServer) -> None:
        """A flush shorter than the server's answer returns False and the events stay in flight, not exported."""
        cloud_logging_server.set_delay(30)
        _configure(cloud_logging_server, 4, shutdown_timeout=1)
        _track(BATCH)
        assert not gyrinx_tracker.flush(1)
        stats = gyrinx_tracker.stats()
        assert stats["in_flight"] == BATCH
        assert stats["exported"] == 0

    def test_shutdown_counts_unanswered_requests_as_failed(self, cloud_logging_server: CloudLoggingServer) -> None:
        """After shutdown the unanswered requests are cancelled and counted as failed: nothing stays in flight."""
        cloud_logging_server.set_delay(30)
        _configure(cloud_logging_server, 4, shutdown_timeout=1)
        _track(BATCH * 2)
        assert _in_server(cloud_logging_server, 2)
        gyrinx_tracker.shutdown(1)
        # At the deadline they count as shutdown_timeout; once the cancelled calls come back, as failed.
        assert _books_reach(lambda stats: stats["dropped_by_reason"] == {"export_failed": BATCH * 2}), \
            "cancelled requests were never counted as failed"
        stats = gyrinx_tracker.stats()
        assert stats["in_flight"] == 0
        assert stats["exported"] == cloud_logging_server.entry_count() == 0


def _books_reach(condition: Callable[[Snapshot], bool]) -> bool:
    """Whether ``stats()`` meets ``condition`` within a generous bound (not a timing assertion).

    The worker takes batches and the senders settle them on their own threads; after shutdown()
    returns, the worker closes the output, whose senders count the cancelled requests.
    """
    deadline = time.monotonic() + 15
    while not condition(gyrinx_tracker.stats()):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


class TestSyncDelivery:
    def test_sync_delivery_stores_the_entry_before_track_returns(
            self, cloud_logging_server: CloudLoggingServer) -> None:
        """delivery="sync" keeps its promise with the sender pool: the server has the entry when track() returns."""
        _configure(cloud_logging_server, 4, delivery="sync")
        gyrinx_tracker.track("concurrency_probe", seq=0)
        assert cloud_logging_server.entry_count() == 1
        stats = gyrinx_tracker.stats()
        assert stats["exported"] == 1
        assert stats["in_flight"] == 0
