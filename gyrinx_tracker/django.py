"""Django integration: correlate ``track()`` calls with the request's trace, optionally time requests.

Add ``"gyrinx_tracker.django.TrackerMiddleware"`` near the top of ``MIDDLEWARE``.

* Trace correlation. On Cloud Run every request arrives with a ``traceparent`` (W3C) and an
  ``X-Cloud-Trace-Context`` header. When no span is current (the app has no OpenTelemetry
  instrumentation of its own), the middleware makes that remote context current for the request,
  so events tracked in views carry the request's trace and Cloud Logging shows them under the
  request. When the app's own instrumentation already started a span, it is left alone.
* Request events. With ``GYRINX_TRACKER_REQUEST_EVENT = "http_request"`` in Django settings, each
  request is tracked once with ``value`` = duration in ms and labels ``route`` (the URL pattern,
  not the path, so metrics stay low-cardinality), ``method`` and ``status``. Off by default: an
  event per request is a cost decision, not a default.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from contextvars import Token
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.propagate import extract
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags

from gyrinx_tracker._api import track

Handler = Callable[[Any], Any]

_CLOUD_TRACE = re.compile(r"^([0-9a-fA-F]{32})/(\d+)(?:;o=([01]))?")


def context_from_headers(headers: dict[str, str]) -> otel_context.Context | None:
    """The caller's trace context from W3C ``traceparent`` or Cloud's ``X-Cloud-Trace-Context``."""
    carrier = {key.lower(): value for key, value in headers.items()}
    extracted = extract(carrier)
    if trace.get_current_span(extracted).get_span_context().is_valid:
        return extracted
    match = _CLOUD_TRACE.match(carrier.get("x-cloud-trace-context", ""))
    if match is None:
        return None
    trace_id, span_id, sampled = int(match.group(1), 16), int(match.group(2)), match.group(3) == "1"
    if trace_id == 0 or not 0 < span_id < 2**64:
        return None
    span_context = SpanContext(trace_id, span_id, is_remote=True,
                               trace_flags=TraceFlags(TraceFlags.SAMPLED if sampled else 0))
    return trace.set_span_in_context(NonRecordingSpan(span_context))


class TrackerMiddleware:
    """New-style Django middleware; see the module docstring."""

    def __init__(self, get_response: Handler) -> None:
        from django.conf import settings

        self.get_response = get_response
        self.request_event: str | None = getattr(settings, "GYRINX_TRACKER_REQUEST_EVENT", None)

    def __call__(self, request: Any) -> Any:
        token = self._attach(request)
        started = time.perf_counter()
        try:
            response = self.get_response(request)
        finally:
            if token is not None:
                otel_context.detach(token)
        if self.request_event:
            self._track_request(request, response, started)
        return response

    def _attach(self, request: Any) -> Token[otel_context.Context] | None:
        if trace.get_current_span().get_span_context().is_valid:
            return None
        remote = context_from_headers(dict(request.headers))
        return None if remote is None else otel_context.attach(remote)

    def _track_request(self, request: Any, response: Any, started: float) -> None:
        match = getattr(request, "resolver_match", None)
        route = getattr(match, "route", None) or "(unmatched)"
        token = self._attach(request)
        try:
            track(self.request_event or "http_request", value=(time.perf_counter() - started) * 1000,
                  route=route, method=request.method, status=response.status_code)
        finally:
            if token is not None:
                otel_context.detach(token)
