"""A real gRPC server speaking google.logging.v2.LoggingServiceV2.WriteLogEntries on loopback.

Tests point the real google-cloud-logging GAPIC client (and the OpenTelemetry
CloudLoggingExporter built on it) at this server instead of mocking the client, so the whole
path - proto-plus conversion, protobuf serialisation, gRPC framing, the client's default retry
policy - runs for real. Only WriteLogEntries is implemented; any other method of the service
gets UNIMPLEMENTED, as from a server that does not offer it.

Messages are the ones google-cloud-logging ships (`WriteLogEntriesRequest.pb()`), so what is
recorded is exactly what Cloud Logging would have received.

Partial failures are answered as the real API answers them (`reject_entries`): with
`partial_success=True` the entries not rejected are stored, and the call fails with a
`google.rpc.Status` in the `grpc-status-details-bin` trailer whose details hold a
`google.logging.v2.WriteLogEntriesPartialErrors` packed in `google.protobuf.Any` (entry index ->
`google.rpc.Status`). Without `partial_success` nothing of the request is stored.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import grpc
from google.cloud.logging_v2.types import (
    WriteLogEntriesPartialErrors,
    WriteLogEntriesRequest,
    WriteLogEntriesResponse,
)
from google.protobuf import any_pb2
from google.protobuf.json_format import MessageToDict
from google.rpc import status_pb2
from grpc_status import rpc_status

from ._grpc_base import LoopbackGrpcServer

SERVICE = "google.logging.v2.LoggingServiceV2"
WRITE_METHOD = "WriteLogEntries"

_RequestPb: Any = WriteLogEntriesRequest.pb()
_ResponsePb: Any = WriteLogEntriesResponse.pb()
_PartialErrorsPb: Any = WriteLogEntriesPartialErrors.pb()


@dataclass
class EntryRejection:
    """Entries `select` picks are refused, each with `entry_code`, the call with `code`.

    `calls` is how many more calls the rule applies to (None: all of them), so a test can make a
    rejection transient (a retry of the rejected entries then succeeds).
    """

    select: Callable[[Any], bool]
    code: grpc.StatusCode
    entry_code: grpc.StatusCode
    calls: int | None

    def status(self, rejected: list[int]) -> grpc.Status:
        """The call's status as the real API sends it: partial errors packed in an `Any`."""
        errors = _PartialErrorsPb()
        for index in rejected:
            errors.log_entry_errors[index].CopyFrom(
                status_pb2.Status(code=self.entry_code.value[0], message=f"entry {index} rejected"))
        detail = any_pb2.Any()
        detail.Pack(errors)
        message = f"{len(rejected)} log entries were rejected"
        return rpc_status.to_status(status_pb2.Status(code=self.code.value[0], message=message,
                                                      details=[detail]))


class CloudLoggingServer(LoopbackGrpcServer):
    """Records every accepted WriteLogEntries request; see LoopbackGrpcServer for faults."""

    def __init__(self, *, max_workers: int = 8) -> None:
        super().__init__(max_workers=max_workers)
        self.requests: list[Any] = []
        self.request_metadata: list[dict[str, str]] = []
        self.rejected_entries = 0
        self.in_server = 0  # calls being handled right now
        self.peak_in_server = 0  # the most calls ever handled at once
        self._rejection: EntryRejection | None = None

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
        return [entry for request in self.entries_by_request() for entry in request]

    def entries_by_request(self) -> list[list[dict[str, Any]]]:
        """``entries()`` grouped by the request that carried them, in the order requests arrived."""
        with self._changed:
            requests = list(self.requests)
        return [_request_entries(request) for request in requests]

    def reject_entries(
        self,
        select: Callable[[Any], bool],
        *,
        code: grpc.StatusCode = grpc.StatusCode.INVALID_ARGUMENT,
        entry_code: grpc.StatusCode = grpc.StatusCode.INVALID_ARGUMENT,
        calls: int | None = None,
    ) -> None:
        """Refuse the entries (LogEntry protobufs) `select` picks, as the real API does; see the module doc."""
        with self._changed:
            self._rejection = EntryRejection(select, code, entry_code, calls)

    def entry_count(self) -> int:
        """How many entries are stored."""
        with self._changed:
            return sum(len(r.entries) for r in self.requests)

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
        self.rejected_entries = 0
        self.peak_in_server = 0
        self._rejection = None

    def _write_log_entries(self, request: Any, context: grpc.ServicerContext) -> Any:
        answer: list[grpc.Status] = []

        def record() -> None:
            stored, status = self._apply_rejection(request)
            if stored is not None:
                self.requests.append(stored)
                self.request_metadata.append(self._metadata(context))
            if status is not None:
                answer.append(status)

        with self._changed:
            self.in_server += 1
            self.peak_in_server = max(self.peak_in_server, self.in_server)
            self._changed.notify_all()
        try:
            self._handle(request, context, record)
        finally:
            with self._changed:
                self.in_server -= 1
        if answer:
            context.abort_with_status(answer[0])
        return _ResponsePb()

    def _apply_rejection(self, request: Any) -> tuple[Any | None, grpc.Status | None]:
        """(what to store, the failure to answer with), under the lock."""
        rule = self._rejection
        if rule is None:
            return request, None
        rejected = [i for i, entry in enumerate(request.entries) if rule.select(entry)]
        if not rejected:
            return request, None
        if rule.calls is not None:
            rule.calls -= 1
            if rule.calls <= 0:
                self._rejection = None
        self.rejected_entries += len(rejected)
        if not request.partial_success:
            return None, rule.status(rejected)
        stored = _RequestPb()
        stored.CopyFrom(request)
        del stored.entries[:]
        refused = set(rejected)
        stored.entries.extend(e for i, e in enumerate(request.entries) if i not in refused)
        return (stored if stored.entries else None), rule.status(rejected)


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
