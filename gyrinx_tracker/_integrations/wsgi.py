"""WSGI integration (Flask, Falcon, Bottle, Django's WSGI app, any WSGI app).

``app.wsgi_app = TrackerMiddleware(app.wsgi_app)`` (Flask) or ``application = TrackerMiddleware(application)``.

* Trace: events tracked while the app runs and while its body is iterated (streamed responses
  included) carry the app's current span, else the request's ``traceparent`` /
  ``X-Cloud-Trace-Context``. The middleware never makes a span current itself, so
  ``FlaskInstrumentor`` or ``opentelemetry-instrumentation-wsgi`` on either side of it start the
  same SERVER span as without it (see ``request``).
* ``request_event="http_request"``: one event per request, ``value`` = ms until the app returned
  its response, labels ``route`` (Flask's URL rule, or ``environ["gyrinx_tracker.route"]`` set
  by the app, else ``(unmatched)``), ``method``, ``status``; on the app's server span when an
  instrumentation made one (it is current when the app calls ``start_response``).
* Request-scoped delivery (``GYRINX_TRACKER_REQUEST_FLUSH``, or ``flush_when=``): with ``before``
  the events are flushed when the app has returned, before the server sends the body, and what a
  streamed body tracked is flushed when the body is exhausted, before the server writes the end of
  the response; with ``after``, in the body's ``close()``, which the server calls once the last
  chunk is written.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from types import TracebackType
from typing import Any

from gyrinx_tracker._integrations.propagation import wsgi_headers
from gyrinx_tracker._integrations.request import ROUTE_KEY, RequestScope, route_set_by_app

ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]
StartResponse = Callable[..., Callable[[bytes], object]]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]
RouteOf = Callable[[Mapping[str, Any]], str | None]

def default_route(environ: Mapping[str, Any]) -> str | None:
    """The URL pattern: the app's own ``environ["gyrinx_tracker.route"]``, else Flask/Werkzeug's rule."""
    route = route_set_by_app(environ)
    if route is not None:
        return route
    rule = getattr(environ.get("werkzeug.request"), "url_rule", None)
    return getattr(rule, "rule", None)


class TrackerMiddleware:
    """Wraps a WSGI app; see the module docstring."""

    def __init__(self, app: WSGIApp, *, request_event: str | None = None, flush_timeout: float | None = None,
                 flush_when: str | None = None, route: RouteOf = default_route) -> None:
        self.app = app
        self.request_event = request_event
        self.flush_timeout = flush_timeout
        self.flush_when = flush_when
        self.route = route

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        scope = RequestScope(wsgi_headers(environ), self.request_event, self.flush_timeout, self.flush_when)
        status: list[int] = []
        route: list[str | None] = []

        def start(status_line: str, headers: list[tuple[str, str]], exc_info: ExcInfo | None = None) -> Any:
            status[:] = [_status_code(status_line)]
            scope.note_response()  # an instrumentation's server span is current here, whichever side it is
            route[:] = [self.route(environ)]  # Flask forgets its request (and URL rule) after this
            return start_response(status_line, headers, exc_info) if exc_info else start_response(status_line, headers)

        def respond() -> None:
            method = str(environ.get("REQUEST_METHOD", ""))
            scope.record(route[0] if route and route[0] else self.route(environ), method, status[0] if status else 500)
            scope.deliver("response")

        try:
            body = scope.run(lambda: self.app(environ, start))
        except BaseException:
            respond()
            scope.deliver("end")
            raise
        respond()
        return _Body(body, scope)


class _Body:
    """The app's body, iterated in the request's trace; ``close()`` ends the request."""

    def __init__(self, body: Iterable[bytes], scope: RequestScope) -> None:
        self._body = body
        self._scope = scope
        self._iterator: Iterator[bytes] | None = None

    def __iter__(self) -> Iterator[bytes]:
        return self

    def __next__(self) -> bytes:
        if self._iterator is None:
            self._iterator = iter(self._body)
        iterator = self._iterator
        try:
            return self._scope.run_in_response(lambda: next(iterator))
        except StopIteration:
            # The server writes the end of the response after this: with ``before``, what the body
            # tracked must be out first (as Cloud Run may throttle the CPU once the client has it).
            self._scope.deliver("response")
            raise

    def close(self) -> None:
        try:
            close = getattr(self._body, "close", None)
            if close is not None:
                self._scope.run_in_response(close)
        finally:
            self._scope.deliver("end")


def _status_code(status_line: str) -> int:
    try:
        return int(status_line.split(" ", 1)[0])
    except ValueError:
        return 0

__all__ = ["ROUTE_KEY", "TrackerMiddleware", "default_route"]
