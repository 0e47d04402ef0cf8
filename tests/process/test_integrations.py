"""Every web stack behind a real server, read like Cloud Run reads stdout: same behaviour everywhere.

Flask (WSGI, gunicorn), FastAPI (ASGI, uvicorn; async and sync endpoints), Django under gunicorn
(WSGI) and under uvicorn (ASGI; sync and async views). For each request with a ``traceparent``
or an ``X-Cloud-Trace-Context``, the worker that answered is frozen with SIGSTOP as soon as the
response is read (as Cloud Run throttles an idle instance): the view's event and the request
event must already be on stdout, carrying the request's trace.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.webserver import STDOUT, Server, Trace, clean_env, free_port, gunicorn, serve, uvicorn


@dataclass(frozen=True)
class Stack:
    name: str
    app: str
    server: str
    routes: dict[str, str]  # request path -> the route label the request event must carry

    def argv(self, port: int) -> list[str]:
        if self.server == "gunicorn":
            return gunicorn(self.app, port, "--workers", "1")
        return uvicorn(self.app, port)


DJANGO_ROUTES = {"/api/v1/fighters/7": "api/v1/fighters/<int:fighter_id>",
                 "/async/fighters/7": "async/fighters/<int:fighter_id>",
                 "/sync/fighters/7": "sync/fighters/<int:fighter_id>"}
STACKS = [
    Stack("flask-wsgi", "tests.processes.flask_app:app", "gunicorn", {"/fighters/7": "/fighters/<int:fighter_id>"}),
    Stack("fastapi-asgi", "tests.processes.fastapi_app:app", "uvicorn",
          {"/async/7": "/async/{fighter_id}", "/sync/7": "/sync/{fighter_id}"}),
    Stack("django-wsgi", "tests.django_app.wsgi:application", "gunicorn", DJANGO_ROUTES),
    Stack("django-asgi", "tests.django_app.asgi:application", "uvicorn", DJANGO_ROUTES),
]


@pytest.fixture(scope="module", params=STACKS, ids=[stack.name for stack in STACKS])
def running(request: pytest.FixtureRequest) -> Iterator[tuple[Stack, Server]]:
    """One stack's app in its real server, events on structured stdout."""
    stack: Stack = request.param
    port = free_port()
    with serve(stack.argv(port), clean_env(**STDOUT), port) as server:
        yield stack, server


@pytest.mark.slow
class TestEveryStack:
    @pytest.mark.parametrize("header", ["traceparent", "x-cloud-trace-context"])
    def test_a_requests_events_carry_its_trace_and_are_out_before_the_worker_is_frozen(
            self, running: tuple[Stack, Server], header: str) -> None:
        """The view's event and the request event, with the caller's trace, are on stdout before SIGSTOP."""
        stack, server = running
        for path, route in stack.routes.items():
            trace = Trace(header)
            status, body = server.get(path, trace.headers())
            assert status == 200, server.stderr()
            with server.frozen(json.loads(body)["pid"]):
                events = {entry["event"]: entry for entry in trace.of(server.drain())}
            assert set(events) == {"api_call", "http_request"}, (path, server.stderr())
            assert events["api_call"]["logging.googleapis.com/spanId"] == f"{trace.span_id:016x}"
            assert events["http_request"]["labels"] == {"route": route, "method": "GET", "status": 200}
            assert events["http_request"]["value"] > 0
