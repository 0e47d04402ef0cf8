"""A real gRPC server speaking google.logging.v2.LoggingServiceV2.WriteLogEntries on loopback.

Tests point the real google-cloud-logging GAPIC client (and the OpenTelemetry
CloudLoggingExporter built on it) at this server instead of mocking the client, so the whole
path - proto-plus conversion, protobuf serialisation, gRPC framing, the client's default retry
policy - runs for real. Only WriteLogEntries is implemented; any other method of the service
gets UNIMPLEMENTED, as from a server that does not offer it.

Messages are the ones google-cloud-logging ships (`WriteLogEntriesRequest.pb()`), so what is
recorded is exactly what Cloud Logging would have received.
"""

from __future__ import annotations

from typing import Any

import grpc
from google.cloud.logging_v2.types import WriteLogEntriesRequest, WriteLogEntriesResponse
from google.protobuf.json_format import MessageToDict

from ._grpc_base import LoopbackGrpcServer

SERVICE = "google.logging.v2.LoggingServiceV2"
WRITE_METHOD = "WriteLogEntries"

_RequestPb: Any = WriteLogEntriesRequest.pb()
_ResponsePb: Any = WriteLogEntriesResponse.pb()


class CloudLoggingServer(LoopbackGrpcServer):
    """Records every accepted WriteLogEntries request; see LoopbackGrpcServer for faults."""

    def __init__(self, *, max_workers: int = 8) -> None:
        super().__init__(max_workers=max_workers)
        self.requests: list[Any] = []
        self.request_metadata: list[dict[str, str]] = []

    @property
    def endpoint(self) -> str:
        """"127.0.0.1:PORT", for grpc.insecure_channel() or client_options.api_endpoint."""
        return self.address

    def channel(self) -> grpc.Channel:
        """A fresh insecure channel to this server; the caller closes it."""
        return grpc.insecure_channel(self.endpoint)

    def entries(self) -> list[dict[str, Any]]:
        """Every recorded LogEntry in Cloud Logging's JSON form, request defaults applied.

        Like the real service, a request's log_name, resource and labels fill in entries that
        lack them (entry labels win), so tests see what would be stored. Fields at their proto
        default (severity DEFAULT, traceSampled false, empty strings) are omitted, as in the
        REST API's responses.
        """
        with self._changed:
            requests = list(self.requests)
        return [entry for request in requests for entry in _request_entries(request)]

    def wait_for(self, count: int, timeout: float = 5.0) -> bool:
        """Wait until at least `count` log entries are recorded; False on timeout."""
        return self._wait_until(lambda: sum(len(r.entries) for r in self.requests) >= count, timeout)

    def wait_for_requests(self, count: int, timeout: float = 5.0) -> bool:
        """Wait until at least `count` requests are recorded; False on timeout."""
        return self._wait_until(lambda: len(self.requests) >= count, timeout)

    def _add_services(self, server: grpc.Server) -> None:
        handler = grpc.unary_unary_rpc_method_handler(
            self._write_log_entries,
            request_deserializer=_RequestPb.FromString,
            response_serializer=_ResponsePb.SerializeToString,
        )
        service = grpc.method_handlers_generic_handler(SERVICE, {WRITE_METHOD: handler})
        server.add_generic_rpc_handlers((service,))

    def _clear_records(self) -> None:
        self.requests.clear()
        self.request_metadata.clear()

    def _write_log_entries(self, request: Any, context: grpc.ServicerContext) -> Any:
        def record() -> None:
            self.requests.append(request)
            self.request_metadata.append(self._metadata(context))

        self._handle(request, context, record)
        return _ResponsePb()


def _request_entries(request: Any) -> list[dict[str, Any]]:
    """One request's entries as JSON dicts with the request-level defaults merged in."""
    defaults = MessageToDict(request, preserving_proto_field_name=False)
    out = []
    for entry in request.entries:
        item = MessageToDict(entry, preserving_proto_field_name=False)
        for key in ("logName", "resource"):
            if key in defaults and key not in item:
                item[key] = defaults[key]
        if "labels" in defaults:
            item["labels"] = {**defaults["labels"], **item.get("labels", {})}
        out.append(item)
    return out
