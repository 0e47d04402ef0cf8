"""Where the time goes: each stage of the pipeline timed alone, on the package's own functions.

The exporter thread does, per event: validate (``Sanitizer.event``), build the body and the
attributes (``_emit.body_of``/``attributes_of``), build an API ``LogRecord`` (``make_record``),
hand it to the SDK (``Logger.emit``: a ``ReadWriteLogRecord`` with ``BoundedAttributes``, then our
``Collector``), record metrics (``Metrics.record``, when a reader exists), and export (encode, then
the logging handler, the stream or the gRPC write). Each stage is timed here over the same events,
single-threaded, median of a few repetitions, in CPU µs per event. These use private modules of the
package on purpose; if a refactor moves them, the section reports what it could not find instead
of failing the benchmark.

For the Cloud Logging API the section also compares three conversions of the same records into
``LogEntry`` messages: the upstream exporter's, the package's, and a candidate that writes the
entry's wire bytes directly (``benchmarks/gcp_fast.py``), checked to produce identical entries.
"""

from __future__ import annotations

import logging
import time
import warnings
from collections.abc import Callable
from typing import Any

import gyrinx_tracker

from benchmarks.impls import BIG, BY_KEY, PROJECT, Env, events_logger_to
from benchmarks.workload import EVENT, Call

BATCH = 512
WHOLE = ("ours_local", "ours_local_metrics", "ours_stdout", "ours_api")
Stage = tuple[str, str, float, str]  # id, name, µs per event, code


def timed(action: Callable[[], object], count: int, reps: int) -> float:
    """Best CPU µs per event of ``action`` (which processes ``count`` events) over ``reps`` runs.

    Process CPU, not wall time: on a loaded machine wall time counts other programs' turns, and
    process CPU includes gRPC's own threads for the API rows. Nothing else of ours is busy here.
    The minimum, as ``timeit`` advises: interference only ever adds time.
    """
    samples = []
    for _ in range(reps):
        started = time.process_time()
        action()
        samples.append((time.process_time() - started) / count * 1e6)
    return min(samples)


def batches(items: list[Any]) -> list[list[Any]]:
    return [items[i:i + BATCH] for i in range(0, len(items), BATCH)]


def per_batch(items: list[Any], action: Callable[..., object], star: bool = True) -> None:
    """``action`` on every item, a batch at a time, dropping each batch's results as the worker does
    (holding all of them would make the garbage collector's work grow with the sample)."""
    for batch in batches(items):
        if star:
            [action(*item) for item in batch]
        else:
            [action(item) for item in batch]


def caller_only(env: Env, calls: list[Call]) -> float:
    """``track()`` alone: the worker is told not to wake while the loop runs (no GIL contention)."""
    events_logger_to(env.devnull)
    gyrinx_tracker.configure(exporter="console", global_providers="never", handle_sigterm=False,
                             batch_size=BIG, flush_interval=3600.0, max_queue=BIG)
    track = gyrinx_tracker.track
    track("warm_up")

    def loop() -> None:
        for value, labels in calls:
            track(EVENT, 1, value, **labels)

    best = []
    for _ in range(3):
        best.append(timed(loop, len(calls), 1))
        gyrinx_tracker.flush(120)
    return min(best)


def whole_call(env: Env, key: str, calls: list[Call], reps: int) -> float:
    """An implementation's whole cost per call (loop and flush), timed like the stages, so the
    stage sums can be compared with it and with the seed under the same conditions."""
    with BY_KEY[key].running(env, warm_up=100) as runner:
        track, flush = runner.track, runner.flush

        def loop() -> None:
            for value, labels in calls:
                track(EVENT, 1, value, **labels)
            flush()

        return timed(loop, len(calls), reps)


def profile(env: Env, calls: list[Call], reps: int = 5) -> dict[str, Any]:
    """All stages; a stage that cannot be reached is reported with the error instead."""
    stages: list[Stage] = []
    notes: list[str] = []

    def stage(sid: str, name: str, note: str, action: Callable[[], float]) -> None:
        try:
            stages.append((sid, name, action(), note))
        except Exception as error:  # noqa: BLE001 - a moved private name must not stop the bench
            notes.append(f"{name}: unavailable ({type(error).__name__}: {error})")

    for key in ("seed_local", "seed_gcp", *WHOLE):
        if not BY_KEY[key].api or env.endpoint:
            stage(key, f"for scale: whole call of `{key}` (with its flush)", "benchmarks/impls.py",
                  lambda: whole_call(env, key, calls, reps))
    stage("submit", "track() on the caller's thread, worker idle", "_pipeline.Pipeline.submit",
          lambda: caller_only(env, calls))
    try:
        worker_stages(env, calls, reps, stage, notes)
    except Exception as error:  # noqa: BLE001
        notes.append(f"worker stages unavailable ({type(error).__name__}: {error})")
    return {"stages": stages, "notes": notes}


def worker_stages(env: Env, calls: list[Call], reps: int, stage: Callable[..., None],
                  notes: list[str]) -> None:
    from opentelemetry.context import get_current
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.resources import Resource

    from gyrinx_tracker._config import TrackerConfig
    from gyrinx_tracker._emit import attributes_of, body_of
    from gyrinx_tracker._metrics import Metrics
    from gyrinx_tracker._otel_logs import Collector, make_record, private_logger_provider
    from gyrinx_tracker._sanitize import Sanitizer
    from gyrinx_tracker._stats import Stats

    config = TrackerConfig(exporter="console")
    n = len(calls)
    now = time.time_ns()
    context = get_current()
    sanitizer = Sanitizer(config)
    events = [sanitizer.event(EVENT, 1, value, dict(labels)) for value, labels in calls]
    stage("validate", "validate (Sanitizer.event)", "_sanitize.Sanitizer.event",
          lambda: timed(lambda: per_batch(calls, lambda v, l: sanitizer.event(EVENT, 1, v, dict(l))), n, reps)
          - timed(lambda: per_batch(calls, lambda v, l: dict(l)), n, reps))
    stage("body", "body dict", "_emit.body_of",
          lambda: timed(lambda: per_batch(events, body_of, star=False), n, reps))
    bodies = [body_of(e) for e in events]
    stage("record", "API LogRecord (make_record), no attributes", "_otel_logs.make_record",
          lambda: timed(lambda: per_batch(bodies, lambda b: make_record(now, context, b, None, EVENT),
                                          star=False), n, reps))
    collector = Collector()
    provider = private_logger_provider(Resource.create(), collector)
    logger = provider.get_logger("bench")
    api_records = [make_record(now, context, b, None, EVENT) for b in bodies]

    def emit_all(records: list[Any]) -> None:
        for batch in batches(records):
            for record in batch:
                logger.emit(record)
            collector.take()

    stage("emit", "SDK Logger.emit (+ Collector), no attributes", "opentelemetry.sdk._logs Logger.emit",
          lambda: timed(lambda: emit_all(api_records), n, reps))
    # Local JSON and Cloud Logging read only the body, so the package leaves attributes out there
    # (``Emitter(with_attributes=False)``); OTLP and an application's provider get them.
    stage("attributes", "OTLP/app provider only: + attributes dict", "_emit.attributes_of",
          lambda: timed(lambda: per_batch(events, attributes_of, star=False), n, reps))
    with_attributes = [make_record(now, context, body_of(e), attributes_of(e), EVENT) for e in events]
    stage("emit_attributes", "OTLP/app provider only: Logger.emit with attributes",
          "opentelemetry.sdk._logs Logger.emit",
          lambda: timed(lambda: emit_all(with_attributes), n, reps))
    for record in api_records:
        logger.emit(record)
    records = collector.take()

    meters = MeterProvider(metric_readers=[InMemoryMetricReader()], shutdown_on_exit=False)
    metrics = Metrics(meters.get_meter("bench"), config, Stats())
    stage("metrics", "metrics (Metrics.record, per batch)", "_metrics.Metrics.record (only with a reader)",
          lambda: timed(lambda: per_batch(batches(events), metrics.record, star=False), n, reps))
    routes = metrics._for(EVENT)
    assert routes is not None
    stage("metrics.routing", "  of which label routing (_EventMetrics.key)", "_metrics._EventMetrics.key",
          lambda: timed(lambda: per_batch(events, lambda e: routes.key(e.labels), star=False), n, reps))
    histogram = meters.get_meter("bench").create_histogram("bench.h")
    attributes = [{"endpoint": l["endpoint"], "method": l["method"], "status": l["status"]}
                  for _, l in calls]
    stage("metrics.histogram", "  of which Histogram.record per event",
          "opentelemetry.sdk.metrics Histogram.record",
          lambda: timed(lambda: per_batch(list(zip(calls, attributes)),
                                          lambda call, a: histogram.record(call[0], a)), n, reps))
    meters.shutdown()

    export_stages(env, records, reps, stage, notes)


def export_stages(env: Env, records: list[Any], reps: int, stage: Callable[..., None],
                  notes: list[str]) -> None:
    from gyrinx_tracker._gcp_stdout import CloudRunStdoutExporter
    from gyrinx_tracker._local import LocalJsonExporter, local_line

    n = len(records)
    events_logger_to(env.devnull)
    local = LocalJsonExporter()
    stage("local.encode", "local: encode JSON line", "_local.local_line",
          lambda: timed(lambda: per_batch(records, local_line, star=False), n, reps))
    stage("local", "local: encode + logging handler", "_local.LocalJsonExporter.export",
          lambda: timed(lambda: [local.export(b) for b in batches(records)], n, reps))
    stdout = CloudRunStdoutExporter(PROJECT, stream=env.devnull)
    stage("stdout.encode", "stdout: encode JSON line", "_gcp_stdout.CloudRunStdoutExporter.line",
          lambda: timed(lambda: per_batch(records, stdout.line, star=False), n, reps))
    stage("stdout", "stdout: encode + write", "_gcp_stdout.CloudRunStdoutExporter.export",
          lambda: timed(lambda: [stdout.export(b) for b in batches(records)], n, reps))
    if env.endpoint:
        api_stages(env.endpoint, records, reps, stage, notes)


def api_stages(endpoint: str, records: list[Any], reps: int, stage: Callable[..., None],
               notes: list[str]) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from opentelemetry.exporter.cloud_logging import CloudLoggingExporter

        from gyrinx_tracker import _gcp_api
        from gyrinx_tracker._gcp_env import GcpEnvironment

        client = _gcp_api.make_client(endpoint)
        ours = _gcp_api.TrackerCloudLoggingExporter(
            GcpEnvironment(PROJECT, "global", {"project_id": PROJECT}), "tracker", client, 10.0)
        upstream = CloudLoggingExporter(project_id=PROJECT, default_log_name="tracker", client=client)
    from benchmarks.gcp_fast import EntryEncoder, fill_request

    n = len(records)
    few = records[: max(1, n // 10)]
    setattr(upstream, "_write_log_entries", lambda entries: None)  # conversion only
    stage("api.upstream_conversion", "api: upstream CloudLoggingExporter conversion",
          "opentelemetry.exporter.cloud_logging export",
          lambda: timed(lambda: upstream.export(few), len(few), reps))
    stage("api", "api: conversion + gRPC write (package)", "_gcp_api.TrackerCloudLoggingExporter.export",
          lambda: timed(lambda: [ours.export(b) for b in batches(records)], n, reps))
    send = ours._send
    setattr(ours, "_send", lambda request: None)
    stage("api.conversion", "api: conversion only (package)",
          "_gcp_api.TrackerCloudLoggingExporter._fill + ByteSize",
          lambda: timed(lambda: [ours.export(b) for b in batches(records)], n, reps))
    encoder = EntryEncoder()

    def candidate(send_too: bool) -> None:
        for batch in batches(records):
            request = ours._new_request()
            fill_request(request, encoder, batch, PROJECT)
            if send_too:
                send(request)

    stage("api.candidate_conversion", "api: conversion only (candidate: cached wire bytes)",
          "benchmarks/gcp_fast.py",
          lambda: timed(lambda: candidate(False), n, reps))
    stage("api.candidate", "api: conversion + gRPC write (candidate)",
          "benchmarks/gcp_fast.py + package _send",
          lambda: timed(lambda: candidate(True), n, reps))
    notes.append(candidate_check(ours, records))
    setattr(ours, "_send", send)
    client.transport.close()  # type: ignore[no-untyped-call]  # the GAPIC transport is untyped


def candidate_check(ours: Any, records: list[Any]) -> str:
    """The candidate's entries, serialised deterministically, against the package's."""
    from benchmarks.gcp_fast import EntryEncoder, fill_request

    tricky = tricky_records()
    sample = records[:200] + tricky
    expected = ours._new_request()
    for record in sample:
        ours._fill(expected.entries.add(), record)
    got = ours._new_request()
    fill_request(got, EntryEncoder(), sample, PROJECT)
    same = sum(a.SerializeToString(deterministic=True) == b.SerializeToString(deterministic=True)
               for a, b in zip(expected.entries, got.entries))
    total = len(sample)
    verdict = "identical" if same == total and len(got.entries) == total else "DIFFERENT"
    return (f"candidate check: {same}/{total} entries byte-identical to the package's "
            f"({len(tricky)} of them edge cases: unicode, nesting, lists, bools, None, "
            f"negative/large numbers, trace ids): {verdict}")


def tricky_records() -> list[Any]:
    from opentelemetry.context import get_current
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags, set_span_in_context

    from gyrinx_tracker._otel_logs import Collector, make_record, private_logger_provider

    collector = Collector()
    logger = private_logger_provider(Resource.create(), collector).get_logger("check")
    span = SpanContext(0x0123456789ABCDEF0123456789ABCDEF, 0x0123456789ABCDEF, False,
                       TraceFlags(TraceFlags.SAMPLED))
    traced = set_span_in_context(NonRecordingSpan(span))
    bodies: list[dict[str, Any]] = [
        {"event": "e", "n": 1, "labels": {}},
        {"event": "é✓", "n": 3, "value": -0.5, "labels": {"ключ": "значение ✓", "emoji": "🦎"}},
        {"event": "e", "n": 1, "value": 1e300, "labels": {"big": 2**53, "neg": -7, "t": True,
                                                         "f": False, "none": None}},
        {"event": "e", "n": 1, "labels": {"nested": {"a": [1, "x", None, {"b": [True]}]},
                                          "empty": {}, "list": [], "s": "x" * 300}},
    ]
    for index, body in enumerate(bodies):
        logger.emit(make_record(1_700_000_000_123_456_789 + index, traced if index % 2 else get_current(),
                                body, {}, "e"))
    return collector.take()


def quiet_grpc_logs() -> None:
    logging.getLogger("grpc").setLevel(logging.ERROR)
