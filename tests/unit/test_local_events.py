"""Local records written straight from events keep each record's own thread, call site and trace
although the fields a call site and thread share are merged once and reused."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator

import pytest
from opentelemetry.sdk.trace import TracerProvider

import gyrinx_tracker
from tests.unit.test_local import _Records


@pytest.fixture
def records() -> Iterator[list[logging.LogRecord]]:
    handler = _Records()
    logger = logging.getLogger("gyrinx.tracker")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    gyrinx_tracker.configure(exporter="console", local_metrics=False, handle_sigterm=False)
    yield handler.records
    logger.removeHandler(handler)
    logger.setLevel(logging.NOTSET)


def _from_thread(name: str) -> threading.Thread:
    thread = threading.Thread(target=lambda: gyrinx_tracker.track("in_thread"), name=name)
    thread.start()
    thread.join()
    return thread


class TestMergedFields:
    def test_a_renamed_thread_is_named_as_it_is_now(self, records: list[logging.LogRecord]) -> None:
        """The same thread and call site, renamed between flushes: each record has the name of its time."""
        thread = threading.current_thread()
        original = thread.name
        try:
            for name in ("first-name", "second-name"):
                thread.name = name
                gyrinx_tracker.track("renamed")
                assert gyrinx_tracker.flush(5)
        finally:
            thread.name = original
        assert [r.threadName for r in records] == ["first-name", "second-name"]

    def test_threads_and_sites_keep_their_own_fields(self, records: list[logging.LogRecord]) -> None:
        """Two threads at one site and two sites in one thread: four distinct (thread, line) pairs."""
        first, second = _from_thread("worker-1"), _from_thread("worker-2")
        gyrinx_tracker.track("here")
        gyrinx_tracker.track("there")
        assert gyrinx_tracker.flush(5)
        assert [(r.threadName, r.thread) for r in records[:2]] == [("worker-1", first.ident), ("worker-2", second.ident)]
        assert records[2].lineno + 1 == records[3].lineno
        assert records[2].funcName == records[3].funcName == "test_threads_and_sites_keep_their_own_fields"

    def test_traces_change_from_record_to_record(self, records: list[logging.LogRecord]) -> None:
        """Traced, untraced, traced again in a row: each record has its own trace attributes."""
        tracer = TracerProvider().get_tracer("app")
        spans = []
        for _ in range(2):
            with tracer.start_as_current_span("request") as span:
                gyrinx_tracker.track("traced")
            spans.append(span.get_span_context())
            gyrinx_tracker.track("untraced")
        assert gyrinx_tracker.flush(5)
        assert [(r.otelTraceID, r.otelSpanID) for r in records] == [  # type: ignore[attr-defined]
            (f"{spans[0].trace_id:032x}", f"{spans[0].span_id:016x}"), ("0", "0"),
            (f"{spans[1].trace_id:032x}", f"{spans[1].span_id:016x}"), ("0", "0")]
        assert [r.otelTraceSampled for r in records] == [True, False, True, False]  # type: ignore[attr-defined]
