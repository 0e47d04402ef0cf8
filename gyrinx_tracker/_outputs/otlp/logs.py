"""The OTLP log exporter that sends what ``wire`` wrote: the official exporter, its stub's serializer replaced.

It relies on private pieces of the exporter package (``OTLPLogExporter._translate_data`` and
``_initialize_channel_and_stub``), pinned with the SDK range in pyproject.toml and fenced here:
``tests/integration/test_otlp_wire.py`` sends through it to a real receiver.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from typing import Any

import grpc
from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest, ExportLogsServiceResponse

from gyrinx_tracker._core.event import Event
from gyrinx_tracker._diagnostics import warn_limited
from gyrinx_tracker._outputs.otlp.wire import WireEncoder
from gyrinx_tracker._outputs.shared.ready import connected
from gyrinx_tracker._outputs.shared.sdk import export
from gyrinx_tracker._outputs.shared.senders import Senders
from gyrinx_tracker._pipeline.port import Delivery
from gyrinx_tracker._signals.writers import Bodies
from gyrinx_tracker._stats import EXPORT_UNKNOWN


class EncodedLogs:
    """A batch already written as request bytes (``wire``), handed to the exporter as its data.

    ``unsure`` is set by the stub when one of the exporter's attempts to send it timed out after
    it was sent (``DEADLINE_EXCEEDED``): the receiver may have stored it, so a failed export of it
    is booked ``export_unknown``, not ``export_failed``.
    """

    __slots__ = ("count", "payload", "unsure")

    def __init__(self, payload: bytes, count: int) -> None:
        self.payload = payload
        self.count = count
        self.unsure = False

    def __len__(self) -> int:  # what the exporter's own metrics count
        return self.count


# gRPC waits up to 120 s (1 s, then x1.6) between attempts to reconnect to a collector that went
# away; the exporter's own retries (1 s, 2 s, ... within the export timeout) would then find the
# channel still backing off long after a 2 s restart ended, and a batch would be dropped though
# the collector was back. Reconnecting every second at most costs one connect a second while it
# is down.
RECONNECT_OPTIONS: tuple[tuple[str, Any], ...] = (
    ("grpc.initial_reconnect_backoff_ms", 100), ("grpc.min_reconnect_backoff_ms", 100),
    ("grpc.max_reconnect_backoff_ms", 1_000))


class BatchEncodingLogExporter(OTLPLogExporter):
    """The official OTLP gRPC log exporter (retries, timeouts, headers, TLS, compression), sending a
    batch ``wire`` wrote as it is.

    Its stub's serializer is the one thing replaced: the generated stub serializes the request
    message, so written bytes would have to be parsed back into one first (``FromString``) only to
    be serialized again, which cost as much as a fifth of the worker's time in OTLP mode.
    The stub here is the generated one's twin (same method path, same response type), whose
    serializer passes written bytes through and serializes a message as the generated one does.
    The exporter remakes its stub with its channel after an UNAVAILABLE error, through the same
    method, so the replacement survives reconnection.
    """

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("channel_options", RECONNECT_OPTIONS)
        super().__init__(**kwargs)

    def _initialize_channel_and_stub(self) -> None:
        super()._initialize_channel_and_stub()  # type: ignore[no-untyped-call]  # unannotated upstream
        # The exporter's shutdown signal (an Event it sets in shutdown()), so the stub's own waits
        # between resends end at once too; a fresh Event (never set) if upstream renames it.
        stopping = getattr(self, "_shutdown_in_progress", None)
        if not isinstance(stopping, threading.Event):
            stopping = threading.Event()
        self._client = _BytesLogsStub(self._channel, stopping)  # type: ignore[assignment]  # upstream types it None

    def _translate_data(self, data: Sequence[Any] | EncodedLogs) -> Any:
        if isinstance(data, EncodedLogs):
            return data  # serialized by _BytesLogsStub: its payload is the request
        return super()._translate_data(data)  # SDK records (not ours): the official encoder


EXPORT_METHOD = "/opentelemetry.proto.collector.logs.v1.LogsService/Export"  # as logs_service_pb2_grpc names it


def serialized(request: EncodedLogs | ExportLogsServiceRequest) -> bytes:
    """What goes on the wire: written bytes as they are, a request message serialized."""
    if isinstance(request, EncodedLogs):
        return request.payload
    encoded: bytes = request.SerializeToString()
    return encoded


RESEND_EVERY = 0.25  # seconds between sends of a batch the receiver was unavailable for


class _BytesLogsStub:
    """``LogsServiceStub`` with ``serialized`` as its request serializer, and a note on each
    ``EncodedLogs`` batch whose call timed out once sent (see ``EncodedLogs.unsure``).

    "Once sent": a call that timed out while its channel was not connected was not sent, and is
    a plain failure (``shared.ready``).

    ``UNAVAILABLE`` (nothing listening: a collector restarting) is sent again here, every
    ``RESEND_EVERY`` seconds within the call's own deadline, before the exporter sees it: the
    exporter's back-off (1 s, 2 s, 4 s ...) tries at about 0, 1 and 3 s within a 5 s export
    timeout, and a batch whose last try fell just inside a 2.5 s restart was dropped though the
    collector came back half a second later (measured: 2,000 of 40,000 in one run of three).
    """

    def __init__(self, channel: Any, stopping: threading.Event) -> None:
        self._export = channel.unary_unary(EXPORT_METHOD, request_serializer=serialized,
                                           response_deserializer=ExportLogsServiceResponse.FromString,
                                           _registered_method=True)
        self._channel = channel
        self._stopping = stopping

    def Export(self, request: EncodedLogs | ExportLogsServiceRequest, **options: Any) -> Any:  # the generated stub names it so
        timeout = options.get("timeout")
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            try:
                return self._call(request, options, deadline)
            except grpc.RpcError as error:
                if not self._resend(error, deadline):
                    raise

    def _resend(self, error: grpc.RpcError, deadline: float | None) -> bool:
        """Whether to send again after ``error``: UNAVAILABLE, with time left (waits first)."""
        code = getattr(error, "code", None)
        if deadline is None or not callable(code) or code() != grpc.StatusCode.UNAVAILABLE:
            return False
        wait = min(RESEND_EVERY, deadline - time.monotonic() - RESEND_EVERY)  # keep one try's time
        return wait > 0 and not self._stopping.wait(wait)

    def _call(self, request: EncodedLogs | ExportLogsServiceRequest, options: dict[str, Any],
              deadline: float | None) -> Any:
        if deadline is not None:
            options = {**options, "timeout": max(0.0, deadline - time.monotonic())}
        try:
            return self._export(request, **options)
        except grpc.RpcError as error:
            code = getattr(error, "code", None)
            if (isinstance(request, EncodedLogs) and callable(code) and code() == grpc.StatusCode.DEADLINE_EXCEEDED
                    and connected(self._channel)):
                request.unsure = True
            raise


class WireLogWriter:
    """The OTLP log writer: each batch written as request bytes straight from the events (``wire``)
    and sent by the official exporter.

    Concurrency: given ``Senders`` (``send_with``; the output's chooser does, with
    ``EXPORT_CONCURRENCY``), the worker encodes a batch and hands its request to a sender, then goes
    back to its queue; it waits only when that many requests are in flight. One request retrying
    for up to the export timeout (a collector restarting) then no longer stops the queue from
    draining. The exporter's retries run on each sender's thread; its gRPC channel is shared (it is
    thread-safe). Order: requests leave in the queue's order but may arrive out of it (a retried
    one after the ones behind it); each record keeps its own timestamp. Books as for Cloud Logging
    (``senders``): in flight until the receiver answered, settled by the sender.
    """

    def __init__(self, exporter: BatchEncodingLogExporter) -> None:
        self.exporter = exporter
        self._encoder: WireEncoder | None = None
        self._senders: Senders | None = None  # None: sent on the caller's thread, one at a time

    def send_with(self, senders: Senders) -> None:
        """Send each batch on ``senders`` (bounded, concurrent) instead of the worker's thread."""
        self._senders = senders

    def bind(self, resource: Any, scope: Any, attribute_limit: int, value_length_limit: int | None) -> None:
        """Write the records the SDK's would be with this resource, scope and attribute limits."""
        self._encoder = WireEncoder(resource, scope, attribute_limit, value_length_limit)

    def write_events(self, events: Sequence[Event], bodies: Bodies = None) -> Delivery:
        """The records ``Logger.emit`` would have made of the events (and bodies), in as few exports
        as keep each request under ``MAX_REQUEST_BYTES``."""
        assert self._encoder is not None, "bind first"
        count = len(events)
        if not count:
            return Delivery(0)
        try:
            payload = self._encoder.encode(events, bodies)
        except Exception as error:  # noqa: BLE001 - as the official encoder fails a batch; counted
            warn_limited(f"encode:{type(error).__name__}", "could not encode %d OTLP log "
                         "records (%r); counted as dropped", count, error)
            return Delivery.failed(count)
        if len(payload) > MAX_REQUEST_BYTES and count > 1:
            # Halves until each fits (one event over the limit alone is sent as it is: the receiver
            # decides). Encoding twice costs only batches of large events, which are rare. The
            # whole batch's bytes are let go first: kept through the halves' sends, they were a
            # request's worth (up to 8 MB in benchmarks/soak.py) outside the memory bound.
            del payload
            half = count // 2
            first = self.write_events(events[:half], None if bodies is None else bodies[:half])
            return first.plus(self.write_events(events[half:], None if bodies is None else bodies[half:]))
        return self._hand_over(EncodedLogs(payload, count))

    def _hand_over(self, batch: EncodedLogs) -> Delivery:
        """Send ``batch`` on a sender (in flight until answered), or here when there are none."""
        count = batch.count
        senders = self._senders
        if senders is None:
            return self._send(batch)
        if senders.submit(lambda: self._send(batch), count):
            return Delivery(0, pending=count)
        return Delivery.failed(count)  # closed meanwhile

    def _send(self, batch: EncodedLogs) -> Delivery:
        """One export through the exporter (its retries included); a timed-out call is ``unsure``."""
        delivery = export(self.exporter, batch, batch.count)  # the exporter takes EncodedLogs as its batch
        if batch.unsure and not delivery.written:
            return Delivery.failed(batch.count, EXPORT_UNKNOWN)
        return delivery

    def flush(self, timeout: float) -> bool:
        """Wait for the requests in flight (settled when the receiver answered), then the exporter."""
        senders = self._senders
        settled = True if senders is None else senders.wait(timeout)
        return settled and bool(self.exporter.force_flush(timeout_millis=int(timeout * 1000)))

    def shutdown(self, timeout: float) -> None:
        """Wait up to ``timeout`` for the requests in flight, then stop the exporter: its retries
        end at once, and what is still unanswered is settled as failed by its sender."""
        senders = self._senders
        if senders is not None:
            senders.close(timeout)
        self.exporter.shutdown()
        if senders is not None:
            senders.wait(CANCEL_WAIT)


CANCEL_WAIT = 0.5  # seconds for the senders to settle the calls the exporter's shutdown cancelled
# gRPC's default limit on a received message, which the collector's OTLP receiver keeps
# (max_recv_msg_size_mib: 4): a request over it is refused whole (RESOURCE_EXHAUSTED), so a batch
# of large events (512 with labels cut to 8 KB can make 13 MB) is sent in requests under it.
MAX_REQUEST_BYTES = 4 * 1024 * 1024 - 64 * 1024  # less a margin for the call's own framing
