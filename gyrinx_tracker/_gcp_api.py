"""The Cloud Logging API output: ``opentelemetry-exporter-gcp-logging`` with a faster, honest export.

We subclass the upstream ``CloudLoggingExporter`` (our users asked for it, and it owns the client
and the severity mapping) and replace two things:

* the per-record conversion, which builds proto-plus objects, copies every attribute into entry
  labels and measured about 170 µs a record here. We build raw protobuf entries in place inside
  the request, put the log name and the monitored resource once on the request (entries inherit
  them, which is how the API is meant to be used) and keep only the payload;
* its error handling, which logs and reports success: a failed write here returns FAILURE (or
  the count of rejected entries), so the pipeline counts every lost event.

The monitored resource is ours too: the upstream mapping reports ``generic_task`` on Cloud Run,
where Cloud Logging's own resource is ``cloud_run_revision`` (or ``cloud_run_job``).

Importing this module defines a subclass of a class marked ``@deprecated``; the builder imports
and instantiates it with that warning silenced, so it never reaches the application.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import grpc
from google.api_core import exceptions, retry
from google.cloud.logging_v2.services.logging_service_v2 import LoggingServiceV2Client
from google.cloud.logging_v2.services.logging_service_v2.transports.grpc import (
    LoggingServiceV2GrpcTransport,
)
from google.cloud.logging_v2.types import LogEntry, WriteLogEntriesRequest
from google.logging.type.log_severity_pb2 import INFO as CLOUD_INFO
from opentelemetry.exporter.cloud_logging import (
    DEFAULT_MAX_ENTRY_SIZE,
    DEFAULT_MAX_REQUEST_SIZE,
    CloudLoggingExporter,
)

from gyrinx_tracker._diagnostics import warn_once
from gyrinx_tracker._format import encode_json, span_hex, trace_hex
from gyrinx_tracker._gcp_env import GcpEnvironment
from gyrinx_tracker._otel_logs import LogRecordExportResult, Record
from gyrinx_tracker._sanitize import ENTRY_LIMIT, fit

_ENTRY = LogEntry.pb()
_REQUEST = WriteLogEntriesRequest.pb()
MAX_ENTRIES_PER_REQUEST = 1_000
_TRANSIENT = retry.if_exception_type(
    exceptions.ServiceUnavailable, exceptions.DeadlineExceeded, exceptions.InternalServerError,
    exceptions.TooManyRequests)


def make_client(endpoint: str | None) -> LoggingServiceV2Client:
    """The real client; with ``endpoint`` it talks plain gRPC to an emulator, anonymously."""
    if endpoint:
        channel = grpc.insecure_channel(endpoint)
        return LoggingServiceV2Client(transport=LoggingServiceV2GrpcTransport(channel=channel))
    return LoggingServiceV2Client()


class TrackerCloudLoggingExporter(CloudLoggingExporter):
    """Writes batches to one log with one monitored resource; failures are reported, not hidden."""

    reads_attributes = False  # the body carries everything this output writes

    def __init__(self, environment: GcpEnvironment, log_name: str, client: LoggingServiceV2Client,
                 timeout: float) -> None:
        project = environment.project_id or ""
        super().__init__(project_id=project, default_log_name=log_name, client=client)
        self._client = client
        self._log_name = f"projects/{project}/logs/{self.pick_log_id(log_name, None)}"
        self._trace_prefix = f"projects/{project}/traces/"
        self._resource = (environment.resource_type, environment.resource_labels)
        self._timeout = timeout
        self._retry = retry.Retry(predicate=_TRANSIENT, initial=0.1, maximum=1.0, multiplier=2.0,
                                  timeout=timeout)
        self.rejected = 0

    def export(self, batch: Sequence[Record]) -> LogRecordExportResult:
        """Write ``batch``; FAILURE if any entry was not accepted (``rejected`` says how many)."""
        self.rejected = 0
        request, size = self._new_request(), 0
        for record in batch:
            entry = request.entries.add()
            entry_size = self._fill(entry, record)
            if entry_size > DEFAULT_MAX_ENTRY_SIZE:
                del request.entries[-1]
                self.rejected += 1
                continue
            size += entry_size
            if size > DEFAULT_MAX_REQUEST_SIZE or len(request.entries) > MAX_ENTRIES_PER_REQUEST:
                spill = request.entries.pop()
                self._send(request)
                request, size = self._new_request(), entry_size
                request.entries.append(spill)
        if request.entries:
            self._send(request)
        return LogRecordExportResult.FAILURE if self.rejected else LogRecordExportResult.SUCCESS

    def _new_request(self) -> Any:
        request = _REQUEST(log_name=self._log_name, partial_success=True)
        request.resource.type = self._resource[0]
        request.resource.labels.update(self._resource[1])
        return request

    def _fill(self, entry: Any, record: Record) -> int:
        """Write ``record`` into ``entry``; return the entry's size in bytes."""
        log = record.log_record
        timestamp = log.timestamp or log.observed_timestamp
        entry.timestamp.seconds, entry.timestamp.nanos = divmod(timestamp, 1_000_000_000)
        entry.severity = CLOUD_INFO
        if log.trace_id:
            entry.trace = self._trace_prefix + trace_hex(log.trace_id)
            entry.span_id = span_hex(log.span_id or 0)
            entry.trace_sampled = bool(log.trace_flags and log.trace_flags.sampled)
        body: dict[str, Any] = log.body  # type: ignore[assignment]
        entry.json_payload.update(body)
        size: int = entry.ByteSize()
        if size > ENTRY_LIMIT:
            entry.json_payload.Clear()
            entry.json_payload.update(_fitted(body))
            size = entry.ByteSize()
        return size

    def _send(self, request: Any) -> None:
        count = len(request.entries)
        try:
            self._client.write_log_entries(request=WriteLogEntriesRequest.wrap(request),
                                           retry=self._retry, timeout=self._timeout)
        except exceptions.InvalidArgument as error:
            self.rejected += _partial_failures(error, count)
        except exceptions.GoogleAPIError as error:
            self.rejected += count
            warn_once(f"cloud_logging:{type(error).__name__}",
                      "gyrinx_tracker could not write %d entries to Cloud Logging: %s", count, error)

    def force_flush(self, timeout_millis: float = 30_000) -> bool:
        return True

    def shutdown(self) -> None:
        transport = getattr(self._client, "transport", None)
        if transport is not None:
            transport.close()


def _fitted(body: dict[str, Any]) -> dict[str, Any]:
    """The body with its largest labels dropped until its JSON fits the entry limit."""
    text, _ = fit(body, encode_json)
    fitted: dict[str, Any] = json.loads(text)
    return fitted


def _partial_failures(error: exceptions.InvalidArgument, count: int) -> int:
    """How many entries a partial-success write rejected (all of them if the server did not say)."""
    for detail in getattr(error, "details", None) or ():
        entry_errors = getattr(detail, "log_entry_errors", None)
        if entry_errors is not None:
            rejected = len(entry_errors)
            warn_once("cloud_logging:partial", "Cloud Logging rejected %d of %d entries: %s",
                      rejected, count, error)
            return rejected
    warn_once("cloud_logging:invalid", "Cloud Logging rejected %d entries: %s", count, error)
    return count
