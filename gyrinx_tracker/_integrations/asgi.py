"""ASGI integration (Starlette, FastAPI, Django's ASGI app, any ASGI app).

``app = TrackerMiddleware(app)``, or with Starlette/FastAPI ``app.add_middleware(TrackerMiddleware)``.

* Trace: events tracked while the app runs carry the app's current span, else the request's
  ``traceparent`` / ``X-Cloud-Trace-Context`` (sync endpoints run in a thread pool with a copy of
  the context, so they see it too). The middleware never makes a span current itself, so
  ``opentelemetry-instrumentation-asgi`` / ``-fastapi`` on either side of it start the same SERVER
  span as without it; the request event is on that span (current when the app sends
  ``http.response.start``).
* ``request_event="http_request"``: one event per request, ``value`` = ms until the final body
  message, labels ``route`` (Starlette/FastAPI's path template from ``scope["route"]``, or
  ``scope["gyrinx_tracker.route"]`` set by the app, else ``(unmatched)``), ``method``, ``status``.
* Request-scoped delivery (``GYRINX_TRACKER_REQUEST_FLUSH``, or ``flush_when=``): with ``before``
  the final ``http.response.body`` message is held until the request's events are out; with
  ``after`` they are flushed once the app has returned (after that message was sent, and after
  Starlette's background tasks). The wait runs on a worker thread: the event loop never blocks.
* Background tasks (Starlette/FastAPI ``BackgroundTasks``) run after the final body message was
  sent, so their events cannot hold the response back: they are flushed when the app returns
  (``end``), and, if the platform froze the process before that, by the next request's flush or
  at exit.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from typing import Any

from gyrinx_tracker import _guard
from gyrinx_tracker._integrations.propagation import asgi_headers
from gyrinx_tracker._integrations.request import ROUTE_KEY, RequestScope, route_set_by_app

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
RouteOf = Callable[[Mapping[str, Any]], str | None]

def default_route(scope: Mapping[str, Any]) -> str | None:
    """The URL pattern: the app's own ``scope["gyrinx_tracker.route"]``, else the router's template."""
    route = route_set_by_app(scope)
    if route is not None:
        return route
    template = getattr(scope.get("route"), "path", None)
    return template if isinstance(template, str) else None


class TrackerMiddleware:
    """Wraps an ASGI app; see the module docstring. Lifespan and websocket scopes pass through."""

    def __init__(self, app: ASGIApp, *, request_event: str | None = None, flush_timeout: float | None = None,
                 flush_when: str | None = None, route: RouteOf = default_route) -> None:
        self.app = app
        self.request_event = request_event
        self.flush_timeout = flush_timeout
        self.flush_when = flush_when
        self.route = route

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope.get("type") != "http":
            await self.app(scope, receive, send)
            return
        request = RequestScope(asgi_headers(scope), self.request_event, self.flush_timeout, self.flush_when)
        status: list[int] = []

        async def send_and_watch(message: Message) -> None:
            kind = message.get("type")
            if kind == "http.response.start":
                status[:] = [int(message.get("status", 0))]
                request.note_response()
            elif kind == "http.response.body" and not message.get("more_body", False):
                await self._respond(request, scope, status[0] if status else 500)
            await send(message)

        token = request.attach()
        try:
            await self.app(scope, receive, send_and_watch)
        finally:
            request.detach(token)
            await self._respond(request, scope, status[0] if status else 500)
            await _off_loop(request, "end")

    async def _respond(self, request: RequestScope, scope: Scope, status: int) -> None:
        if request.ended is not None:
            return
        request.record(self.route(scope), str(scope.get("method", "")), status)
        await _off_loop(request, "response")


async def _off_loop(request: RequestScope, stage: str) -> None:
    try:
        await asyncio.get_running_loop().run_in_executor(None, request.deliver, stage)
    except Exception as error:  # noqa: BLE001 - the response must go on
        _guard.caught("request end", error)


__all__ = ["ROUTE_KEY", "TrackerMiddleware", "default_route"]
