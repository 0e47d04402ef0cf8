"""Helpers for running the real collector in tests and reading what its file exporter wrote.

Kept out of conftest.py so that test modules can import the helpers by name.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[3]
CONFIG_DIR = REPO / "collector-config"

JsonDict = dict[str, Any]


def free_port() -> int:
    """A TCP port that is free on 127.0.0.1 right now (the collector binds it a moment later)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(predicate: Callable[[], bool], timeout: float, interval: float = 0.1) -> bool:
    """Poll ``predicate`` until it is true or ``timeout`` seconds passed; return its last value."""
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


def clean_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The test process's environment without OTEL_*/GYRINX_* settings, plus ``extra``.

    Collectors and app subprocesses must not pick up whatever the developer's shell exports.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "GYRINX_"))}
    env.update(extra or {})
    return env


@dataclass
class Collector:
    """One collector process on free loopback ports, writing OTLP/JSON lines to ``output``."""

    binary: Path
    configs: list[str]
    workdir: Path
    env: dict[str, str] = field(default_factory=dict)
    grpc_port: int = field(default_factory=free_port)
    http_port: int = field(default_factory=free_port)
    health_port: int = field(default_factory=free_port)
    metrics_port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        # The file exporters write <output>.logs.jsonl, <output>.metrics.jsonl, <output>.traces.jsonl.
        self.output = self.workdir / "out"
        self.log_path = self.workdir / "collector.log"

    @property
    def grpc_endpoint(self) -> str:
        """host:port of the OTLP/gRPC receiver."""
        return f"127.0.0.1:{self.grpc_port}"

    def argv(self) -> list[str]:
        """The command line: one ``--config`` per file, merged by the collector in order."""
        args = [str(self.binary)]
        for config in self.configs:
            path = config if config.startswith("yaml:") or os.path.isabs(config) else str(CONFIG_DIR / config)
            args += ["--config", path]
        return args

    def environment(self) -> dict[str, str]:
        """Ports and paths through the configs' ${env:...} hooks, then the test's own settings."""
        return clean_env(
            {
                "GYRINX_COLLECTOR_OTLP_GRPC": self.grpc_endpoint,
                "GYRINX_COLLECTOR_OTLP_HTTP": f"127.0.0.1:{self.http_port}",
                "GYRINX_COLLECTOR_HEALTH": f"127.0.0.1:{self.health_port}",
                "GYRINX_COLLECTOR_METRICS_HOST": "127.0.0.1",
                "GYRINX_COLLECTOR_METRICS_PORT": str(self.metrics_port),
                "GYRINX_COLLECTOR_FILE_PREFIX": str(self.output),
                # Persistent queues (front.yaml, gateway.yaml): one directory per collector that
                # outlives its process, as a volume would, so a restarted replica finds its queue.
                "GYRINX_COLLECTOR_STORAGE_DIR": str(self.workdir / "storage"),
                **self.env,
            }
        )

    def run(self, timeout: float = 30.0) -> None:
        """Start the process and wait until its health check answers 200."""
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                self.argv(), env=self.environment(), stdout=log, stderr=subprocess.STDOUT, cwd=self.workdir
            )
        if not wait_for(self._healthy_or_dead, timeout, 0.1) or self.process.poll() is not None:
            self.stop()
            raise AssertionError(f"collector did not become healthy:\n{self.log()[-6000:]}")

    def _healthy_or_dead(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            return True
        return self.healthy()

    def healthy(self) -> bool:
        """True if the health_check extension answers 200."""
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.health_port}/", timeout=1) as response:
                return bool(response.status == 200)
        except (urllib.error.URLError, OSError):
            return False

    def stop(self, timeout: float = 20.0) -> int | None:
        """Graceful shutdown (SIGTERM: pipelines drain, the file exporter flushes)."""
        if self.process is None or self.process.poll() is not None:
            return None if self.process is None else self.process.returncode
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()

    def kill(self) -> None:
        """Crash: SIGKILL, nothing is flushed."""
        assert self.process is not None
        self.process.kill()
        self.process.wait()

    def log(self) -> str:
        """Everything the collector printed."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def read(self) -> OtlpOutput:
        """What the file exporter has written so far."""
        return OtlpOutput.read(self.output)


class CollectorFactory:
    """Starts collectors for one test and stops them all at teardown."""

    def __init__(self, binary: Path, tmp_path: Path) -> None:
        self.binary = binary
        self.tmp_path = tmp_path
        self.started: list[Collector] = []

    def start(self, configs: list[str], env: dict[str, str] | None = None, name: str = "collector", **ports: int) -> Collector:
        """Start a collector with ``configs`` (names relative to collector-config/) and ``env``."""
        collector = Collector(self.binary, configs, self.tmp_path / name, dict(env or {}), **ports)
        self.started.append(collector)
        collector.run()
        return collector

    def stop_all(self) -> None:
        """Stop every collector this factory started."""
        for collector in self.started:
            collector.stop()


# --- reading OTLP/JSON (the file exporter's format) -------------------------------------------


def any_value(value: Mapping[str, Any]) -> Any:
    """An OTLP/JSON AnyValue as a plain Python value (int64 arrive as strings in OTLP/JSON)."""
    if "stringValue" in value:
        return value["stringValue"]
    if "intValue" in value:
        return int(value["intValue"])
    if "doubleValue" in value:
        return float(value["doubleValue"])
    if "boolValue" in value:
        return bool(value["boolValue"])
    if "kvlistValue" in value:
        return attributes(value["kvlistValue"].get("values", []))
    if "arrayValue" in value:
        return [any_value(v) for v in value["arrayValue"].get("values", [])]
    if "bytesValue" in value:
        return value["bytesValue"]
    return None


def attributes(kvs: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """An OTLP/JSON KeyValue list as a dict."""
    return {kv["key"]: any_value(kv.get("value", {})) for kv in kvs}


@dataclass
class LogRecord:
    """One log record with its resource, flattened for assertions."""

    resource: dict[str, Any]
    scope: str
    event_name: str
    severity_number: int
    severity_text: str
    body: Any
    attributes: dict[str, Any]
    trace_id: str
    span_id: str


@dataclass
class MetricPoint:
    """One data point of a sum or histogram, with its metric and resource."""

    resource: dict[str, Any]
    name: str
    unit: str
    kind: str
    temporality: int
    monotonic: bool
    attributes: dict[str, Any]
    time_unix_nano: int
    value: float
    count: int


@dataclass
class OtlpOutput:
    """The documents of one file-exporter output file."""

    documents: list[JsonDict]

    @classmethod
    def read(cls, prefix: Path) -> OtlpOutput:
        """Parse every complete line of ``<prefix>.{logs,metrics,traces}.jsonl``; a line still
        being written is left for the next read."""
        documents: list[JsonDict] = []
        for kind in ("logs", "metrics", "traces"):
            path = prefix.with_name(f"{prefix.name}.{kind}.jsonl")
            if not path.exists():
                continue
            for line in path.read_text().splitlines():
                if not line.strip():
                    continue
                try:
                    documents.append(json.loads(line))
                except json.JSONDecodeError:
                    continue
        return cls(documents)

    def logs(self) -> list[LogRecord]:
        """Every log record in every document."""
        records = []
        for doc in self.documents:
            for rl in doc.get("resourceLogs", []):
                resource = attributes(rl.get("resource", {}).get("attributes", []))
                for sl in rl.get("scopeLogs", []):
                    scope = sl.get("scope", {}).get("name", "")
                    for rec in sl.get("logRecords", []):
                        records.append(
                            LogRecord(
                                resource=resource,
                                scope=scope,
                                event_name=rec.get("eventName", ""),
                                severity_number=int(rec.get("severityNumber", 0)),
                                severity_text=rec.get("severityText", ""),
                                body=any_value(rec.get("body", {})),
                                attributes=attributes(rec.get("attributes", [])),
                                trace_id=rec.get("traceId", ""),
                                span_id=rec.get("spanId", ""),
                            )
                        )
        return records

    def points(self) -> list[MetricPoint]:
        """Every sum and histogram data point in every document."""
        points = []
        for doc in self.documents:
            for rm in doc.get("resourceMetrics", []):
                resource = attributes(rm.get("resource", {}).get("attributes", []))
                for sm in rm.get("scopeMetrics", []):
                    for metric in sm.get("metrics", []):
                        for kind in ("sum", "histogram", "gauge"):
                            data = metric.get(kind)
                            if data is None:
                                continue
                            for dp in data.get("dataPoints", []):
                                if kind == "histogram":
                                    value, count = float(dp.get("sum", 0.0)), int(dp.get("count", 0))
                                else:
                                    raw = dp.get("asInt", dp.get("asDouble", 0))
                                    value, count = float(raw), 0
                                points.append(
                                    MetricPoint(
                                        resource=resource,
                                        name=metric["name"],
                                        unit=metric.get("unit", ""),
                                        kind=kind,
                                        temporality=int(data.get("aggregationTemporality", 0)),
                                        monotonic=bool(data.get("isMonotonic", False)),
                                        attributes=attributes(dp.get("attributes", [])),
                                        time_unix_nano=int(dp.get("timeUnixNano", 0)),
                                        value=value,
                                        count=count,
                                    )
                                )
        return points

    def latest(self, name: str) -> dict[tuple[tuple[str, Any], ...], MetricPoint]:
        """The newest point of each series (attribute set) of a cumulative metric ``name``."""
        series: dict[tuple[tuple[str, Any], ...], MetricPoint] = {}
        for point in self.points():
            if point.name != name:
                continue
            key = tuple(sorted(point.attributes.items()))
            if key not in series or point.time_unix_nano >= series[key].time_unix_nano:
                series[key] = point
        return series

    def span_count(self) -> int:
        """Number of spans in every document."""
        return sum(
            len(ss.get("spans", []))
            for doc in self.documents
            for rs in doc.get("resourceSpans", [])
            for ss in rs.get("scopeSpans", [])
        )


# --- sending OTLP/gRPC with exact, hand-made contents --------------------------------------------
# The sidecar and gateway tests build requests from the OTLP protobufs directly (not through the
# SDK), so that trace ids, attributes and metric values are exactly what the test says.


def to_any(value: Any) -> Any:
    """A Python value as an OTLP AnyValue protobuf."""
    from opentelemetry.proto.common.v1 import common_pb2

    if isinstance(value, bool):
        return common_pb2.AnyValue(bool_value=value)
    if isinstance(value, int):
        return common_pb2.AnyValue(int_value=value)
    if isinstance(value, float):
        return common_pb2.AnyValue(double_value=value)
    if isinstance(value, Mapping):
        return common_pb2.AnyValue(kvlist_value=common_pb2.KeyValueList(values=to_kvs(value)))
    return common_pb2.AnyValue(string_value=str(value))


def to_kvs(values: Mapping[str, Any]) -> list[Any]:
    """A dict as a list of OTLP KeyValue protobufs."""
    from opentelemetry.proto.common.v1 import common_pb2

    return [common_pb2.KeyValue(key=k, value=to_any(v)) for k, v in values.items()]


def tracker_record(event: str, n: int = 1, value: float | None = None, trace_id: bytes = b"", span_id: bytes = b"", **labels: Any) -> Any:
    """A log record shaped like the ones gyrinx_tracker's track() produces."""
    from opentelemetry.proto.logs.v1 import logs_pb2

    body: dict[str, Any] = {"event": event, "n": n}
    if value is not None:
        body["value"] = value
    body["labels"] = dict(labels)
    attrs = {"gyrinx.event": event, **{f"gyrinx.label.{k}": v for k, v in labels.items()}}
    return logs_pb2.LogRecord(
        time_unix_nano=time.time_ns(),
        observed_time_unix_nano=time.time_ns(),
        severity_number=logs_pb2.SEVERITY_NUMBER_INFO,
        severity_text="INFO",
        event_name=event,
        body=to_any(body),
        attributes=to_kvs(attrs),
        trace_id=trace_id,
        span_id=span_id,
        flags=1 if trace_id else 0,
    )


def send_logs(endpoint: str, records: list[Any], resource: Mapping[str, Any]) -> None:
    """One OTLP/gRPC logs export; raises if the collector refuses it."""
    import grpc
    from opentelemetry.proto.collector.logs.v1 import logs_service_pb2, logs_service_pb2_grpc
    from opentelemetry.proto.common.v1 import common_pb2
    from opentelemetry.proto.logs.v1 import logs_pb2
    from opentelemetry.proto.resource.v1 import resource_pb2

    request = logs_service_pb2.ExportLogsServiceRequest(
        resource_logs=[
            logs_pb2.ResourceLogs(
                resource=resource_pb2.Resource(attributes=to_kvs(resource)),
                scope_logs=[
                    logs_pb2.ScopeLogs(scope=common_pb2.InstrumentationScope(name="gyrinx_tracker"), log_records=records)
                ],
            )
        ]
    )
    with grpc.insecure_channel(endpoint) as channel:
        logs_service_pb2_grpc.LogsServiceStub(channel).Export(request, timeout=10)  # type: ignore[no-untyped-call]


def send_counter(endpoint: str, name: str, points: list[tuple[Mapping[str, Any], int]], resource: Mapping[str, Any]) -> None:
    """One OTLP/gRPC metrics export of a cumulative monotonic int sum, like the app's counters."""
    import grpc
    from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2, metrics_service_pb2_grpc
    from opentelemetry.proto.common.v1 import common_pb2
    from opentelemetry.proto.metrics.v1 import metrics_pb2
    from opentelemetry.proto.resource.v1 import resource_pb2

    now = time.time_ns()
    metric = metrics_pb2.Metric(
        name=name,
        unit="{event}",
        sum=metrics_pb2.Sum(
            aggregation_temporality=metrics_pb2.AGGREGATION_TEMPORALITY_CUMULATIVE,
            is_monotonic=True,
            data_points=[
                metrics_pb2.NumberDataPoint(
                    attributes=to_kvs(attrs), start_time_unix_nano=now - 10**9, time_unix_nano=now, as_int=value
                )
                for attrs, value in points
            ],
        ),
    )
    request = metrics_service_pb2.ExportMetricsServiceRequest(
        resource_metrics=[
            metrics_pb2.ResourceMetrics(
                resource=resource_pb2.Resource(attributes=to_kvs(resource)),
                scope_metrics=[
                    metrics_pb2.ScopeMetrics(scope=common_pb2.InstrumentationScope(name="gyrinx_tracker"), metrics=[metric])
                ],
            )
        ]
    )
    with grpc.insecure_channel(endpoint) as channel:
        metrics_service_pb2_grpc.MetricsServiceStub(channel).Export(request, timeout=10)  # type: ignore[no-untyped-call]


def send_span(endpoint: str, name: str, trace_id: bytes, span_id: bytes, resource: Mapping[str, Any]) -> None:
    """One OTLP/gRPC traces export with a single finished span."""
    import grpc
    from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc
    from opentelemetry.proto.common.v1 import common_pb2
    from opentelemetry.proto.resource.v1 import resource_pb2
    from opentelemetry.proto.trace.v1 import trace_pb2

    now = time.time_ns()
    span = trace_pb2.Span(
        trace_id=trace_id, span_id=span_id, name=name, kind=trace_pb2.Span.SPAN_KIND_SERVER,
        start_time_unix_nano=now - 10**6, end_time_unix_nano=now,
    )
    request = trace_service_pb2.ExportTraceServiceRequest(
        resource_spans=[
            trace_pb2.ResourceSpans(
                resource=resource_pb2.Resource(attributes=to_kvs(resource)),
                scope_spans=[trace_pb2.ScopeSpans(scope=common_pb2.InstrumentationScope(name="app"), spans=[span])],
            )
        ]
    )
    with grpc.insecure_channel(endpoint) as channel:
        trace_service_pb2_grpc.TraceServiceStub(channel).Export(request, timeout=10)  # type: ignore[no-untyped-call]
