"""The books balance against the loopback Cloud Logging server refusing some writes: exported is
what the server stored (the in-process accounting is tests/unit/test_accounting.py)."""

from __future__ import annotations

import grpc

import gyrinx_tracker
from tests.helpers.accounting import BATCH, SMALL_QUEUE, hammer, settled, then_separate_batches
from tests.servers.cloud_logging import CloudLoggingServer

pytest_plugins = ("tests.servers.fixtures",)


class TestCloudLoggingApi:
    def test_refused_writes_are_counted_and_the_rest_arrive(
            self, cloud_logging_server: CloudLoggingServer) -> None:
        """Against the loopback server refusing some writes, exported equals the entries the server stored."""
        cloud_logging_server.fail_next(3, grpc.StatusCode.PERMISSION_DENIED)
        gyrinx_tracker.configure(exporter="gcp", gcp_transport="api", project_id="proj",
                                 cloud_logging_endpoint=cloud_logging_server.endpoint,
                                 global_providers="never", handle_sigterm=False,
                                 max_queue=SMALL_QUEUE * 4, batch_size=BATCH * 4)
        calls = hammer(calls_per_thread=250) + then_separate_batches()
        stats = settled()
        assert stats["emitted"] == calls == stats["exported"] + stats["dropped"]
        assert stats["exported"] == len(cloud_logging_server.entries())
        assert cloud_logging_server.failures == 3
        assert stats["dropped_by_reason"].get("export_failed", 0) > 0
