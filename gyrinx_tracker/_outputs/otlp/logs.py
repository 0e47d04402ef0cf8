"""The OTLP log exporter with a batch encoder: the resource and scope encoded once per batch.

The SDK's ``encode_logs`` groups records in a dict keyed by ``Resource``, whose ``__hash__``
JSON-dumps every attribute, for every record; measured (issue 10) that made encoding 58% of the
worker's time in OTLP mode. Our records share one resource and one scope object, so here records
are grouped by identity first (equal-but-distinct resources and scopes are still merged, in
first-seen order, exactly as the SDK's dict does) and each resource and scope is encoded once.
Records are built as the SDK's ``_encode_log`` builds them, except that the ``KeyValue`` of a
str/int/bool pair (``gyrinx.event``, ``method=GET``, ``status=200``: the same few pairs again and
again) is encoded once and reused (protobuf copies it into each record). The request is the same
message as the official encoder's; ``tests/unit/test_otlp_logs.py`` compares them message for message.

It relies on private pieces of the exporter packages (the value, resource and scope encoders, and
``OTLPLogExporter._translate_data``), pinned with the SDK range in pyproject.toml and fenced
here: if they change, the test above fails.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from opentelemetry.exporter.otlp.proto.common._internal import (
    _encode_attributes,
    _encode_instrumentation_scope,
    _encode_key_value,
    _encode_resource,
    _encode_span_id,
    _encode_trace_id,
    _encode_value,
)
from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest, ExportLogsServiceResponse
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, ArrayValue, KeyValue, KeyValueList
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord, ResourceLogs, ScopeLogs

from gyrinx_tracker._core.event import Event
from gyrinx_tracker._diagnostics import warn_limited
from gyrinx_tracker._outputs.otlp.wire import WireEncoder
from gyrinx_tracker._outputs.shared.sdk import SdkExporterWriter
from gyrinx_tracker._pipeline.port import Delivery
from gyrinx_tracker._signals.writers import Bodies

Group = tuple[Any, list[tuple[Any, list[Any]]]]  # (resource, [(scope, [encoded record, ...]), ...])


def encode_batch(batch: Sequence[Any]) -> ExportLogsServiceRequest:
    """The ``ExportLogsServiceRequest`` that ``encode_logs(batch)`` builds, with less work per record."""
    groups: list[Group] = []
    last_resource: object = _NONE
    last_scope: object = _NONE
    records: list[Any] = []
    for readable in batch:
        resource, scope = readable.resource, readable.instrumentation_scope or None
        if resource is not last_resource or scope is not last_scope:
            records = _records_of(groups, resource, scope)
            last_resource, last_scope = resource, scope
        records.append(_log(readable))
    return ExportLogsServiceRequest(resource_logs=[
        ResourceLogs(resource=_encode_resource(resource), schema_url=resource.schema_url, scope_logs=[
            ScopeLogs(scope=_encode_instrumentation_scope(scope), log_records=encoded,
                      schema_url=scope.schema_url if scope else None)  # type: ignore[arg-type]  # None = unset, as in the SDK
            for scope, encoded in scopes])
        for resource, scopes in groups])


_NONE = object()


def _records_of(groups: list[Group], resource: Any, scope: Any) -> list[Any]:
    """The list collecting records of (resource, scope), found by equality as the SDK's dict does."""
    scopes = next((found for known, found in groups if known == resource), None)
    if scopes is None:
        scopes = []
        groups.append((resource, scopes))
    for known_scope, records in scopes:
        if known_scope == scope:
            return records
    records = []
    scopes.append((scope, records))
    return records


def _log(readable: Any) -> LogRecord:
    """``_encode_log(readable)``, with the body and attributes through the pair cache."""
    log = readable.log_record
    try:
        attributes = [_key_value(key, value) for key, value in (log.attributes or {}).items()]
    except Exception:  # noqa: BLE001 - the official encoder skips and logs a bad attribute; so do we
        attributes = _encode_attributes(log.attributes)
    # As the SDK does: None leaves a field unset (the generated stubs do not say so, hence Any).
    fields: dict[str, Any] = dict(
        time_unix_nano=log.timestamp,
        observed_time_unix_nano=log.observed_timestamp,
        span_id=None if log.span_id == 0 else _encode_span_id(log.span_id),
        trace_id=None if log.trace_id == 0 else _encode_trace_id(log.trace_id),
        flags=int(log.trace_flags),
        body=_value(log.body),
        severity_text=log.severity_text,
        attributes=attributes,
        dropped_attributes_count=readable.dropped_attributes,
        severity_number=getattr(log.severity_number, "value", None),
        event_name=log.event_name,
    )
    return LogRecord(**fields)


_PAIRS: dict[tuple[str, type, object], KeyValue] = {}
_PAIR_LIMIT = 10_000
_CACHED = frozenset({str, int, bool})  # not float: -0.0 == 0.0 would share one encoding


def _key_value(key: str, value: Any) -> KeyValue:
    kind = type(value)
    if kind in _CACHED:
        pair = (key, kind, value)
        encoded = _PAIRS.get(pair)
        if encoded is None:
            encoded = _encode_key_value(key, value)
            if len(_PAIRS) < _PAIR_LIMIT:
                _PAIRS[pair] = encoded
        return encoded
    if kind is dict:
        return KeyValue(key=key, value=_value(value))
    return _encode_key_value(key, value)


def _value(value: Any) -> AnyValue:
    kind = type(value)
    if kind is dict:
        return AnyValue(kvlist_value=KeyValueList(values=[_key_value(str(k), v) for k, v in value.items()]))
    if kind is list:
        return AnyValue(array_value=ArrayValue(values=[_value(v) for v in value]))
    return _encode_value(value)


class EncodedLogs:
    """A batch already written as request bytes (``otlp_wire``), handed to the exporter as its data."""

    __slots__ = ("count", "payload")

    def __init__(self, payload: bytes, count: int) -> None:
        self.payload = payload
        self.count = count

    def __len__(self) -> int:  # what the exporter's own metrics count
        return self.count


class BatchEncodingLogExporter(OTLPLogExporter):
    """The official OTLP gRPC log exporter (retries, timeouts, headers, TLS, compression), encoding
    SDK records with ``encode_batch`` and sending a batch ``otlp_wire`` wrote as it is.

    Its stub's serializer is the one thing replaced: the generated stub serializes the request
    message, so written bytes had to be parsed back into one first (``FromString``) only to be
    serialized again, measured at 1.8 µs per record, a fifth of the worker's time in OTLP mode.
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
        return encode_batch(data)


EXPORT_METHOD = "/opentelemetry.proto.collector.logs.v1.LogsService/Export"  # as logs_service_pb2_grpc names it


def serialized(request: EncodedLogs | ExportLogsServiceRequest) -> bytes:
    """What goes on the wire: written bytes as they are, a request message serialized."""
    if isinstance(request, EncodedLogs):
        return request.payload
    encoded: bytes = request.SerializeToString()
    return encoded


class _BytesLogsStub:
    """``LogsServiceStub`` with ``serialized`` as its request serializer."""

    def __init__(self, channel: Any) -> None:
        self.Export = channel.unary_unary(EXPORT_METHOD, request_serializer=serialized,
                                          response_deserializer=ExportLogsServiceResponse.FromString,
                                          _registered_method=True)


class WireLogWriter(SdkExporterWriter):
    """The OTLP log writer: batches written as request bytes straight from the events
    (``otlp_wire``) once the output bound it to its resource and scope; SDK records otherwise."""

    def __init__(self, exporter: BatchEncodingLogExporter) -> None:
        super().__init__(exporter)
        self._encoder: WireEncoder | None = None

    def bind_events(self, resource: Any, scope: Any, attribute_limit: int, value_length_limit: int | None) -> bool:
        """Write from events from now on, unless string attribute values are to be truncated (the
        SDK's records do that); True when it will."""
        if value_length_limit is not None:
            return False
        self._encoder = WireEncoder(resource, scope, attribute_limit)
        return True

    def write_events(self, events: Sequence[Event], bodies: Bodies = None) -> Delivery:
        """One export of the records ``Logger.emit`` would have made of the events (and bodies)."""
        assert self._encoder is not None, "bind_events first"
        if not events:
            return Delivery(0)
        try:
            batch = EncodedLogs(self._encoder.encode(events, bodies), len(events))
        except Exception as error:  # noqa: BLE001 - as the official encoder fails a batch; counted
            warn_limited(f"encode:{type(error).__name__}", "gyrinx_tracker could not encode %d OTLP log "
                         "records (%r); counted as dropped", len(events), error)
            return Delivery.failed(len(events))
        return self.write(batch, ())  # type: ignore[arg-type]  # the exporter takes EncodedLogs too
