"""The Cloud Logging API output: ``google-cloud-logging``'s generated client, used directly.

Each batch becomes ``WriteLogEntries`` requests built as raw protobuf in place: the log name and
the monitored resource are set once per request (entries inherit them, which is how the API is
meant to be used) and each entry carries only time, severity, trace fields and the payload. The
upstream OpenTelemetry exporter (``opentelemetry-exporter-gcp-logging``, now deprecated in favour
of OTLP ingestion) built proto-plus objects and copied every attribute into entry labels, costing
more per record than the rest of the tracker together, and reported failed writes as success; it
is not used.

Failures are reported, never hidden: a write the API refused counts its entries as not written,
and a partial failure counts only the entries it names; retries resend only what was not stored
(``cloud_logging_send``). The monitored resource is ours too: ``cloud_run_revision`` (or
``cloud_run_job``), as Cloud Logging's own entries for the service.

Concurrency: the worker builds the requests of a batch and hands each to ``Senders`` (at most
``GYRINX_TRACKER_EXPORT_CONCURRENCY`` in flight, 4 by default), then goes back to its queue; it
blocks only when that many requests await an answer. At 2 s per call one request at a time capped
the output at 512 events per 2 s; with N in flight the cap is N times that. Each sender settles
its request's entries in the pipeline's ``Stats`` when the API answered, so ``stats()`` shows them
in flight until then, and ``flush()``/``shutdown()`` wait for them within their timeout (on
shutdown, requests still unanswered are cancelled with the channel and counted as failed).
Requests may complete out of order; each entry carries its own timestamp, which is what Cloud
Logging orders by, and the entries of one request keep their order.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Sequence
from typing import Any

import grpc
from google.cloud.logging_v2.services.logging_service_v2 import LoggingServiceV2Client
from google.cloud.logging_v2.services.logging_service_v2.transports.grpc import (
    LoggingServiceV2GrpcTransport,
)
from google.cloud.logging_v2.types import LogEntry, WriteLogEntriesRequest
from google.logging.type.log_severity_pb2 import INFO as CLOUD_INFO

from gyrinx_tracker._core.event import Event
from gyrinx_tracker._outputs.gcp import cloud_logging_send
from gyrinx_tracker._outputs.gcp.environment import GcpEnvironment
from gyrinx_tracker._outputs.shared.fast_json import encode_json
from gyrinx_tracker._outputs.shared.limits import (
    API_ENTRIES_PER_REQUEST,
    API_ENTRY_LIMIT,
    API_REQUEST_LIMIT,
    ENTRY_LIMIT,
    fit,
)
from gyrinx_tracker._outputs.shared.ready import connected
from gyrinx_tracker._outputs.shared.senders import Senders
from gyrinx_tracker._outputs.shared.text import span_hex, trace_hex
from gyrinx_tracker._pipeline.port import Delivery
from gyrinx_tracker._signals.otel_logs import Record
from gyrinx_tracker._stats import TOO_LARGE, Stats

CANCEL_WAIT = 0.5  # seconds for cancelled calls to be settled by their senders after shutdown
_ENTRY = LogEntry.pb()
_REQUEST = WriteLogEntriesRequest.pb()


def make_client(endpoint: str | None) -> LoggingServiceV2Client:
    """The real client; with ``endpoint`` it talks plain gRPC to an emulator, anonymously."""
    if endpoint:
        channel = grpc.insecure_channel(endpoint)
        return LoggingServiceV2Client(transport=LoggingServiceV2GrpcTransport(channel=channel))
    return LoggingServiceV2Client()


class CloudLoggingWriter:
    """Writes batches to one log with one monitored resource; failures are reported, not hidden."""

    reads_attributes = False  # the body carries everything this output writes

    def __init__(self, environment: GcpEnvironment, log_name: str, client: LoggingServiceV2Client,
                 timeout: float, stats: Stats, concurrency: int = 4) -> None:
        project = environment.project_id or ""
        self._client = client
        self._log_name = f"projects/{project}/logs/{log_id(log_name)}"
        self._trace_prefix = f"projects/{project}/traces/"
        self._resource = (environment.resource_type, environment.resource_labels)
        self._timeout = timeout
        self._closing = threading.Event()
        self._senders = Senders(concurrency, stats)
        channel = getattr(getattr(client, "transport", None), "grpc_channel", None)
        self._connected: Callable[[], bool] = lambda: connected(channel)

    def write(self, records: Sequence[Record], events: Sequence[Event]) -> Delivery:
        """Write ``records`` in as few requests as the API's limits allow."""
        delivery = Delivery(0)
        too_large = 0
        request, size = self._new_request(), 0
        for record in records:
            entry = request.entries.add()
            entry_size = self._fill(entry, record)
            if entry_size > API_ENTRY_LIMIT:
                del request.entries[-1]
                too_large += 1
                continue
            size += entry_size
            if size > API_REQUEST_LIMIT or len(request.entries) > API_ENTRIES_PER_REQUEST:
                spill = request.entries.pop()
                delivery = delivery.plus(self._send(request))
                request, size = self._new_request(), entry_size
                request.entries.append(spill)
        if request.entries:
            delivery = delivery.plus(self._send(request))
        return delivery.plus(Delivery.failed(too_large, TOO_LARGE))

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

    def _send(self, request: Any) -> Delivery:
        """Hand ``request`` to a sender (its entries then settle there); blocks only at the bound."""
        count = len(request.entries)
        client, timeout, closing, ready = self._client, self._timeout, self._closing, self._connected
        if self._senders.submit(lambda: cloud_logging_send.send(client, request, timeout, closing, ready), count):
            return Delivery(0, pending=count)
        return Delivery.failed(count)

    def flush(self, timeout: float) -> bool:
        """Wait for the requests in flight (their entries are settled when the API answers)."""
        return self._senders.wait(timeout)

    def shutdown(self, timeout: float) -> None:
        """Wait up to ``timeout`` for the requests in flight, then cancel the rest with the channel."""
        self._senders.close(timeout)
        self._closing.set()  # no more retries: what is unanswered now fails and is counted
        transport = getattr(self._client, "transport", None)
        if transport is not None:
            transport.close()  # cancels the calls in flight: their senders count them at once
        self._senders.wait(CANCEL_WAIT)


def log_id(name: str) -> str:
    """The log id as it goes into a log name: ``/`` must be URL-encoded (the API's LogEntry docs)."""
    return name.replace("/", "%2F")


def _fitted(body: dict[str, Any]) -> dict[str, Any]:
    """The body with its largest labels dropped until its JSON fits the entry limit."""
    text, _ = fit(body, encode_json)
    fitted: dict[str, Any] = json.loads(text)
    return fitted
