"""A real OTLP/HTTP receiver on loopback: ``POST /v1/logs`` and ``/v1/metrics`` with protobuf bodies.

It parses what arrives with the generated request messages (gzip and deflate bodies undone as a
collector does), keeps the requests where ``OtlpReceiver``'s plain-data views read them (so the
HTTP tests assert on the same flattened records as the gRPC ones), and can answer the next
requests with a status (``fail_next``) to exercise retries.
"""

from __future__ import annotations

import gzip
import threading
import zlib
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
    ExportLogsServiceRequest,
    ExportLogsServiceResponse,
)
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
    ExportMetricsServiceResponse,
)

from .otlp import OtlpReceiver

_MESSAGES: dict[str, tuple[Any, Any, str]] = {
    "/v1/logs": (ExportLogsServiceRequest, ExportLogsServiceResponse, "log_requests"),
    "/v1/metrics": (ExportMetricsServiceRequest, ExportMetricsServiceResponse, "metric_requests"),
}


class OtlpHttpReceiver(OtlpReceiver):
    """OTLP over HTTP/protobuf; the views and waits are ``OtlpReceiver``'s."""

    def __init__(self) -> None:
        super().__init__()
        self._http: ThreadingHTTPServer | None = None
        self.statuses: deque[int] = deque()  # answers for the next requests, before any is recorded
        self.headers_seen: list[dict[str, str]] = []
        self.paths: list[str] = []

    @property
    def endpoint(self) -> str:
        """The base URL, as ``OTEL_EXPORTER_OTLP_ENDPOINT`` takes it."""
        assert self._http is not None
        return f"http://127.0.0.1:{self._http.server_address[1]}"

    def start(self) -> OtlpHttpReceiver:  # type: ignore[override]
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                receiver._post(self)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._http.daemon_threads = True
        threading.Thread(target=self._http.serve_forever, daemon=True).start()
        return self

    def stop(self, grace: float | None = None) -> None:
        if self._http is not None:
            self._http.shutdown()
            self._http.server_close()
            self._http = None

    def fail_next(self, *statuses: int) -> None:
        """Answer the next ``len(statuses)`` requests with these statuses (nothing recorded)."""
        self.statuses.extend(statuses)

    def _post(self, handler: BaseHTTPRequestHandler) -> None:
        body = handler.rfile.read(int(handler.headers.get("Content-Length", "0")))
        encoding = handler.headers.get("Content-Encoding", "")
        body = gzip.decompress(body) if encoding == "gzip" else zlib.decompress(body) if encoding == "deflate" else body
        with self._changed:
            self.attempts += 1
            self.paths.append(handler.path)
            self.headers_seen.append(dict(handler.headers.items()))
            status = self.statuses.popleft() if self.statuses else 200
        known = _MESSAGES.get(handler.path)
        if known is None or handler.headers.get("Content-Type") != "application/x-protobuf":
            status = 404 if known is None else 415
        if status != 200 or known is None:
            with self._changed:
                self.failures += 1
            handler.send_response(status)
            handler.send_header("Content-Length", "0")
            handler.end_headers()
            return
        request_type, response_type, sink = known
        request = request_type.FromString(body)
        with self._changed:
            getattr(self, sink).append(request)
            self._changed.notify_all()
        answer = response_type().SerializeToString()
        handler.send_response(200)
        handler.send_header("Content-Type", "application/x-protobuf")
        handler.send_header("Content-Length", str(len(answer)))
        handler.end_headers()
        handler.wfile.write(answer)
