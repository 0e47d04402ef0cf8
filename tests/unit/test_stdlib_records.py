"""Local records copied from a template are the records makeRecord would make, field by field."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator

import pytest

from gyrinx_tracker._outputs.local import records as stdlib_records

VOLATILE = {"created", "msecs", "relativeCreated"}


@pytest.fixture
def logger() -> Iterator[logging.Logger]:
    logger = logging.getLogger("gyrinx.tracker.test_stdlib_records")
    yield logger
    logger.filters.clear()


class TestRecordMaker:
    def test_fields_equal_make_records_except_the_events_own_time(self, logger: logging.Logger) -> None:
        """Every field but the timestamps equals makeRecord's; the timestamps are the event's."""
        now_ns = time.time_ns()
        made = stdlib_records.record_maker(logger)('{"event":"x"}', now_ns, {})
        expected = logger.makeRecord(logger.name, logging.INFO, stdlib_records.SOURCE, 0, '{"event":"x"}', (), None)
        assert set(made.__dict__) == set(expected.__dict__)
        for field in set(expected.__dict__) - VOLATILE:
            assert made.__dict__[field] == expected.__dict__[field], field
        assert made.created == now_ns / 1e9
        assert made.msecs == (now_ns % 1_000_000_000) // 1_000_000
        assert made.getMessage() == '{"event":"x"}'

    def test_an_application_record_factory_runs_for_our_records(self, logger: logging.Logger) -> None:
        """With a custom factory installed, records come from makeRecord, so the factory sees them."""
        original = logging.getLogRecordFactory()
        seen: list[str] = []

        def factory(*args: object, **kwargs: object) -> logging.LogRecord:
            record = original(*args, **kwargs)  # type: ignore[arg-type]
            seen.append(record.getMessage())
            return record

        logging.setLogRecordFactory(factory)
        try:
            record = stdlib_records.record_maker(logger)("line", time.time_ns(), {
                "thread": 7, "threadName": "request-7", "pathname": "/app/views.py", "filename": "views.py",
                "module": "views", "funcName": "index", "lineno": 12, "otelTraceID": "0"})
        finally:
            logging.setLogRecordFactory(original)
        assert seen == ["line"]
        assert (record.thread, record.threadName, record.module, record.funcName, record.lineno) == (
            7, "request-7", "views", "index", 12)
        assert (record.pathname, record.filename, record.otelTraceID) == ("/app/views.py", "views.py", "0")

    def test_given_fields_override_the_templates(self, logger: logging.Logger) -> None:
        """The event's thread, call site and trace attributes replace what the template holds."""
        fields = {"thread": 7, "threadName": "request-7", "module": "views", "lineno": 12, "otelSpanID": "0"}
        record = stdlib_records.record_maker(logger)("line", time.time_ns(), fields)
        assert {key: getattr(record, key) for key in fields} == fields

