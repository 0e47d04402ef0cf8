"""The caller's trace from request headers, for integrations and for apps writing their own.

On Cloud Run every request arrives with a W3C ``traceparent`` and Google's
``X-Cloud-Trace-Context: TRACE_ID/SPAN_ID;o=1`` (span id in decimal). When the application has no
OpenTelemetry instrumentation of its own, making that remote context current for the request is
what correlates ``track()`` calls with the request in Cloud Logging and Cloud Trace. When the
app's instrumentation already made a span current, that span wins: ``remote_context`` and
``caller_context`` return ``None`` and nothing is attached, so no trace is duplicated or
contradicted.

The middlewares attach ``caller_context``, never ``remote_context``: the caller's span sits
under a key of the tracker's own (``_core.caller_trace``), which events fall back to and span
lookups do not see, so an instrumentation inside the middleware still finds no current span and
starts its SERVER span, and the app's own spans keep the parents they would have had without us.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.propagate import extract
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags

from gyrinx_tracker._core.caller_trace import with_caller

Headers = Mapping[str, str] | Iterable[tuple[str, str]]

_CLOUD_TRACE = re.compile(r"^([0-9a-fA-F]{32})/(\d+)(?:;o=([01]))?")


def context_from_headers(headers: Headers) -> Context | None:
    """The caller's trace context from W3C ``traceparent`` or Cloud's ``X-Cloud-Trace-Context``.

    ``headers`` is a mapping or (name, value) pairs, names in any case. ``traceparent`` is read
    by the globally configured propagator (W3C by default) and wins when both are present.
    """
    items = headers.items() if isinstance(headers, Mapping) else headers
    carrier = {key.lower(): value for key, value in items}
    extracted = extract(carrier)
    if trace.get_current_span(extracted).get_span_context().is_valid:
        return extracted
    return _cloud_trace_context(carrier.get("x-cloud-trace-context", ""))


def remote_context(headers: Headers) -> Context | None:
    """The context to make current for a request: the caller's, unless a span is already current."""
    if trace.get_current_span().get_span_context().is_valid:
        return None
    return context_from_headers(headers)


def caller_context(headers: Headers) -> Context | None:
    """The context a middleware attaches for a request: the current one, plus the caller's span as
    the fallback trace of events (see the module docstring); None while a span is current."""
    remote = remote_context(headers)
    return None if remote is None else with_caller(trace.get_current_span(remote))


def wsgi_headers(environ: Mapping[str, Any]) -> dict[str, str]:
    """The trace headers of a WSGI request (``HTTP_TRACEPARENT`` and friends)."""
    names = {"HTTP_TRACEPARENT": "traceparent", "HTTP_TRACESTATE": "tracestate",
             "HTTP_X_CLOUD_TRACE_CONTEXT": "x-cloud-trace-context"}
    return {name: environ[key] for key, name in names.items() if isinstance(environ.get(key), str)}


def asgi_headers(scope: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The headers of an ASGI HTTP scope as text pairs (ASGI gives them as latin-1 bytes)."""
    return [(name.decode("latin-1"), value.decode("latin-1")) for name, value in scope.get("headers") or ()]


def _cloud_trace_context(header: str) -> Context | None:
    match = _CLOUD_TRACE.match(header)
    if match is None:
        return None
    trace_id, span_id, sampled = int(match.group(1), 16), int(match.group(2)), match.group(3) == "1"
    if trace_id == 0 or not 0 < span_id < 2**64:
        return None
    span_context = SpanContext(trace_id, span_id, is_remote=True,
                               trace_flags=TraceFlags(TraceFlags.SAMPLED if sampled else 0))
    return trace.set_span_in_context(NonRecordingSpan(span_context))


__all__ = ["asgi_headers", "caller_context", "context_from_headers", "remote_context", "wsgi_headers"]
