"""Every record the tracker hands to ``logging`` (event lines, metric lines, its own warnings) carries
the trace attributes, so the format the docs recommend works for all of them."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest
from opentelemetry.sdk.trace import TracerProvider

import gyrinx_tracker

RECOMMENDED = "%(asctime)s %(levelname)s %(name)s %(funcName)s trace_id=%(otelTraceID)s %(message)s"
GOOGLE = "%(trace)s %(span_id)s %(trace_sampled)s %(message)s"


class _Strict(logging.StreamHandler):  # type: ignore[type-arg]  # StreamHandler is generic in typeshed only
    """A stream handler that keeps the errors logging would print as "--- Logging error ---"."""

    def __init__(self, fmt: str) -> None:
        super().__init__(io.StringIO())
        self.setFormatter(logging.Formatter(fmt))
        self.errors: list[BaseException] = []

    def handleError(self, record: logging.LogRecord) -> None:
        import sys

        error = sys.exc_info()[1]
        assert error is not None
        self.errors.append(error)

    def lines(self) -> list[str]:
        return self.stream.getvalue().splitlines()


@pytest.fixture
def formatted() -> Iterator[_Strict]:
    """The recommended format on the events logger, the metric lines' and ours (each set here, whatever
    another test's logging configuration left behind)."""
    handler = _Strict(RECOMMENDED)
    names = ("gyrinx.tracker", "gyrinx.tracker.metrics", "gyrinx_tracker")
    loggers = [logging.getLogger(name) for name in names]
    saved = [(logger.level, logger.propagate, logger.disabled) for logger in loggers]
    for logger in loggers:
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False
        logger.disabled = False
    yield handler
    for logger, (level, propagate, disabled) in zip(loggers, saved, strict=True):
        logger.removeHandler(handler)
        logger.setLevel(level)
        logger.propagate, logger.disabled = propagate, disabled


class TestRecommendedFormat:
    def test_event_metric_and_warning_lines_all_format(self, formatted: _Strict) -> None:
        """With metrics on, no record raises KeyError 'otelTraceID'; each kind of line is there with trace_id=0."""
        gyrinx_tracker.configure(exporter="console", global_providers="never", local_metrics=True)
        gyrinx_tracker.track("api_call", status=200)
        gyrinx_tracker.track("bad name!")  # repaired: the tracker's own warning
        assert gyrinx_tracker.flush(5)
        assert formatted.errors == []
        lines = formatted.lines()
        names = {line.split(" ")[3] for line in lines}
        assert {"gyrinx.tracker", "gyrinx.tracker.metrics", "gyrinx_tracker"} <= names, lines
        assert all(" trace_id=0 " in line for line in lines), lines

    def test_event_lines_in_a_span_carry_its_trace_and_metric_lines_the_empty_one(self, formatted: _Strict) -> None:
        """An event tracked in a span shows its trace id; the metric lines, made off any span, show 0."""
        gyrinx_tracker.configure(exporter="console", global_providers="never", local_metrics=True)
        with TracerProvider().get_tracer("t").start_as_current_span("request") as span:
            gyrinx_tracker.track("api_call")
            trace_id = format(span.get_span_context().trace_id, "032x")
        assert gyrinx_tracker.flush(5)
        assert formatted.errors == []
        events = [line for line in formatted.lines() if " gyrinx.tracker " in line]
        metrics = [line for line in formatted.lines() if " gyrinx.tracker.metrics " in line]
        assert len(events) == 1 and f"trace_id={trace_id} " in events[0]
        assert metrics and all(" trace_id=0 " in line for line in metrics)

    def test_a_warning_in_a_span_carries_the_google_cloud_logging_attributes(self) -> None:
        """The tracker's warning made in a span has trace, span_id and trace_sampled, as the event records do."""
        from gyrinx_tracker._diagnostics import warn_limited

        handler = _Strict(GOOGLE)
        ours = logging.getLogger("gyrinx_tracker")
        ours.addHandler(handler)
        try:
            with TracerProvider().get_tracer("t").start_as_current_span("request") as span:
                warn_limited("test:span", "a warning")
                context = span.get_span_context()
        finally:
            ours.removeHandler(handler)
        assert handler.errors == []
        assert handler.lines() == [f"{format(context.trace_id, '032x')} {format(context.span_id, '016x')} True "
                                   "gyrinx_tracker: a warning"]
