"""A real OTLP/gRPC receiver on loopback, standing in for an OpenTelemetry Collector.

The official OTLP exporters connect to it exactly as they would to a collector, using the
generated servicers from opentelemetry-proto, so tests exercise real protobuf encoding, gRPC
framing and the exporters' retry/backoff logic. Logs, metrics and traces are accepted (a real
collector accepts all three; an exporter for an unoffered signal would otherwise see
UNIMPLEMENTED). Helpers flatten what arrived into plain Python data for assertions.
"""

from __future__ import annotations

import math
from typing import Any

import grpc
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2, logs_service_pb2_grpc
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2, metrics_service_pb2_grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.metrics.v1.metrics_pb2 import AggregationTemporality, Metric

from ._grpc_base import LoopbackGrpcServer

_TEMPORALITY: dict[int, str] = {
    AggregationTemporality.AGGREGATION_TEMPORALITY_DELTA: "delta",
    AggregationTemporality.AGGREGATION_TEMPORALITY_CUMULATIVE: "cumulative",
}


class OtlpReceiver(LoopbackGrpcServer):
    """Records Export requests for logs, metrics and traces; see LoopbackGrpcServer for faults.

    Faults and delays apply to all three services alike, in arrival order.
    """

    def __init__(self, *, max_workers: int = 8) -> None:
        super().__init__(max_workers=max_workers)
        self.log_requests: list[logs_service_pb2.ExportLogsServiceRequest] = []
        self.metric_requests: list[metrics_service_pb2.ExportMetricsServiceRequest] = []
        self.trace_requests: list[trace_service_pb2.ExportTraceServiceRequest] = []
        self.request_metadata: list[dict[str, str]] = []

    @property
    def endpoint(self) -> str:
        """"http://127.0.0.1:PORT", as the OTLP exporters' `endpoint` argument takes it."""
        return f"http://{self.address}"

    # -- plain-data views --------------------------------------------------------------------

    def log_records(self) -> list[dict[str, Any]]:
        """Every received log record, flattened, in arrival order.

        Keys: event_name, severity_number, severity_text, body, attributes, trace_id, span_id
        (lower-case hex, None when unset), time_unix_nano, observed_time_unix_nano, flags,
        scope (name), resource (attributes dict).
        """
        with self._changed:
            requests = list(self.log_requests)
        return [
            _log_record(record, _attributes(rl.resource.attributes), sl.scope.name)
            for request in requests
            for rl in request.resource_logs
            for sl in rl.scope_logs
            for record in sl.log_records
        ]

    def metric_points(self) -> dict[str, list[dict[str, Any]]]:
        """Every received data point, grouped by metric name, in arrival order.

        Each point has kind ("sum", "gauge", "histogram", "exponential_histogram"), attributes,
        unit, temporality ("delta"/"cumulative", None for gauges), is_monotonic (None unless a
        sum), start/time_unix_nano and resource; then `value` for sums and gauges, or count, sum,
        min, max for histograms, plus bounds, bucket_counts and buckets - (upper bound, count)
        pairs ending with (inf, n) - for explicit ones, or scale, zero_count, positive and
        negative for exponential ones.
        """
        with self._changed:
            requests = list(self.metric_requests)
        points: dict[str, list[dict[str, Any]]] = {}
        for request in requests:
            for rm in request.resource_metrics:
                resource = _attributes(rm.resource.attributes)
                for sm in rm.scope_metrics:
                    for metric in sm.metrics:
                        points.setdefault(metric.name, []).extend(_metric_points(metric, resource))
        return points

    def latest(self, name: str) -> dict[frozenset[tuple[str, Any]], dict[str, Any]]:
        """The last point received for each series of metric ``name`` (exports are cumulative)."""
        return {frozenset(point["attributes"].items()): point for point in self.metric_points().get(name, [])}

    def spans(self) -> list[dict[str, Any]]:
        """Every received span as {name, trace_id, span_id, attributes, resource}."""
        with self._changed:
            requests = list(self.trace_requests)
        return [
            {
                "name": span.name,
                "trace_id": _hex(span.trace_id),
                "span_id": _hex(span.span_id),
                "attributes": _attributes(span.attributes),
                "resource": _attributes(rs.resource.attributes),
            }
            for request in requests
            for rs in request.resource_spans
            for ss in rs.scope_spans
            for span in ss.spans
        ]

    # -- waiting -------------------------------------------------------------------------------

    def wait_for_logs(self, count: int, timeout: float = 5.0) -> bool:
        """Wait until at least `count` log records are recorded; False on timeout."""
        return self._wait_until(lambda: self._log_count() >= count, timeout)

    def wait_for_metric(self, name: str, timeout: float = 5.0) -> bool:
        """Wait until a data point of metric `name` is recorded; False on timeout."""
        return self._wait_until(lambda: self._has_metric(name), timeout)

    def wait_for_metric_requests(self, count: int, timeout: float = 5.0) -> bool:
        """Wait until at least `count` metric export requests are recorded; False on timeout."""
        return self._wait_until(lambda: len(self.metric_requests) >= count, timeout)

    def _log_count(self) -> int:
        return sum(
            len(sl.log_records) for r in self.log_requests for rl in r.resource_logs for sl in rl.scope_logs
        )

    def _has_metric(self, name: str) -> bool:
        return any(
            m.name == name
            for r in self.metric_requests
            for rm in r.resource_metrics
            for sm in rm.scope_metrics
            for m in sm.metrics
        )

    # -- gRPC plumbing -----------------------------------------------------------------------

    def _add_services(self, server: grpc.Server) -> None:
        # The generated registration functions are untyped.
        logs_service_pb2_grpc.add_LogsServiceServicer_to_server(  # type: ignore[no-untyped-call]
            _Logs(self), server
        )
        metrics_service_pb2_grpc.add_MetricsServiceServicer_to_server(  # type: ignore[no-untyped-call]
            _Metrics(self), server
        )
        trace_service_pb2_grpc.add_TraceServiceServicer_to_server(  # type: ignore[no-untyped-call]
            _Traces(self), server
        )

    def _clear_records(self) -> None:
        self.log_requests.clear()
        self.metric_requests.clear()
        self.trace_requests.clear()
        self.request_metadata.clear()

    def _accept(self, sink: list[Any], request: Any, context: grpc.ServicerContext) -> None:
        def record() -> None:
            sink.append(request)
            self.request_metadata.append(self._metadata(context))

        self._handle(request, context, record)


class _Logs(logs_service_pb2_grpc.LogsServiceServicer):
    def __init__(self, receiver: OtlpReceiver) -> None:
        self._receiver = receiver

    def Export(self, request: Any, context: grpc.ServicerContext) -> Any:
        self._receiver._accept(self._receiver.log_requests, request, context)
        return logs_service_pb2.ExportLogsServiceResponse()


class _Metrics(metrics_service_pb2_grpc.MetricsServiceServicer):
    def __init__(self, receiver: OtlpReceiver) -> None:
        self._receiver = receiver

    def Export(self, request: Any, context: grpc.ServicerContext) -> Any:
        self._receiver._accept(self._receiver.metric_requests, request, context)
        return metrics_service_pb2.ExportMetricsServiceResponse()


class _Traces(trace_service_pb2_grpc.TraceServiceServicer):
    def __init__(self, receiver: OtlpReceiver) -> None:
        self._receiver = receiver

    def Export(self, request: Any, context: grpc.ServicerContext) -> Any:
        self._receiver._accept(self._receiver.trace_requests, request, context)
        return trace_service_pb2.ExportTraceServiceResponse()


# -- protobuf -> plain Python ----------------------------------------------------------------


def any_value(value: AnyValue) -> Any:
    """An OTLP AnyValue as the Python value the SDK was given (None when empty)."""
    kind = value.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        return [any_value(v) for v in value.array_value.values]
    if kind == "kvlist_value":
        return _attributes(value.kvlist_value.values)
    return getattr(value, kind)


def _attributes(pairs: Any) -> dict[str, Any]:
    items: list[KeyValue] = list(pairs)
    return {kv.key: any_value(kv.value) for kv in items}


def _hex(raw: bytes) -> str | None:
    return raw.hex() if raw else None


def _log_record(record: Any, resource: dict[str, Any], scope: str) -> dict[str, Any]:
    return {
        "event_name": record.event_name,
        "severity_number": record.severity_number,
        "severity_text": record.severity_text,
        "body": any_value(record.body),
        "attributes": _attributes(record.attributes),
        "trace_id": _hex(record.trace_id),
        "span_id": _hex(record.span_id),
        "time_unix_nano": record.time_unix_nano,
        "observed_time_unix_nano": record.observed_time_unix_nano,
        "flags": record.flags,
        "scope": scope,
        "resource": resource,
    }


def _metric_points(metric: Metric, resource: dict[str, Any]) -> list[dict[str, Any]]:
    kind = metric.WhichOneof("data")
    if kind is None:
        return []
    data: Any = getattr(metric, kind)
    temporality = _TEMPORALITY.get(data.aggregation_temporality) if kind != "gauge" else None
    monotonic = data.is_monotonic if kind == "sum" else None
    common = {"kind": kind, "unit": metric.unit, "temporality": temporality, "is_monotonic": monotonic}
    return [{**common, **_point(kind, p), "resource": resource} for p in data.data_points]


def _point(kind: str, point: Any) -> dict[str, Any]:
    base = {
        "attributes": _attributes(point.attributes),
        "start_time_unix_nano": point.start_time_unix_nano,
        "time_unix_nano": point.time_unix_nano,
    }
    if kind in ("sum", "gauge"):
        which = point.WhichOneof("value")
        return {**base, "value": getattr(point, which) if which else None}
    stats = {
        "count": point.count,
        "sum": point.sum if point.HasField("sum") else None,
        "min": point.min if point.HasField("min") else None,
        "max": point.max if point.HasField("max") else None,
    }
    if kind == "histogram":
        bounds, counts = list(point.explicit_bounds), list(point.bucket_counts)
        buckets = list(zip([*bounds, math.inf], counts, strict=True)) if counts else []
        return {**base, **stats, "bounds": bounds, "bucket_counts": counts, "buckets": buckets}
    return {
        **base,
        **stats,
        "scale": point.scale,
        "zero_count": point.zero_count,
        "positive": {"offset": point.positive.offset, "bucket_counts": list(point.positive.bucket_counts)},
        "negative": {"offset": point.negative.offset, "bucket_counts": list(point.negative.bucket_counts)},
    }
