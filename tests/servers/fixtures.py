"""Pytest fixtures for the loopback servers, so each test file need not rebuild them.

Enable them with `pytest_plugins = ("tests.servers.fixtures",)` in the top-level conftest.py
or in a test module. Every fixture is function-scoped: a fresh server (fresh records and
faults) per test, stopped afterwards.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from google.cloud.logging_v2.services.logging_service_v2 import LoggingServiceV2Client
from google.cloud.logging_v2.services.logging_service_v2.transports.grpc import LoggingServiceV2GrpcTransport

from .cloud_logging import CloudLoggingServer
from .metadata import MetadataServer
from .otlp import OtlpReceiver


@pytest.fixture
def cloud_logging_server() -> Iterator[CloudLoggingServer]:
    """A running Cloud Logging server."""
    with CloudLoggingServer() as server:
        yield server


@pytest.fixture
def logging_client(cloud_logging_server: CloudLoggingServer) -> Iterator[LoggingServiceV2Client]:
    """The real GAPIC client on an insecure channel to `cloud_logging_server`; no credentials."""
    channel = cloud_logging_server.channel()
    yield LoggingServiceV2Client(transport=LoggingServiceV2GrpcTransport(channel=channel))
    channel.close()


@pytest.fixture
def otlp_receiver() -> Iterator[OtlpReceiver]:
    """A running OTLP receiver; pass `.endpoint` to the exporters with insecure=True."""
    with OtlpReceiver() as receiver:
        yield receiver


@pytest.fixture
def metadata_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[MetadataServer]:
    """The metadata MOCK, with GCE_METADATA_HOST / GCE_METADATA_IP pointing at it."""
    with MetadataServer() as server:
        for name, value in server.env().items():
            monkeypatch.setenv(name, value)
        yield server
