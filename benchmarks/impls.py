"""The implementations, as one table: how each is built, its baseline, and where its output lands,
so that delivery is counted there rather than taken from the implementation's word.

Line outputs write to a real file (on tmpfs where there is one) whose lines are counted; the API and
OTLP modes send to the counting receivers; the local metric lines are read back from the file.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import gyrinx_tracker
from benchmarks import floors
from benchmarks.receivers import Endpoints, counts
from benchmarks.workload import EVENT, request_calls

PROJECT = "bench-project"
BIG = 1 << 30  # a queue that never fills: the implementation pays for every record
COUNTER, HISTOGRAM = f"tracker.{EVENT}", f"tracker.{EVENT}.value"
Delivery = tuple[int, float | None, float | None]  # log lines or records, counter total, histogram count
Books = tuple[int, int, int]  # our stats(): emitted, exported, dropped


def _metric_lines(text: str) -> Iterator[str]:
    """The lines starting ``{"metric":``, found with ``str.find``: no Python-level step per event line,
    whose cost callgrind would bill to the implementation being measured."""
    marker, start = '{"metric":', 0
    while (start := text.find(marker, start)) >= 0:
        end = text.find("\n", start)
        end = len(text) if end < 0 else end
        if start == 0 or text[start - 1] == "\n":
            yield text[start:end]
        start = end


class Sink:
    """The file the line outputs write to."""

    def __init__(self) -> None:
        handle, self.path = tempfile.mkstemp(dir="/dev/shm" if os.path.isdir("/dev/shm") else None)
        self.file = open(handle, "w")  # noqa: SIM115 - closed by close()

    def lines(self) -> int:
        """Event lines: the local metric lines (``{"metric": ...}``) share the file and are not counted."""
        self.file.flush()
        with open(self.path, "rb") as written:
            text = written.read()
        return text.count(b"\n") - text.count(b'{"metric":')

    def metric_totals(self) -> tuple[float, float]:
        """The counter total and histogram count of the local metric lines (the latest line per series)."""
        self.file.flush()
        latest: dict[tuple[str, str], dict[str, Any]] = {}
        with open(self.path, encoding="utf-8") as written:
            text = written.read()
        for line in _metric_lines(text):
            point = json.loads(line)
            latest[(point["metric"], json.dumps(point["attributes"], sort_keys=True))] = point
        counter = sum(p["value"] for (name, _), p in latest.items() if name == COUNTER)
        histogram = sum(p["count"] for (name, _), p in latest.items() if name == HISTOGRAM)
        return float(counter), float(histogram)

    def reset(self) -> None:
        self.file.flush()
        self.file.seek(0)
        self.file.truncate()

    def close(self) -> None:
        self.file.close()
        os.unlink(self.path)


@dataclass
class Env:
    """What builders share; load runs shrink the queues through ``ours`` and ``sdk_queue``."""

    sink: Sink
    endpoints: Endpoints | None = None
    ours: dict[str, Any] = field(default_factory=dict)
    sdk_queue: int = BIG

    def receiver(self) -> Endpoints:
        assert self.endpoints is not None, "this implementation needs benchmarks/receivers.py"
        return self.endpoints


@dataclass
class Runner:
    track: Callable[..., None]
    flush: Callable[[], None]
    delivered: Callable[[], Delivery]
    books: Callable[[], Books | None] = lambda: None
    close: Callable[[], None] = lambda: None


@dataclass(frozen=True)
class Impl:
    key: str
    build: Callable[[Env], Runner]
    about: str
    baseline: str | None = None
    stdout: bool = False  # writes to sys.stdout, pointed at the sink while it runs


@contextlib.contextmanager
def running(impl: Impl, env: Env, warm_up: int = 1_000) -> Iterator[Runner]:
    """Build, warm up (first export, channels, caches) with another event, yield, tear down."""
    with contextlib.redirect_stdout(env.sink.file) if impl.stdout else contextlib.nullcontext():
        env.sink.reset()
        runner = impl.build(env)
        try:
            for value, labels in request_calls(warm_up, seed=99):
                runner.track("warm_up", 1, value, **labels)
            runner.flush()
            yield runner
        finally:
            runner.close()


def _received(env: Env, where: str) -> Callable[[], Delivery]:
    """Delivery counted in the sink file (``lines``) or at a receiver (``entries``, ``logs``); metrics
    from the local metric lines, or at the OTLP receiver for the modes that send them there (None:
    the mode records no metrics)."""
    def delivered() -> Delivery:
        if where == "lines":
            return env.sink.lines(), None, None
        if where == "lines+metric lines":
            return (env.sink.lines(), *env.sink.metric_totals())
        got = counts(env.receiver())
        if where == "logs only":
            return got["logs"], None, None
        metrics = got["metrics"].get(COUNTER, 0.0), got["metrics"].get(HISTOGRAM, 0.0)
        if where == "lines+otlp metrics":
            return (env.sink.lines(), *metrics)
        if where == "entries":
            return got["entries"], None, None
        if where == "entries+otlp metrics":
            return (got["entries"], *metrics)
        return (got["logs"], *metrics)
    return delivered


def _to_sink(logger: logging.Logger, handler: logging.Handler) -> logging.Logger:
    logger.handlers[:], logger.propagate = [handler], False
    logger.setLevel(logging.INFO)
    return logger


def seed_track(logger: logging.Logger) -> Callable[..., None]:
    """The original tracker's ``track()``: ``logger.info(json.dumps(payload))``, errors logged."""
    info = logger.info

    def track(event: str, n: int = 1, value: float | None = None, **labels: Any) -> None:
        try:
            info(json.dumps({"event": event, "n": n, "value": value, "labels": labels}))
        except Exception:
            logger.exception("failed to track %s", event)

    return track


def _seed(env: Env, handler: logging.Handler) -> Runner:
    logger = _to_sink(logging.getLogger(f"bench.seed.{type(handler).__name__}"), handler)
    return Runner(seed_track(logger), lambda: None, _received(env, "lines"))  # synchronous: nothing to flush


def seed_gcp(env: Env) -> Runner:
    from google.cloud.logging.handlers import StructuredLogHandler

    return _seed(env, StructuredLogHandler(stream=env.sink.file, project_id=PROJECT))  # type: ignore[no-untyped-call]


def sdk_providers(endpoint: str, max_queue: int) -> tuple[Any, Any]:
    """Logger and meter providers exporting over OTLP gRPC, as the SDK's documentation sets them up."""
    from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter
    from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter
    from opentelemetry.sdk._logs import LoggerProvider
    from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader

    # The processor warns per record it drops; drops are counted at the receiver instead.
    logging.getLogger("opentelemetry.sdk._shared_internal").setLevel(logging.CRITICAL)
    logs = LoggerProvider(shutdown_on_exit=False)
    processor = BatchLogRecordProcessor(OTLPLogExporter(endpoint=endpoint, insecure=True), max_queue_size=max_queue)
    logs.add_log_record_processor(processor)
    reader = PeriodicExportingMetricReader(OTLPMetricExporter(endpoint=endpoint, insecure=True))
    return logs, MeterProvider(metric_readers=[reader], shutdown_on_exit=False)


def sdk_otlp(env: Env) -> Runner:
    from opentelemetry._logs import LogRecord, SeverityNumber

    logs, meters = sdk_providers(env.receiver()["otlp"], env.sdk_queue)
    logger, meter = logs.get_logger("bench"), meters.get_meter("bench")
    instruments: dict[str, tuple[Any, Any]] = {}

    def track(event: str, n: int = 1, value: float | None = None, **labels: Any) -> None:
        if event not in instruments:
            instruments[event] = (meter.create_counter(f"tracker.{event}"),
                                  meter.create_histogram(f"tracker.{event}.value"))
        counter, histogram = instruments[event]
        logger.emit(LogRecord(timestamp=time.time_ns(), severity_number=SeverityNumber.INFO, severity_text="INFO",
                              body={"event": event, "n": n, "value": value, "labels": labels},
                              attributes=labels, event_name=event))
        counter.add(n, labels)
        if value is not None:
            histogram.record(value, labels)

    def close() -> None:
        logs.shutdown()
        meters.shutdown()

    def flush() -> None:
        logs.force_flush(60_000)
        meters.force_flush(60_000)

    return Runner(track, flush, _received(env, "logs"), close=close)


def _ours(env: Env, delivered: Callable[[], Delivery], **options: Any) -> Runner:
    gyrinx_tracker.configure(**{"global_providers": "never", "handle_sigterm": False, **options, **env.ours})

    def flush() -> None:
        if not gyrinx_tracker.flush(120.0):
            raise RuntimeError("gyrinx_tracker.flush timed out")

    def books() -> Books:
        stats = gyrinx_tracker.stats()
        return stats["emitted"], stats["exported"], stats["dropped"]

    # No shutdown on close: the next configure() flushes and shuts this pipeline down.
    return Runner(gyrinx_tracker.track, flush, delivered, books)


def ours_local(env: Env, metrics: bool = True) -> Runner:
    """The default: event lines and, every interval and at each flush, one metric line per series
    through ``gyrinx.tracker.metrics`` (a child of ``gyrinx.tracker``: the same handler)."""
    _to_sink(logging.getLogger("gyrinx.tracker"), logging.StreamHandler(env.sink.file))  # as an app's config would
    return _ours(env, _received(env, "lines+metric lines" if metrics else "lines"), exporter="console",
                 local_metrics=metrics)


def ours_gcp(env: Env, transport: str, metrics: bool = True) -> Runner:
    """Metrics on: exported as to Cloud Monitoring, to the OTLP receiver standing in for the Telemetry API."""
    endpoint = env.receiver()["api"] if transport == "api" else None
    where = ("lines" if endpoint is None else "entries") + ("+otlp metrics" if metrics else "")
    # host:port of the OTLP receiver, as the variable takes it
    monitoring = {"cloud_monitoring_endpoint": env.receiver()["otlp"].removeprefix("http://")} if metrics else {}
    return _ours(env, _received(env, where), exporter="gcp", gcp_transport=transport, project_id=PROJECT,
                 cloud_logging_endpoint=endpoint, gcp_metrics=metrics, **monitoring)


def ours_otlp(env: Env) -> Runner:
    os.environ.update(OTEL_EXPORTER_OTLP_ENDPOINT=env.receiver()["otlp"], OTEL_EXPORTER_OTLP_INSECURE="true")
    return _ours(env, _received(env, "logs"), exporter="otlp")


def floor_deque(env: Env) -> Runner:
    """Received: the calls the deque held at each flush (there is nowhere else for them to land)."""
    floor = floors.DequeFloor()
    return Runner(floor.track_function(), floor.flush, lambda: (floor.held, None, None))


def _floor(env: Env, write: floors.Write, stamped: bool, where: str, close: Callable[[], None] = lambda: None) -> Runner:
    floor = floors.BatchFloor(write, stamped)

    def closing() -> None:
        floor.close()
        close()

    return Runner(floor.track_function(), floor.flush, _received(env, where), close=closing)


def floor_otlp(env: Env) -> Runner:
    requests = floors.OtlpRequests(env.receiver()["otlp"].removeprefix("http://"))
    return _floor(env, requests, True, "logs only", requests.close)


_app: list[Any] = []


def ours_app(env: Env) -> Runner:
    """The app installs global SDK providers once per process, as an app does; we emit into them."""
    if not _app:
        from opentelemetry._logs import set_logger_provider
        from opentelemetry.metrics import set_meter_provider

        _app.extend(sdk_providers(env.receiver()["otlp"], env.sdk_queue))
        set_logger_provider(_app[0])
        set_meter_provider(_app[1])
    return _ours(env, _received(env, "logs"), exporter="auto", global_providers="auto")


def shutdown_app_providers() -> None:
    """Stop our pipeline, then the app's providers (before the receivers go away)."""
    gyrinx_tracker.shutdown()
    for provider in _app:
        provider.shutdown()


IMPLS: tuple[Impl, ...] = (
    Impl("seed_local", lambda env: _seed(env, logging.StreamHandler(env.sink.file)),
         "the original tracker: `logger.info(json.dumps(payload))` into a `StreamHandler`"),
    Impl("seed_gcp", seed_gcp, "the original tracker in production: the same call through google-cloud-logging's "
         "`StructuredLogHandler`"),
    Impl("sdk_otlp", sdk_otlp, "hand-written SDK set-up: per call `Logger.emit`, `Counter.add`, `Histogram.record` "
         "(labels as attributes); `BatchLogRecordProcessor`, `PeriodicExportingMetricReader`, OTLP gRPC", "seed_local"),
    Impl("ours_local", lambda env: ours_local(env, metrics=False), "`exporter=\"console\"`, lines through the "
         "`gyrinx.tracker` logger; `local_metrics=False` (logs only, as the previous release)", "seed_local"),
    Impl("ours_local_metrics", ours_local, "local as shipped: event lines plus the local metric lines "
         "(`gyrinx.tracker.metrics`), counters read back from those lines", "seed_local"),
    Impl("ours_stdout", lambda env: ours_gcp(env, "stdout", metrics=False), "`exporter=\"gcp\", "
         "gcp_transport=\"stdout\"`; `gcp_metrics=False`", "seed_gcp", stdout=True),
    Impl("ours_stdout_metrics", lambda env: ours_gcp(env, "stdout"), "stdout as shipped: metrics to Cloud Monitoring "
         "(the OTLP receiver stands in for the Telemetry API)", "seed_gcp", stdout=True),
    Impl("ours_api", lambda env: ours_gcp(env, "api", metrics=False), "`gcp_transport=\"api\"`, `WriteLogEntries` to "
         "the loopback server; `gcp_metrics=False`", "seed_gcp"),
    Impl("ours_api_metrics", lambda env: ours_gcp(env, "api"), "api as shipped: metrics to Cloud Monitoring (the OTLP "
         "receiver stands in)", "seed_gcp"),
    Impl("ours_otlp", ours_otlp, "`exporter=\"otlp\"`: logs, counter and histogram over OTLP gRPC", "seed_local"),
    Impl("ours_app", ours_app, "`exporter=\"auto\"` into the app's global SDK providers (set up as `sdk_otlp`'s)",
         "seed_local"),
    # The floors (benchmarks/floors.py, issue 27): what each mode would cost with nothing but its output's work.
    Impl("floor_deque", floor_deque, "floor of the calling thread: `dq.append((event, n, value, labels))` and "
         "nothing else; the deque is emptied (and counted) at flush, never written anywhere", "seed_local"),
    Impl("floor_local", lambda env: _floor(env, floors.local_lines(env.sink.file), False, "lines"), "floor of the "
         "local output: the caller appends `(event, n, value, labels)` to a deque (and waits while it holds over "
         "20,000, the tracker's default bound); a thread wakes every 5 ms, "
         "takes batches of 512, `json.dumps` of the original payload per event, one write and flush per batch to "
         "the sink file. No time or call site captured, no logging handler, no metric lines, no books, no "
         "validation, redaction or size limits", "seed_local"),
    Impl("floor_stdout", lambda env: _floor(env, floors.CloudRunLines(env.sink.file, PROJECT), True, "lines"),
         "floor of Cloud Run stdout: the caller appends `(time_ns(), the OpenTelemetry context, event, n, value, "
         "labels)`; the thread writes Cloud Run structured lines (`severity`, `time` with its head cached per "
         "second, the trace fields when the context has a valid span, the payload's keys) as compact JSON through "
         "the public encoder, batches of 512, one write and flush per batch to the sink file. No metrics, no "
         "books, no `fit()` to the entry limits, no PIPE_BUF packing or line lock, no validation or redaction",
         "seed_local"),
    Impl("floor_otlp", floor_otlp, "floor of OTLP: stamped calls as `floor_stdout`; per batch of 512 an "
         "`ExportLogsServiceRequest` written by hand from bytes cached per (event, labels) (the body's event and "
         "labels pairs, the `gyrinx.event`/`gyrinx.label.*` attributes, the event name; per event only time, n "
         "and value encoded), one raw unary gRPC call of the bytes to the loopback receiver, which counts the "
         "records. Logs only: no counter or histogram; no books, attribute limits, request splitting, retries "
         "or concurrency", "seed_local"),
)
BY_KEY = {impl.key: impl for impl in IMPLS}
