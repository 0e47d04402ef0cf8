"""Real apps with the official OpenTelemetry instrumentations, with and without the tracker.

One module, chosen by the environment, served by gunicorn (WSGI) or uvicorn (ASGI) in
tests/process/test_spans.py:

* ``SPAN_APP_STACK``: ``flask`` (``FlaskInstrumentor``), ``wsgi`` (a plain WSGI app in
  ``opentelemetry-instrumentation-wsgi``'s middleware), ``fastapi`` (``FastAPIInstrumentor``),
  ``asgi`` (a plain ASGI app in ``opentelemetry-instrumentation-asgi``'s middleware), ``django``
  (``DjangoInstrumentor``, which puts its middleware first), ``django-asgi`` (the same, Django's
  ASGI application, its streamed body an async iterator), or ``bare-*`` of any of them: the same
  app without an instrumentation and without a TracerProvider.
* ``SPAN_APP_ORDER``: ``none`` (no tracker: the baseline), ``outer`` (the tracker's middleware
  wraps the instrumented app) or ``inner`` (the instrumentation wraps the tracker's middleware).
* ``SPAN_APP_SPANS``: a file the app's own TracerProvider appends each finished span to, as one
  JSON line (name, kind, ids), so the test reads the spans the app made after the server stopped.

Routes: ``/work`` tracks ``api_call``; ``/stream`` streams ``CHUNKS`` chunks and tracks ``chunk``
while making each, as a streamed export or a server-sent feed does; FastAPI's ``/background``
tracks ``CHUNKS`` ``background_step`` events in a ``BackgroundTasks`` task, after the response.
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from typing import Any

from fastapi import BackgroundTasks  # at module level: FastAPI resolves the endpoint's annotation here
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult

from gyrinx_tracker import track

CHUNKS = 20
STACK = os.environ["SPAN_APP_STACK"]
ORDER = os.environ.get("SPAN_APP_ORDER", "none")
BARE = STACK.startswith("bare-")
FRAMEWORK = STACK.removeprefix("bare-").removesuffix("-asgi")
ASGI = STACK.endswith("-asgi")  # django-asgi: Django's ASGI application under uvicorn


class JsonLinesSpanExporter(SpanExporter):
    """Appends each finished span to a file: the test's view of the app's TracerProvider."""

    def __init__(self, path: str) -> None:
        self.path = path

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        with open(self.path, "a", encoding="utf-8") as file:
            for span in spans:
                context = span.get_span_context()
                assert context is not None
                file.write(json.dumps({"name": span.name, "kind": span.kind.name, "pid": os.getpid(),
                                       "trace_id": f"{context.trace_id:032x}", "span_id": f"{context.span_id:016x}",
                                       "parent": f"{span.parent.span_id:016x}" if span.parent else None}) + "\n")
        return SpanExportResult.SUCCESS


if not BARE:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(JsonLinesSpanExporter(os.environ["SPAN_APP_SPANS"])))
    trace.set_tracer_provider(provider)


def chunks() -> Iterator[bytes]:
    for index in range(CHUNKS):
        track("chunk", index=index)
        yield b"x" * 100 + b"\n"


def background_steps() -> None:
    """A background task's events; then a mark beside the spans file, so a test knows the task ran."""
    for index in range(CHUNKS):
        track("background_step", index=index)
    with open(os.environ["SPAN_APP_SPANS"] + ".background-done", "w", encoding="utf-8"):
        pass


async def async_chunks() -> AsyncIterator[bytes]:
    for chunk in chunks():
        yield chunk


def _flask() -> Any:
    from flask import Flask, Response

    from gyrinx_tracker.wsgi import TrackerMiddleware

    app = Flask(__name__)

    @app.get("/work")
    def work() -> str:
        track("api_call")
        return "ok"

    @app.get("/stream")
    def stream() -> Response:
        return Response(chunks(), mimetype="text/plain")

    def instrument() -> None:
        if not BARE:
            from opentelemetry.instrumentation.flask import FlaskInstrumentor

            FlaskInstrumentor().instrument_app(app)

    def tracker() -> None:
        if ORDER != "none":
            app.wsgi_app = TrackerMiddleware(app.wsgi_app, request_event="http_request")  # type: ignore[method-assign]

    for step in ((tracker, instrument) if ORDER == "inner" else (instrument, tracker)):
        step()
    return app


def _plain_wsgi(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
    start_response("200 OK", [("Content-Type", "text/plain")])
    if environ.get("PATH_INFO") == "/stream":
        return chunks()
    track("api_call")
    return [b"ok"]


def _wsgi() -> Any:
    from opentelemetry.instrumentation.wsgi import OpenTelemetryMiddleware

    from gyrinx_tracker.wsgi import TrackerMiddleware

    def route(environ: Any) -> str:
        return str(environ.get("PATH_INFO"))

    if ORDER == "none":
        return _plain_wsgi if BARE else OpenTelemetryMiddleware(_plain_wsgi)
    if BARE:
        return TrackerMiddleware(_plain_wsgi, request_event="http_request", route=route)
    if ORDER == "inner":
        return OpenTelemetryMiddleware(TrackerMiddleware(_plain_wsgi, request_event="http_request", route=route))
    return TrackerMiddleware(OpenTelemetryMiddleware(_plain_wsgi), request_event="http_request", route=route)


def _fastapi() -> Any:
    from fastapi import FastAPI
    from fastapi.responses import StreamingResponse

    from gyrinx_tracker.asgi import TrackerMiddleware

    app = FastAPI()

    @app.get("/work")
    async def work() -> str:
        track("api_call")
        return "ok"

    @app.get("/stream")
    async def stream() -> StreamingResponse:
        return StreamingResponse(async_chunks(), media_type="text/plain")

    @app.get("/background")
    async def background(tasks: BackgroundTasks) -> str:
        tasks.add_task(background_steps)
        return "ok"

    if ORDER == "inner":
        app.add_middleware(TrackerMiddleware, request_event="http_request")
    if not BARE:
        from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

        FastAPIInstrumentor.instrument_app(app)
    return TrackerMiddleware(app, request_event="http_request") if ORDER == "outer" else app


async def _plain_asgi(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    if scope["path"] == "/stream":
        async for chunk in async_chunks():
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b""})
        return
    track("api_call")
    await send({"type": "http.response.body", "body": b"ok"})


def _asgi() -> Any:
    from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware

    from gyrinx_tracker.asgi import TrackerMiddleware

    def route(scope: Any) -> str:
        return str(scope.get("path"))

    if ORDER == "none":
        return _plain_asgi if BARE else OpenTelemetryMiddleware(_plain_asgi)
    if BARE:
        return TrackerMiddleware(_plain_asgi, request_event="http_request", route=route)
    if ORDER == "inner":
        return OpenTelemetryMiddleware(TrackerMiddleware(_plain_asgi, request_event="http_request", route=route))
    return TrackerMiddleware(OpenTelemetryMiddleware(_plain_asgi), request_event="http_request", route=route)


def _django() -> Any:
    import django
    from django.conf import settings
    from django.http import HttpResponse, StreamingHttpResponse
    from django.urls import path

    def work(request: Any) -> HttpResponse:
        track("api_call")
        return HttpResponse(b"ok")

    def stream(request: Any) -> StreamingHttpResponse:
        return StreamingHttpResponse(async_chunks() if ASGI else chunks(), content_type="text/plain")

    global urlpatterns
    urlpatterns = [path("work", work), path("stream", stream)]
    settings.configure(SECRET_KEY="tests-only-not-a-secret", DEBUG=False, ALLOWED_HOSTS=["127.0.0.1"],
                       ROOT_URLCONF=__name__, INSTALLED_APPS=[], DATABASES={}, USE_TZ=True,
                       MIDDLEWARE=[] if ORDER == "none" else ["gyrinx_tracker.django.TrackerMiddleware"],
                       GYRINX_TRACKER_REQUEST_EVENT="http_request")
    if not BARE:
        from opentelemetry.instrumentation.django import DjangoInstrumentor

        DjangoInstrumentor().instrument()  # puts its middleware first, before the tracker's
    django.setup()
    if ASGI:
        from django.core.asgi import get_asgi_application

        return get_asgi_application()
    from django.core.wsgi import get_wsgi_application

    return get_wsgi_application()


urlpatterns: list[Any] = []
application = {"flask": _flask, "wsgi": _wsgi, "fastapi": _fastapi, "asgi": _asgi, "django": _django}[FRAMEWORK]()
