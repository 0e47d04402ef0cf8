"""What every web integration does around a request, in one place, so they behave the same.

1. Trace: the caller's ``traceparent`` / ``X-Cloud-Trace-Context`` is the trace of events tracked
   while the app handles the request and while its body is sent, unless a span is current. It is
   attached as a fallback only (``propagation.caller_context``), never as the current span: the
   middlewares never change, create or end the app's spans, so an instrumentation on either side
   starts its SERVER span exactly as without the tracker. The server span the app's
   instrumentation made is noted when the response starts (``note_response``): the request event
   and the events a streamed body tracks are on it, whichever side of the instrumentation the
   middleware sits.
2. The optional request event: one ``track(name, value=ms, route=..., method=..., status=...)``.
   ``route`` is the URL pattern when the framework tells us one, never the raw path, so metrics
   stay low-cardinality.
3. Request-scoped delivery: wait (up to the request deadline) until everything tracked so far
   has left the process, so a platform that throttles the CPU between requests (Cloud Run's
   request-based billing) does not freeze events in the queue. ``deliver("response")`` runs
   just before the response completes (the ``before`` setting flushes there, so the response
   is complete only once its events are out); ``deliver("end")`` after the last chunk was handed
   to the server (``after`` flushes there; ``before`` catches anything left). A streamed body calls
   ``deliver("response")`` again once it is exhausted, before the server ends the response, so
   with ``before`` what the body tracked is out before the client has the whole response.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from contextvars import Token
from typing import Any, TypeVar

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.context import Context

from gyrinx_tracker._api import flush_request, track
from gyrinx_tracker._diagnostics import warn_limited
from gyrinx_tracker._integrations.propagation import Headers, caller_context
from gyrinx_tracker._signals.metrics import note_request_event

T = TypeVar("T")
UNMATCHED = "(unmatched)"
# Where an app names the route of a request itself, in the WSGI environ or the ASGI scope.
ROUTE_KEY = "gyrinx_tracker.route"


def route_set_by_app(mapping: Mapping[str, Any]) -> str | None:
    """The route the app put under ``ROUTE_KEY``, if it put a string there."""
    route = mapping.get(ROUTE_KEY)
    return route if isinstance(route, str) else None


class RequestScope:
    """One request's trace context, start time and end-of-request work."""

    def __init__(self, headers: Headers, event: str | None, flush_timeout: float | None = None,
                 flush_when: str | None = None) -> None:
        self.context: Context | None = caller_context(headers)
        self.response_context: Context | None = None  # set by note_response(): the app's span, if any
        self.started = time.perf_counter()
        self.ended: float | None = None  # set by record(): when the app's response was ready
        self._event = event
        if event:
            note_request_event(event)  # its value is milliseconds whatever its name: unit ``ms``
        self._flush_timeout = flush_timeout
        self._flush_when = flush_when

    def run(self, action: Callable[[], T]) -> T:
        """Run ``action`` with the caller's trace current (attached and detached in this call)."""
        token = self.attach()
        try:
            return action()
        finally:
            self.detach(token)

    def note_response(self) -> None:
        """Remember the context current as the response starts, if a span is current in it.

        Called where the app's server span (an instrumentation's) is current: in WSGI's
        ``start_response``, in ASGI's ``http.response.start``, after Django's view chain. The
        request event and a streamed body then run in it, although the instrumentation may have
        ended and detached its span by then; the span itself is only read, never changed.
        """
        if self.response_context is None:
            current = otel_context.get_current()
            if trace.get_current_span(current).get_span_context().is_valid:
                self.response_context = current

    def run_in_response(self, action: Callable[[], T]) -> T:
        """Run ``action`` in the response's context (the app's span, else the caller's trace)."""
        token = self.attach_response()
        try:
            return action()
        finally:
            self.detach(token)

    def attach_response(self) -> Token[Context] | None:
        context = self.response_context or self.context
        return None if context is None else otel_context.attach(context)

    def attach(self) -> Token[Context] | None:
        return None if self.context is None else otel_context.attach(self.context)

    @staticmethod
    def detach(token: Token[Context] | None) -> None:
        if token is not None:
            otel_context.detach(token)

    def record(self, route: str | None, method: str, status: int | None) -> None:
        """Track the request event (if configured), once, in the request's trace; never raises."""
        if self.ended is not None:
            return
        self.ended = time.perf_counter()
        if self._event:
            elapsed = (self.ended - self.started) * 1000
            event = self._event
            _guarded(lambda: self.run_in_response(lambda: track(event, value=elapsed, route=route or UNMATCHED,
                                                                method=method,
                                                                status=status if status is not None else 0)))

    def deliver(self, stage: str) -> None:
        """Request-scoped delivery at ``stage``; blocking (an event loop calls it on a thread)."""
        deliver(stage, self._flush_timeout, self._flush_when)


def deliver(stage: str, timeout: float | None = None, when: str | None = None) -> None:
    """Request-scoped delivery at ``stage`` (see the module docstring); never raises."""
    _guarded(lambda: flush_request(stage, timeout, when))


def _guarded(action: Callable[[], object]) -> None:
    """The tracker's part of a request must never turn into a failed response (strict mode included)."""
    try:
        action()
    except Exception as error:  # noqa: BLE001 - the response matters more than its telemetry
        # Already counted by the public function's guard, which re-raised it in strict mode only.
        warn_limited("internal:request", "failed around a request: %r", error)
