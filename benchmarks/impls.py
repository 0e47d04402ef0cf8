"""The implementations under test, each built fresh for a round and torn down after it.

* ``seed_local``: the seed's tracker, ``logger.info(json.dumps(payload))`` to a StreamHandler.
* ``seed_gcp``: the seed's production path, the same call through google-cloud-logging's
  ``StructuredLogHandler`` (Cloud Run structured JSON on a stream).
* ``naive_otel``: OpenTelemetry done naively: per call one ``Logger.emit``, one ``Counter.add``
  and one ``Histogram.record`` (labels as attributes), a ``BatchLogRecordProcessor`` into the
  SDK's ``ConsoleLogRecordExporter`` and the SDK's in-memory metric reader.
* ``ours_*``: ``gyrinx_tracker.track()`` as configured by ``configure()``, with the upstream
  ``CloudLoggingExporter`` plugged in for the reference row ``ours_api_upstream``.

Every output goes to ``/dev/null`` (or, for the API, to the loopback server in its own process),
so what is measured is the work of producing the output, not a terminal or disk.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, TextIO

from opentelemetry.sdk._logs.export import LogRecordExporter

import gyrinx_tracker

from benchmarks.workload import request_calls

PROJECT = "bench-project"
WARM_UP = 1_000
BIG = 1 << 30  # an interval that never elapses during a benchmark

Counts = tuple[int, int, int]  # emitted, exported, dropped (cumulative)


@dataclass
class Env:
    """What implementations share: the null sink and, for API modes, the loopback endpoint."""

    devnull: TextIO = field(default_factory=lambda: open(os.devnull, "w"))  # noqa: SIM115
    endpoint: str | None = None


@dataclass
class Runner:
    """One built implementation: the function to call, how to flush it, and its books."""

    track: Callable[..., None]
    flush: Callable[[], None]
    counts: Callable[[], Counts | None]
    close: Callable[[], None] = lambda: None


@dataclass(frozen=True)
class Spec:
    """One row of the table: how to build it and what it is compared with."""

    key: str
    title: str
    build: Callable[[Env], Runner]
    baseline: str | None = None
    caller_target: float | None = None
    cpu_target: float | None = None
    stdout: bool = False  # its output is sys.stdout, redirected to /dev/null while it runs
    scale: float = 1.0  # fraction of the round's events (for very slow reference rows)
    api: bool = False  # needs the loopback Cloud Logging server
    variant: bool = False  # a variant shown against the targets for information, not the target itself

    @contextlib.contextmanager
    def running(self, env: Env, warm_up: int = WARM_UP) -> Iterator[Runner]:
        """Build, warm up (first export, channels, caches), yield, tear down."""
        with contextlib.redirect_stdout(env.devnull) if self.stdout else contextlib.nullcontext():
            runner = self.build(env)
            try:
                for value, labels in request_calls(warm_up, seed=99):
                    runner.track("warm_up", 1, value, **labels)
                runner.flush()
                yield runner
            finally:
                runner.close()


# -- the seed ------------------------------------------------------------------------------------

def _seed(env: Env, name: str, handler: logging.Handler) -> Runner:
    logger = logging.getLogger(f"bench.{name}")
    logger.handlers[:] = [handler]
    logger.propagate = False
    logger.setLevel(logging.INFO)
    info = logger.info

    def track(event: str, n: int = 1, value: float | None = None, **labels: Any) -> None:
        try:
            info(json.dumps({"event": event, "n": n, "value": value, "labels": labels}))
        except Exception:  # noqa: BLE001 - the seed's promise: never crash the application
            logger.exception("failed to track %s", event)

    # Synchronous: every call is written before it returns, so there are no books to keep.
    return Runner(track, lambda: None, lambda: None)


def seed_local(env: Env) -> Runner:
    return _seed(env, "seed_local", logging.StreamHandler(env.devnull))


def seed_gcp(env: Env) -> Runner:
    from google.cloud.logging.handlers import StructuredLogHandler

    # google-cloud-logging is untyped.
    handler = StructuredLogHandler(stream=env.devnull, project_id=PROJECT)  # type: ignore[no-untyped-call]
    return _seed(env, "seed_gcp", handler)


# -- naive OpenTelemetry -------------------------------------------------------------------------

def naive_otel(env: Env, max_queue: int = BIG) -> Runner:
    """The straightforward SDK set-up; ``max_queue`` defaults to no drops (the full cost is paid)."""
    from opentelemetry._logs import LogRecord, SeverityNumber
    from opentelemetry.sdk._logs import LoggerProvider
    from opentelemetry.sdk._logs.export import BatchLogRecordProcessor, ConsoleLogRecordExporter
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.resources import Resource

    # The processor warns once per dropped record when its queue is full; that is not the cost
    # being compared (drops are counted below instead).
    logging.getLogger("opentelemetry.sdk._shared_internal").setLevel(logging.CRITICAL)
    exporter = _CountingExporter(ConsoleLogRecordExporter(out=env.devnull))
    resource = Resource.create()
    logs = LoggerProvider(resource=resource, shutdown_on_exit=False)
    logs.add_log_record_processor(BatchLogRecordProcessor(exporter, max_queue_size=max_queue))
    meters = MeterProvider(metric_readers=[metric_reader(env)], resource=resource, shutdown_on_exit=False)
    logger = logs.get_logger("naive")
    meter = meters.get_meter("naive")
    instruments: dict[str, tuple[Any, Any]] = {}
    calls = [0]
    info = SeverityNumber.INFO

    def track(event: str, n: int = 1, value: float | None = None, **labels: Any) -> None:
        calls[0] += 1
        pair = instruments.get(event)
        if pair is None:
            pair = instruments[event] = (meter.create_counter(f"tracker.{event}"),
                                         meter.create_histogram(f"tracker.{event}.value"))
        logger.emit(LogRecord(timestamp=time.time_ns(), severity_number=info, severity_text="INFO",
                              body={"event": event, "n": n, "value": value, "labels": labels},
                              attributes=labels, event_name=event))
        pair[0].add(n, labels)
        if value is not None:
            pair[1].record(value, labels)

    def flush() -> None:
        logs.force_flush(60_000)
        meters.force_flush(60_000)

    def close() -> None:
        logs.shutdown()
        meters.shutdown()

    return Runner(track, flush, lambda: (calls[0], exporter.exported, calls[0] - exporter.exported), close)


class _CountingExporter(LogRecordExporter):
    """Counts what reaches the exporter: the naive pipeline has no books of its own."""

    def __init__(self, inner: LogRecordExporter) -> None:
        self._inner = inner
        self.exported = 0

    def export(self, batch: Sequence[Any]) -> Any:
        self.exported += len(batch)
        return self._inner.export(batch)

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return True

    def shutdown(self) -> None:
        self._inner.shutdown()  # type: ignore[no-untyped-call]  # the SDK leaves it unannotated


# -- ours ----------------------------------------------------------------------------------------

def _ours(**options: Any) -> Runner:
    gyrinx_tracker.configure(global_providers="never", handle_sigterm=False, **options)

    def flush() -> None:
        if not gyrinx_tracker.flush(120.0):
            raise RuntimeError("gyrinx_tracker.flush timed out")

    def counts() -> Counts:
        stats = gyrinx_tracker.stats()
        return stats["emitted"], stats["exported"], stats["dropped"]

    # No shutdown on close: the next configure() flushes and shuts this pipeline down.
    return Runner(gyrinx_tracker.track, flush, counts)


def events_logger_to(stream: TextIO) -> None:
    """Local mode's lines go through the ``gyrinx.tracker`` logger: send them to ``stream``."""
    logger = logging.getLogger("gyrinx.tracker")
    logger.handlers[:] = [logging.StreamHandler(stream)]
    logger.propagate = False
    logger.setLevel(logging.INFO)


def ours_local(env: Env, **options: Any) -> Runner:
    events_logger_to(env.devnull)
    return _ours(exporter="console", **options)


def metric_reader(env: Env) -> Any:
    """The reader of the metrics variants: the SDK's in-memory reader, collected on every flush.

    Not a console exporter: its pretty-printed JSON would make the comparison about formatting;
    collection (aggregation state → data points) is the part every real exporter pays.
    """
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader

    return InMemoryMetricReader()


def ours_local_metrics(env: Env, **options: Any) -> Runner:
    return ours_local(env, metric_reader=metric_reader(env), **options)


def ours_stdout(env: Env, **options: Any) -> Runner:
    return _ours(exporter="gcp", gcp_transport="stdout", project_id=PROJECT, **options)


def ours_api(env: Env, **options: Any) -> Runner:
    return _ours(exporter="gcp", gcp_transport="api", project_id=PROJECT,
                 cloud_logging_endpoint=env.endpoint, **options)


def ours_api_upstream(env: Env, **options: Any) -> Runner:
    """Our pipeline with the upstream ``CloudLoggingExporter`` doing the conversion and the write."""
    import grpc
    from google.cloud.logging_v2.services.logging_service_v2 import LoggingServiceV2Client
    from google.cloud.logging_v2.services.logging_service_v2.transports.grpc import (
        LoggingServiceV2GrpcTransport,
    )

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from opentelemetry.exporter.cloud_logging import CloudLoggingExporter

        channel = grpc.insecure_channel(env.endpoint or "")
        client = LoggingServiceV2Client(transport=LoggingServiceV2GrpcTransport(channel=channel))
        exporter = CloudLoggingExporter(project_id=PROJECT, default_log_name="tracker", client=client)
    runner = _ours(exporter="console", log_exporter=exporter, **options)
    runner.close = channel.close
    return runner


SPECS: tuple[Spec, ...] = (
    Spec("seed_local", "seed: json.dumps + logger.info (StreamHandler)", seed_local),
    Spec("naive_otel", "naive OTel: emit + add + record per call, console", naive_otel,
         baseline="seed_local"),
    Spec("ours_local", "ours, local (default: no metric reader)", ours_local,
         baseline="seed_local", caller_target=0.25, cpu_target=1.0),
    Spec("ours_local_metrics", "ours, local + metric reader", ours_local_metrics,
         baseline="seed_local", caller_target=0.25, cpu_target=1.0, variant=True),
    Spec("seed_gcp", "seed prod: same JSON via StructuredLogHandler", seed_gcp),
    Spec("ours_stdout", "ours, gcp stdout", ours_stdout, baseline="seed_gcp", cpu_target=1.0,
         stdout=True),
    Spec("ours_api", "ours, gcp api (loopback server)", ours_api, baseline="seed_gcp",
         cpu_target=1.0, api=True),
    Spec("ours_api_upstream", "ours + upstream CloudLoggingExporter (reference)", ours_api_upstream,
         baseline="seed_gcp", scale=0.1, api=True),
)

BY_KEY = {spec.key: spec for spec in SPECS}
