"""The OTLP log exporter that sends what ``wire`` wrote: the official exporter, its stub's serializer replaced.

It relies on private pieces of the exporter package (``OTLPLogExporter._translate_data`` and
``_initialize_channel_and_stub``), pinned with the SDK range in pyproject.toml and fenced here:
``tests/integration/test_otlp_wire.py`` sends through it to a real receiver.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import grpc
from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest, ExportLogsServiceResponse

from gyrinx_tracker._core.event import Event
from gyrinx_tracker._diagnostics import warn_limited
from gyrinx_tracker._outputs.otlp.wire import WireEncoder
from gyrinx_tracker._outputs.shared.sdk import export
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

    def _initialize_channel_and_stub(self) -> None:
        super()._initialize_channel_and_stub()  # type: ignore[no-untyped-call]  # unannotated upstream
        self._client = _BytesLogsStub(self._channel)  # type: ignore[assignment]  # upstream types it None

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


class _BytesLogsStub:
    """``LogsServiceStub`` with ``serialized`` as its request serializer, and a note on each
    ``EncodedLogs`` batch whose call timed out (see ``EncodedLogs.unsure``)."""

    def __init__(self, channel: Any) -> None:
        self._export = channel.unary_unary(EXPORT_METHOD, request_serializer=serialized,
                                           response_deserializer=ExportLogsServiceResponse.FromString,
                                           _registered_method=True)

    def Export(self, request: EncodedLogs | ExportLogsServiceRequest, **options: Any) -> Any:  # the generated stub names it so
        try:
            return self._export(request, **options)
        except grpc.RpcError as error:
            code = getattr(error, "code", None)
            if isinstance(request, EncodedLogs) and callable(code) and code() == grpc.StatusCode.DEADLINE_EXCEEDED:
                request.unsure = True
            raise


class WireLogWriter:
    """The OTLP log writer: each batch written as request bytes straight from the events (``wire``)
    and sent by the official exporter."""

    def __init__(self, exporter: BatchEncodingLogExporter) -> None:
        self.exporter = exporter
        self._encoder: WireEncoder | None = None

    def bind(self, resource: Any, scope: Any, attribute_limit: int, value_length_limit: int | None) -> None:
        """Write the records the SDK's would be with this resource, scope and attribute limits."""
        self._encoder = WireEncoder(resource, scope, attribute_limit, value_length_limit)

    def write_events(self, events: Sequence[Event], bodies: Bodies = None) -> Delivery:
        """One export of the records ``Logger.emit`` would have made of the events (and bodies)."""
        assert self._encoder is not None, "bind first"
        if not events:
            return Delivery(0)
        try:
            batch = EncodedLogs(self._encoder.encode(events, bodies), len(events))
        except Exception as error:  # noqa: BLE001 - as the official encoder fails a batch; counted
            warn_limited(f"encode:{type(error).__name__}", "gyrinx_tracker could not encode %d OTLP log "
                         "records (%r); counted as dropped", len(events), error)
            return Delivery.failed(len(events))
        delivery = export(self.exporter, batch, len(events))  # the exporter takes EncodedLogs as its batch
        if batch.unsure and not delivery.written:
            return Delivery.failed(len(events), EXPORT_UNKNOWN)
        return delivery

    def flush(self, timeout: float) -> bool:
        return bool(self.exporter.force_flush(timeout_millis=int(timeout * 1000)))

    def shutdown(self, timeout: float) -> None:
        self.exporter.shutdown()
