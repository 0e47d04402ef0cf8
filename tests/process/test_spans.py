"""The middlewares beside the official OpenTelemetry instrumentations, under real servers.

Each app (tests/processes/span_apps.py) runs under gunicorn or uvicorn with its official
instrumentation and its own TracerProvider, once without the tracker (the baseline) and once per
order of the tracker's middleware. The same requests (no trace header, ``traceparent``,
``X-Cloud-Trace-Context``) go to both; the spans the app's provider finished must be the same
(names and kinds per trace), and the tracker's events (read from the server's stdout, Cloud Run's
structured lines) must be on the app's SERVER span.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests.webserver import STDOUT, Server, Trace, clean_env, free_port, gunicorn, serve, uvicorn

pytestmark = pytest.mark.slow  # real servers

CHUNKS = 20  # as tests/processes/span_apps.py streams (it reads its stack from the environment at import)
TRACE_KEY = "logging.googleapis.com/trace"
SPAN_KEY = "logging.googleapis.com/spanId"
ASGI = {"fastapi", "asgi", "django-asgi"}
APP = "tests.processes.span_apps:application"


def run(stack: str, order: str, spans: Path, requests: list[dict[str, str]]) -> list[dict[str, Any]]:
    """Serve the app, send ``requests`` (their headers) to /work one by one; the tracker's entries."""
    port = free_port()
    argv = uvicorn(APP, port) if stack.removeprefix("bare-") in ASGI else gunicorn(APP, port, "--workers", "1")
    env = clean_env(SPAN_APP_STACK=stack, SPAN_APP_ORDER=order, SPAN_APP_SPANS=str(spans), **STDOUT)
    with serve(argv, env, port) as server:
        for headers in requests:
            status, _ = server.get("/work", headers)
            assert status == 200, server.stderr()
        server.drain()
        entries = server.entries
    return entries


def spans_by_trace(path: Path) -> dict[str, list[dict[str, Any]]]:
    traces: dict[str, list[dict[str, Any]]] = {}
    for line in path.read_text().splitlines():
        span = json.loads(line)
        traces.setdefault(span["trace_id"], []).append(span)
    return traces


def shapes(path: Path) -> Counter[tuple[tuple[str, str], ...]]:
    """Each trace's spans as sorted (name, kind) pairs, counted: what must not change."""
    return Counter(tuple(sorted((s["name"], s["kind"]) for s in spans)) for spans in spans_by_trace(path).values())


REQUESTS = [{}, Trace("traceparent").headers(), Trace("cloud").headers()]
ORDERS = [("flask", "outer"), ("flask", "inner"), ("wsgi", "outer"), ("wsgi", "inner"),
          ("fastapi", "outer"), ("fastapi", "inner"), ("asgi", "outer"), ("asgi", "inner"), ("django", "inner"),
          ("django-asgi", "inner")]


class TestSpanKinds:
    @pytest.mark.parametrize(("stack", "order"), ORDERS)
    def test_the_apps_spans_are_as_without_the_tracker_and_events_are_on_its_server_span(
            self, tmp_path: Path, stack: str, order: str) -> None:
        """Same span names and kinds per trace as the baseline; every event on a SERVER span of the app."""
        baseline, tracked = tmp_path / "baseline.jsonl", tmp_path / "tracked.jsonl"
        run(stack, "none", baseline, REQUESTS)
        entries = run(stack, order, tracked, REQUESTS)

        assert sum(shapes(baseline).values()) == len(REQUESTS)
        assert any(kind == "SERVER" for shape in shapes(baseline) for _, kind in shape)  # the baseline is sound
        assert shapes(tracked) == shapes(baseline)

        server_spans = {(s["trace_id"], s["span_id"]) for spans in spans_by_trace(tracked).values()
                        for s in spans if s["kind"] == "SERVER"}
        events = [e for e in entries if e.get("event") in ("api_call", "http_request")]
        assert Counter(e["event"] for e in events) == {"api_call": len(REQUESTS), "http_request": len(REQUESTS)}
        on = {(e[TRACE_KEY].rsplit("/", 1)[1], e[SPAN_KEY]) for e in events}
        assert on == server_spans, (on, server_spans)

    @pytest.mark.parametrize("stack", ["bare-flask", "bare-wsgi", "bare-fastapi", "bare-asgi", "bare-django",
                                       "bare-django-asgi"])
    def test_without_an_instrumentation_events_carry_the_callers_trace(self, tmp_path: Path, stack: str) -> None:
        """No instrumentation, no provider: the caller's traceparent or X-Cloud-Trace-Context is the events' trace."""
        for trace in (Trace("traceparent"), Trace("cloud")):
            entries = run(stack, "outer", tmp_path / "none.jsonl", [trace.headers()])
            assert Counter(e["event"] for e in trace.of(entries)) == {"api_call": 1, "http_request": 1}
        assert not (tmp_path / "none.jsonl").exists()  # no span was made by anyone


def stream_and_freeze(server: Server, headers: dict[str, str], asgi: bool) -> list[dict[str, Any]]:
    """GET /stream whole, then freeze the worker at once (Cloud Run's throttling); what had arrived."""
    status, body = server.get("/stream", headers)
    assert (status, body.count(b"\n")) == (200, CHUNKS), server.stderr()
    worker = server.process.pid if asgi else server.worker_pids()[0]
    with server.frozen(worker):
        return [e for e in server.drain() if e.get("event") == "chunk"]


class TestStreaming:
    @pytest.mark.parametrize("stack", ["flask", "bare-flask", "wsgi", "bare-wsgi", "django", "bare-django",
                                       "django-asgi", "bare-django-asgi", "fastapi", "bare-fastapi", "asgi"])
    def test_a_streamed_bodys_events_are_out_before_the_client_has_it_and_keep_the_trace(
            self, tmp_path: Path, stack: str) -> None:
        """``before`` delivery: every chunk's event is at the receiver when the client has the whole body."""
        port = free_port()
        asgi = stack.removeprefix("bare-") in ASGI
        argv = uvicorn(APP, port) if asgi else gunicorn(APP, port, "--workers", "1")
        env = clean_env(SPAN_APP_STACK=stack, SPAN_APP_ORDER="inner" if "django" in stack else "outer",
                        SPAN_APP_SPANS=str(tmp_path / "spans.jsonl"), GYRINX_TRACKER_REQUEST_FLUSH="before", **STDOUT)
        trace = Trace("traceparent")
        with serve(argv, env, port) as server:
            arrived = stream_and_freeze(server, trace.headers(), asgi)
        assert len(arrived) == CHUNKS
        assert len(trace.of(arrived)) == CHUNKS  # streamed events keep the request's trace


def wait_for(path: Path) -> None:
    """Until ``path`` exists (a condition, not a time: the deadline only stops a hung run)."""
    deadline = time.monotonic() + 30
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.01)


class TestBackgroundTasks:
    def test_events_of_a_task_frozen_after_the_response_leave_at_the_next_request(self, tmp_path: Path) -> None:
        """FastAPI BackgroundTasks run after the response: frozen then (Cloud Run), what a task tracked before
        the next request is out by that response's end; none is lost, and that request's own event is there too."""
        port = free_port()
        env = clean_env(SPAN_APP_STACK="bare-fastapi", SPAN_APP_ORDER="outer", GYRINX_TRACKER_REQUEST_FLUSH="before",
                        SPAN_APP_SPANS=str(tmp_path / "spans.jsonl"), **STDOUT)
        with serve(uvicorn(APP, port), env, port) as server:
            assert server.get("/background")[0] == 200
            with server.frozen(server.process.pid):
                server.drain()  # whatever the task managed before the freeze
            wait_for(tmp_path / "spans.jsonl.background-done")  # the task ran: its events precede the next request
            assert server.get("/work")[0] == 200
            with server.frozen(server.process.pid):
                server.drain()
        steps = [e for e in server.entries if e.get("event") == "background_step"]
        assert sorted(e["labels"]["index"] for e in steps) == list(range(CHUNKS)), steps[:1]
        assert [e["event"] for e in server.entries].count("api_call") == 1

    def test_events_of_a_task_are_out_at_exit(self, tmp_path: Path) -> None:
        """The last request's background task, with no request after it: its events leave at exit (SIGTERM)."""
        port = free_port()
        env = clean_env(SPAN_APP_STACK="bare-fastapi", SPAN_APP_ORDER="outer", GYRINX_TRACKER_REQUEST_FLUSH="after",
                        SPAN_APP_SPANS=str(tmp_path / "spans.jsonl"), **STDOUT)
        with serve(uvicorn(APP, port), env, port) as server:
            assert server.get("/background")[0] == 200
            server.process.terminate()
            server.process.wait(20)
            server.drain()
        assert sum(e.get("event") == "background_step" for e in server.entries) == CHUNKS
