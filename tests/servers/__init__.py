"""Real loopback servers the test suite talks to instead of mocking clients.

* `CloudLoggingServer` - gRPC google.logging.v2.LoggingServiceV2/WriteLogEntries.
* `OtlpReceiver` - OTLP/gRPC logs, metrics and traces, like a collector.
* `MetadataServer` - a MOCK of Google's metadata server (the real one cannot run here).

All bind 127.0.0.1 on an OS-chosen port, work as context managers and join their threads on
stop(), so they are safe under `filterwarnings = error`.
"""

from .cloud_logging import CloudLoggingServer
from .metadata import MetadataServer
from .otlp import OtlpReceiver

__all__ = ["CloudLoggingServer", "MetadataServer", "OtlpReceiver"]
