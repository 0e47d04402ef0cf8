"""The trace an event belongs to: the span current at the call site, else the request's caller.

A web middleware must not make a span current for the app: an official instrumentation
(``opentelemetry-instrumentation-flask``, ``-wsgi``, ``-asgi``, ``-django``) that finds a current
span starts its own as INTERNAL instead of SERVER (``_start_internal_or_server_span``), and the
app's own spans would become children of a span the app never made. So the middlewares put the
caller's trace (``traceparent`` / ``X-Cloud-Trace-Context``) into the context under a key of our
own, which no span lookup sees, and an event falls back to it only when no span is current at
its call site. The lookup is made on the worker thread when the ``Event`` is built, so the call
site pays nothing.
"""

from __future__ import annotations

from opentelemetry.context import Context, create_key, get_value, set_value
from opentelemetry.trace import Span, get_current_span, set_span_in_context

CALLER_SPAN = create_key("gyrinx_tracker.caller_span")


def with_caller(span: Span, context: Context | None = None) -> Context:
    """``context`` (the current one by default) carrying the request's caller ``span`` as a fallback."""
    return set_value(CALLER_SPAN, span, context)


def resolved(context: Context | None) -> Context | None:
    """``context`` with the caller's span made current in it when it has no valid span of its own."""
    if context is None or CALLER_SPAN not in context:  # a Context is a dict: the common case is one lookup
        return context
    last = _last
    if last is not None and last[0] is context:  # a request's events share one context: resolve it once
        return last[1]
    caller = get_value(CALLER_SPAN, context)
    if not isinstance(caller, Span) or get_current_span(context).get_span_context().is_valid:
        result = context
    else:
        result = set_span_in_context(caller, context)
    _remember((context, result))
    return result


# The last context resolved and its result: contexts are immutable, so identity is a safe key. One
# tuple, replaced whole, so threads resolving at once (synchronous delivery) never see half of one.
_last: tuple[Context, Context] | None = None


def _remember(pair: tuple[Context, Context]) -> None:
    global _last
    _last = pair
