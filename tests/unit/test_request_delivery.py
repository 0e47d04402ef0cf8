"""The integrations in process: when a request's events leave, whose trace they carry, the helpers.

The real servers are in tests/process/test_integrations.py; here the WSGI and ASGI middlewares are
driven directly, so the moment each event is exported can be checked against the moment the server
would send the final body chunk. The background thread's interval is set to a minute, so only
request-scoped delivery can have exported anything. Django's own ASGI app and async client, with
the test project, are tests/integration/test_request_delivery.py.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.sdk.metrics.export import MetricExporter, MetricExportResult
from opentelemetry.sdk.trace import TracerProvider

import gyrinx_tracker
from gyrinx_tracker import asgi, propagation, wsgi
from gyrinx_tracker._signals.otel_logs import InMemoryLogRecordExporter, memory_exporter
from gyrinx_tracker.testing import Capture, capture_events
from tests.helpers.request_delivery import TRACE_ID, TRACEPARENT, exported, run_asgi

pytest_plugins = ("tests.helpers.request_delivery",)  # the captured fixture


def wsgi_app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
    for index in range(3):
        gyrinx_tracker.track("view_event", index=index)
    start_response("201 Created", [("Content-Type", "text/plain")])
    return [b"first ", b"last"]


def run_wsgi(app: Any, headers: dict[str, str] | None = None) -> list[tuple[bytes, int]]:
    """Serve one request as a WSGI server would; (chunk, events exported when it was sent), then close."""
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/", **{f"HTTP_{k.upper().replace('-', '_')}": v
                                                             for k, v in (headers or {}).items()}}
    body = app(environ, lambda status, headers, exc_info=None: None)
    sent = [(chunk, exported()) for chunk in body]
    body.close()
    return sent


async def asgi_app(scope: Any, receive: Any, send: Any) -> None:
    for index in range(3):
        gyrinx_tracker.track("view_event", index=index)
    await send({"type": "http.response.start", "status": 201, "headers": []})
    await send({"type": "http.response.body", "body": b"first ", "more_body": True})
    await send({"type": "http.response.body", "body": b"last"})


class TestWhenEventsLeave:
    def test_wsgi_before_every_event_is_out_before_the_first_chunk_is_sent(self, captured: Capture) -> None:
        """With `before`, the view's events and the request event are exported before the server sends the body."""
        app = wsgi.TrackerMiddleware(wsgi_app, request_event="http_request", flush_when="before")
        assert run_wsgi(app) == [(b"first ", 4), (b"last", 4)]

    def test_events_a_streamed_body_tracks_go_out_when_the_server_closes_it(self, captured: Capture) -> None:
        """A generator body tracks while the server sends it: those events leave at close(), in `before` too."""
        def streaming(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
            start_response("200 OK", [])

            def parts() -> Iterator[bytes]:
                for part in range(2):
                    gyrinx_tracker.track("streamed", part=part)
                    yield b"part"

            return parts()

        assert run_wsgi(wsgi.TrackerMiddleware(streaming, flush_when="before")) == [(b"part", 0), (b"part", 0)]
        assert exported() == 2

    def test_wsgi_after_delivers_in_close(self, captured: Capture) -> None:
        """With `after`, nothing is exported while the body is sent; everything is once the server closes it."""
        app = wsgi.TrackerMiddleware(wsgi_app, request_event="http_request", flush_when="after")
        assert run_wsgi(app) == [(b"first ", 0), (b"last", 0)]
        assert exported() == 4

    def test_asgi_before_holds_the_final_body_message_until_the_events_are_out(self, captured: Capture) -> None:
        """With `before`, the final http.response.body is sent only after the request's events were exported."""
        app = asgi.TrackerMiddleware(asgi_app, request_event="http_request", flush_when="before")
        assert run_asgi(app) == [("http.response.start", 0), ("http.response.body", 0), ("http.response.body", 4)]

    def test_asgi_after_delivers_once_the_app_returned(self, captured: Capture) -> None:
        """With `after`, the final message goes out at once and the events follow when the app returned."""
        app = asgi.TrackerMiddleware(asgi_app, request_event="http_request", flush_when="after")
        assert [count for _, count in run_asgi(app)] == [0, 0, 0]
        assert exported() == 4

    def test_off_leaves_the_events_to_the_background_thread(self, captured: Capture) -> None:
        """With `off`, nothing is exported by the request, in either middleware."""
        run_wsgi(wsgi.TrackerMiddleware(wsgi_app, flush_when="off"))
        run_asgi(asgi.TrackerMiddleware(asgi_app, flush_when="off"))
        assert exported() == 0
        assert len(captured.events) == 6

    def test_the_default_comes_from_the_configuration(self) -> None:
        """GYRINX_TRACKER_REQUEST_FLUSH (here configure(request_flush=...)) applies when the middleware names none."""
        with capture_events(flush_interval=60.0, request_flush="off"):
            run_wsgi(wsgi.TrackerMiddleware(wsgi_app))
            assert exported() == 0
        with capture_events(flush_interval=60.0):
            run_wsgi(wsgi.TrackerMiddleware(wsgi_app))
            assert exported() == 3

    def test_the_request_event_carries_route_method_status_and_duration(self, captured: Capture) -> None:
        """route (from the app's environ/scope key), method and status label the one request event."""
        def routed(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
            environ[wsgi.ROUTE_KEY] = "/items/<id>"
            return wsgi_app(environ, start_response)

        run_wsgi(wsgi.TrackerMiddleware(routed, request_event="http_request"))
        run_asgi(asgi.TrackerMiddleware(asgi_app, request_event="http_request"))
        requests = [e for e in captured.events if e.event == "http_request"]
        assert [e.labels for e in requests] == [{"route": "/items/<id>", "method": "GET", "status": 201},
                                                {"route": "(unmatched)", "method": "GET", "status": 201}]
        assert all(e.value is not None and e.value > 0 for e in requests)


class CountingMetricExporter(MetricExporter):
    """Counts the metric exports a reader makes (a real reader, a counting sink)."""

    def __init__(self) -> None:
        super().__init__()
        self.exports = 0

    def export(self, metrics_data: Any, timeout_millis: float = 10_000, **kwargs: Any) -> MetricExportResult:
        self.exports += 1
        return MetricExportResult.SUCCESS

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        return True

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: Any) -> None:
        return None


class TestMetricsKeepTheirSchedule:
    def test_request_delivery_exports_the_events_but_not_the_metrics(self) -> None:
        """Per-request flushes push log records out; metric readers are left to their interval (no export per request)."""
        from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader

        metrics = CountingMetricExporter()
        reader = PeriodicExportingMetricReader(metrics, export_interval_millis=3_600_000)
        gyrinx_tracker.configure(exporter="console", log_exporter=memory_exporter(), metric_reader=reader,
                                 flush_interval=60.0, global_providers="never")
        app = wsgi.TrackerMiddleware(wsgi_app, flush_when="before")
        for _ in range(3):
            run_wsgi(app)
        assert (exported(), metrics.exports) == (9, 0)
        gyrinx_tracker.flush()  # an explicit flush still pushes metrics out
        assert metrics.exports == 1

    def test_worker_aggregated_metrics_are_not_exported_per_request_either(self) -> None:
        """The default metric path (aggregates exported by the worker on its interval) is left alone by requests too."""
        metrics = CountingMetricExporter()
        gyrinx_tracker.configure(exporter="console", log_exporter=memory_exporter(), metric_exporter=metrics,
                                 metric_interval=3600.0, flush_interval=60.0, global_providers="never")
        app = wsgi.TrackerMiddleware(wsgi_app, flush_when="before")
        for _ in range(3):
            run_wsgi(app)
        assert (exported(), metrics.exports) == (9, 0)
        gyrinx_tracker.flush()
        assert metrics.exports == 1


class ThreadRecordingExporter(InMemoryLogRecordExporter):
    """The SDK's in-memory exporter, noting which thread made each export call."""

    def __init__(self) -> None:
        super().__init__()
        self.threads: list[str] = []

    def export(self, batch: Any) -> Any:
        self.threads.append(threading.current_thread().name)
        return super().export(batch)


class TestOnTheCallersThread:
    def test_once_outputs_exist_the_request_exports_on_its_own_thread(self) -> None:
        """No hand-off to the exporter thread and back: the request's thread runs the export itself."""
        exporter = ThreadRecordingExporter()
        gyrinx_tracker.configure(exporter="console", log_exporter=exporter, flush_interval=60.0,
                                 global_providers="never")
        gyrinx_tracker.track("warm_up")
        assert gyrinx_tracker.flush(10)  # the worker builds the outputs and exports this one
        run_wsgi(wsgi.TrackerMiddleware(wsgi_app, flush_when="before"))
        assert exporter.threads == ["gyrinx-tracker", threading.current_thread().name]
        assert len(exporter.get_finished_logs()) == 4

    def test_concurrent_requests_and_the_worker_never_export_an_event_twice(self) -> None:
        """Eight threads draining their requests while the worker drains too: every event once, books exact."""
        exporter = ThreadRecordingExporter()
        gyrinx_tracker.configure(exporter="console", log_exporter=exporter, flush_interval=0.001,
                                 global_providers="never")
        app = wsgi.TrackerMiddleware(wsgi_app, flush_when="before")

        def requests() -> None:
            for _ in range(200):
                run_wsgi(app)

        threads = [threading.Thread(target=requests) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert gyrinx_tracker.flush(10)
        books = gyrinx_tracker.stats()
        assert (books["emitted"], books["exported"], books["dropped"]) == (4800, 4800, 0)
        assert len(exporter.get_finished_logs()) == 4800
        assert len(set(exporter.threads)) > 2  # the worker and several request threads exported


class TestTrace:
    @pytest.mark.parametrize("run,middleware", [(run_wsgi, wsgi.TrackerMiddleware(wsgi_app)),
                                                (run_asgi, asgi.TrackerMiddleware(asgi_app))], ids=["wsgi", "asgi"])
    def test_events_carry_the_callers_trace(self, captured: Capture, run: Any, middleware: Any) -> None:
        """A traceparent header becomes the trace of every event the app tracks."""
        run(middleware, {"traceparent": TRACEPARENT})
        assert {(e.trace_id, e.span_id) for e in captured.events} == {(TRACE_ID, "00f067aa0ba902b7")}

    @pytest.mark.parametrize("run,middleware", [(run_wsgi, wsgi.TrackerMiddleware(wsgi_app)),
                                                (run_asgi, asgi.TrackerMiddleware(asgi_app))], ids=["wsgi", "asgi"])
    def test_the_apps_own_span_wins(self, captured: Capture, run: Any, middleware: Any) -> None:
        """When the app's instrumentation made a span current, its trace is kept and the header ignored."""
        with TracerProvider().get_tracer("app").start_as_current_span("request") as span:
            run(middleware, {"traceparent": TRACEPARENT})
        assert {e.trace_id for e in captured.events} == {f"{span.get_span_context().trace_id:032x}"}

    def test_no_context_is_left_behind(self, captured: Capture) -> None:
        """After the request the caller's trace is no longer current (attach and detach are paired)."""
        run_wsgi(wsgi.TrackerMiddleware(wsgi_app), {"traceparent": TRACEPARENT})
        assert not trace.get_current_span().get_span_context().is_valid


class TestPropagation:
    @pytest.mark.parametrize(("headers", "expected"), [
        ({"traceparent": TRACEPARENT}, (TRACE_ID, 0x00F067AA0BA902B7, True)),
        ({"X-Cloud-Trace-Context": f"{TRACE_ID}/12345;o=1"}, (TRACE_ID, 12345, True)),
        ({"x-cloud-trace-context": f"{TRACE_ID}/12345"}, (TRACE_ID, 12345, False)),
        ([("Traceparent", TRACEPARENT)], (TRACE_ID, 0x00F067AA0BA902B7, True)),
        ({"x-cloud-trace-context": f"{'0' * 32}/1;o=1"}, None),
        ({"x-cloud-trace-context": f"{TRACE_ID}/0;o=1"}, None),
        ({"x-cloud-trace-context": "garbage"}, None),
        ({}, None),
    ])
    def test_context_from_headers(self, headers: Any, expected: tuple[str, int, bool] | None) -> None:
        """traceparent or X-Cloud-Trace-Context (decimal span id) in any case; invalid ids give None."""
        context = propagation.context_from_headers(headers)
        if expected is None:
            assert context is None
            return
        assert context is not None
        span = trace.get_current_span(context).get_span_context()
        assert (f"{span.trace_id:032x}", span.span_id, span.trace_flags.sampled) == expected

    def test_remote_context_yields_to_a_current_span(self) -> None:
        """remote_context returns None while a span is current, so nothing contradicts the app's trace."""
        with TracerProvider().get_tracer("app").start_as_current_span("request"):
            assert propagation.remote_context({"traceparent": TRACEPARENT}) is None
        assert propagation.remote_context({"traceparent": TRACEPARENT}) is not None

    def test_the_django_modules_helper_is_still_importable(self) -> None:
        """gyrinx_tracker.django.context_from_headers, used before propagation was public, is the same function."""
        from gyrinx_tracker import django as tracker_django

        assert tracker_django.context_from_headers is propagation.context_from_headers
