"""The caller's trace is a fallback for events, never a current span (the real servers with the
official instrumentations are tests/process/test_spans.py)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider

import gyrinx_tracker
from gyrinx_tracker import propagation, wsgi
from gyrinx_tracker._core.caller_trace import resolved, with_caller
from gyrinx_tracker.testing import Capture
from tests.helpers.request_delivery import TRACE_ID, TRACEPARENT, exported

pytest_plugins = ("tests.helpers.request_delivery",)  # the captured fixture

APP_TRACER = TracerProvider().get_tracer("app")


def caller_span() -> trace.Span:
    remote = propagation.context_from_headers({"traceparent": TRACEPARENT})
    assert remote is not None
    return trace.get_current_span(remote)


class TestResolved:
    def test_no_context_stays_none(self) -> None:
        """An event tracked with no context (tools, tests) has none after resolving."""
        assert resolved(None) is None

    def test_a_context_without_a_caller_is_returned_as_it_is(self) -> None:
        """The common case costs one lookup and makes nothing new."""
        context = otel_context.get_current()
        assert resolved(context) is context

    def test_the_caller_is_the_trace_when_no_span_is_current(self) -> None:
        """With only the caller's span under our key, the resolved context's current span is the caller's."""
        context = resolved(with_caller(caller_span()))
        assert f"{trace.get_current_span(context).get_span_context().trace_id:032x}" == TRACE_ID

    def test_each_context_resolves_to_its_own_caller(self) -> None:
        """The one-entry cache never hands one request's trace to another's events."""
        other = "0af7651916cd43dd8448eb211c80319c"
        second = propagation.context_from_headers({"traceparent": f"00-{other}-b7ad6b7169203331-01"})
        assert second is not None
        first, then = with_caller(caller_span()), with_caller(trace.get_current_span(second))
        ids = [f"{trace.get_current_span(resolved(c)).get_span_context().trace_id:032x}" for c in (first, then, first)]
        assert ids == [TRACE_ID, other, TRACE_ID]

    def test_a_current_span_wins_over_the_caller(self) -> None:
        """A span the app made current while the caller's trace was attached: events are on the app's span."""
        token = otel_context.attach(with_caller(caller_span()))
        try:
            with APP_TRACER.start_as_current_span("app") as span:
                assert trace.get_current_span(resolved(otel_context.get_current())) is span
        finally:
            otel_context.detach(token)


class TestCallerContext:
    def test_attached_it_leaves_no_current_span(self) -> None:
        """What an instrumentation checks (get_current_span() is INVALID_SPAN) still holds, so it starts a SERVER span."""
        context = propagation.caller_context({"traceparent": TRACEPARENT})
        assert context is not None
        token = otel_context.attach(context)
        try:
            assert trace.get_current_span() is trace.INVALID_SPAN
        finally:
            otel_context.detach(token)

    def test_none_while_a_span_is_current(self) -> None:
        """The app's span is the trace: nothing of the caller is attached."""
        with APP_TRACER.start_as_current_span("request"):
            assert propagation.caller_context({"traceparent": TRACEPARENT}) is None

    def test_the_wsgi_app_sees_no_span_and_its_events_the_callers_trace(self, captured: Capture) -> None:
        """Inside the middleware the app finds no current span; its event carries the caller's trace."""
        seen: list[trace.Span] = []

        def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
            seen.append(trace.get_current_span())
            gyrinx_tracker.track("view_event")
            start_response("200 OK", [])
            return [b"ok"]

        body = wsgi.TrackerMiddleware(app)({"REQUEST_METHOD": "GET", "HTTP_TRACEPARENT": TRACEPARENT},
                                           lambda status, headers, exc_info=None: None)
        list(body)
        body.close()  # type: ignore[attr-defined]
        assert seen == [trace.INVALID_SPAN]
        assert [(e.event, e.trace_id) for e in captured.events] == [("view_event", TRACE_ID)]


class TestStreamedWsgiBody:
    def test_with_before_a_streamed_bodys_events_are_out_when_it_is_exhausted(self, captured: Capture) -> None:
        """The server writes the end of the response after the body's last next(): every event is out by then,
        not only at close(), and each carries the caller's trace."""

        def streamed() -> Iterator[bytes]:
            for index in range(5):
                gyrinx_tracker.track("chunk", index=index)
                yield b"chunk"

        def app(environ: dict[str, Any], start_response: Any) -> Iterator[bytes]:
            start_response("200 OK", [])
            return streamed()

        body = wsgi.TrackerMiddleware(app, flush_when="before")(
            {"REQUEST_METHOD": "GET", "HTTP_TRACEPARENT": TRACEPARENT}, lambda status, headers, exc_info=None: None)
        assert list(body) == [b"chunk"] * 5
        assert exported() == 5  # before close()
        body.close()  # type: ignore[attr-defined]
        assert {e.trace_id for e in captured.events} == {TRACE_ID}
