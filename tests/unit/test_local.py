"""The local default: JSON lines through the ``gyrinx.tracker`` logger (or stderr when unconfigured:
that and the README's script, each in a child interpreter, are tests/process/test_local.py)."""

from __future__ import annotations

import io
import json
import logging
import logging.config
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from opentelemetry.sdk.trace import TracerProvider

import gyrinx_tracker


class _Lines(logging.Handler):
    """Keeps the event lines a handler on gyrinx.tracker received, in order (the metric lines of the
    child logger gyrinx.tracker.metrics propagate to it too; TestMetricLines pins those)."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.name == "gyrinx.tracker":
            self.lines.append(record.getMessage())


@pytest.fixture
def events_logger() -> Iterator[_Lines]:
    """A handler on gyrinx.tracker that collects the JSON lines."""
    handler = _Lines()
    logger = logging.getLogger("gyrinx.tracker")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield handler
    logger.removeHandler(handler)
    logger.setLevel(logging.NOTSET)


class TestOriginalContract:
    def test_the_message_is_exactly_the_original_payload(self, events_logger: _Lines) -> None:
        """The message is json.dumps(payload) of the original tracker: event, n and labels, nothing else."""
        gyrinx_tracker.track("api_call", endpoint="/api/v1/fighters", method="GET", status=200)
        assert gyrinx_tracker.flush(5)
        (line,) = events_logger.lines
        assert line == json.dumps({"event": "api_call", "n": 1,
                                   "labels": {"endpoint": "/api/v1/fighters", "method": "GET", "status": 200}})

    @pytest.mark.parametrize(("name", "n", "value", "labels"), [
        ("api_call", 1, None, {}),
        ("labels_no_value", 1, None, {"endpoint": "/api/v1/fighters", "status": 200}),
        ("checkout_v2", 7, 0.1, {"ünïcode": "→ ✓", "q": "\"quoted\" \\ \n", "nested": {"list": [1, 2.5, None, True]}}),
        ("big", 2**53, 1e300, {"tiny": 5e-324, "neg": -0.0, "int": -(2**52), "empty": "", "none": None}),
        ("int_value", 3, 12, {"flag": False}),
        ("big_int_value", 1, 10**300, {}),
        ("float_as_value", 1, 1.0, {"ctrl": "\x00\x1f\u2028", "emoji": "🎉"}),
    ])
    def test_the_text_is_json_dumps_of_the_payload_byte_for_byte(self, events_logger: _Lines, name: str, n: int,
                                                                 value: float | None, labels: dict[str, object]) -> None:
        """The message is written without building the payload dict; it is still exactly json.dumps of it."""
        gyrinx_tracker.track(name, n, value, **labels)
        assert gyrinx_tracker.flush(5)
        payload: dict[str, object] = {"event": name, "n": n}
        if value is not None:
            payload["value"] = value
        if labels:
            payload["labels"] = labels
        assert events_logger.lines == [json.dumps(payload)]

    @pytest.mark.parametrize("formatter", [None, "%(message)s", "%(threadName)s|%(funcName)s|%(message)s"])
    def test_a_bare_stream_handler_gets_the_same_lines_without_records(self, monkeypatch: pytest.MonkeyPatch,
                                                                       formatter: str | None) -> None:
        """A plain StreamHandler that writes bare messages (the usual JSON-lines set-up) gets the messages
        without any record being made (stdlib_dispatch.message_plan); one whose formatter reads more
        of the record gets records with the caller's fields. The lines are json.dumps of the payload."""
        from gyrinx_tracker._outputs.local.writer import LocalJsonWriter

        made: list[int] = []
        real = LocalJsonWriter._records

        def counting(self: LocalJsonWriter, events: Any, *rest: Any) -> Any:
            made.append(len(events))
            return real(self, events, *rest)

        monkeypatch.setattr(LocalJsonWriter, "_records", counting)
        stream = io.StringIO()
        handler = logging.StreamHandler(stream)
        handler.setFormatter(logging.Formatter(formatter) if formatter else None)
        logger = logging.getLogger("gyrinx.tracker")
        monkeypatch.setattr(logger, "propagate", False)  # pytest's own handlers on the root would need records
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        try:
            gyrinx_tracker.track("checkout_v2", 7, 0.1, **{"ünïcode": "→ ✓", "q": "\"quoted\" \\ \n"})
            gyrinx_tracker.track("api_call", endpoint="/api/v1/fighters", status=200)
            gyrinx_tracker.track("no_labels")
            assert gyrinx_tracker.flush(5)
        finally:
            logger.removeHandler(handler)
            logger.setLevel(logging.NOTSET)
        payloads = [json.dumps({"event": "checkout_v2", "n": 7, "value": 0.1,
                                "labels": {"ünïcode": "→ ✓", "q": "\"quoted\" \\ \n"}}),
                    json.dumps({"event": "api_call", "n": 1, "labels": {"endpoint": "/api/v1/fighters", "status": 200}}),
                    json.dumps({"event": "no_labels", "n": 1})]
        lines = [line for line in stream.getvalue().splitlines() if '{"metric":' not in line]
        if formatter and "threadName" in formatter:
            prefix = f"{threading.current_thread().name}|test_a_bare_stream_handler_gets_the_same_lines_without_records|"
            assert lines == [prefix + payload for payload in payloads]
            assert sum(made) >= 3
        else:
            assert lines == payloads
            assert made == []

    def test_no_labels_no_labels_key(self, events_logger: _Lines) -> None:
        """An event tracked without labels has no labels key, as in the original payload."""
        gyrinx_tracker.track("test_event")
        gyrinx_tracker.track("response_time", value=1.5)
        assert gyrinx_tracker.flush(5)
        assert [json.loads(line) for line in events_logger.lines] == [
            {"event": "test_event", "n": 1}, {"event": "response_time", "n": 1, "value": 1.5}]

    def test_value_and_count_are_carried(self, events_logger: _Lines) -> None:
        """n and value appear as given; value only when it was passed."""
        gyrinx_tracker.track("api_call", n=5)
        gyrinx_tracker.track("response_time", value=123.45)
        assert gyrinx_tracker.flush(5)
        first, second = (json.loads(line) for line in events_logger.lines)
        assert (first["n"], "value" in first) == (5, False)
        assert (second["n"], second["value"]) == (1, 123.45)

    def test_records_carry_the_trace_of_the_call_site_as_attributes(self) -> None:
        """otelTraceID/otelSpanID (OpenTelemetry's names) and trace/span_id (google-cloud-logging's)."""
        tracer = TracerProvider().get_tracer("app")
        with _records() as handler:
            with tracer.start_as_current_span("request") as span:
                gyrinx_tracker.track("user_login")
            gyrinx_tracker.track("after")
            assert gyrinx_tracker.flush(5)
        inside, outside = handler.records
        context = span.get_span_context()
        assert (inside.otelTraceID, inside.otelSpanID) == (f"{context.trace_id:032x}", f"{context.span_id:016x}")
        assert (inside.trace, inside.span_id, inside.trace_sampled) == (
            f"{context.trace_id:032x}", f"{context.span_id:016x}", True)
        assert inside.otelTraceSampled is True
        assert (outside.otelTraceID, outside.otelSpanID, outside.otelTraceSampled) == ("0", "0", False)
        assert not hasattr(outside, "trace")
        assert json.loads(inside.getMessage()) == {"event": "user_login", "n": 1}

    def test_with_a_project_the_trace_is_cloud_loggings_resource_name(self) -> None:
        """With a project configured, record.trace is projects/P/traces/ID, as LogEntry.trace wants."""
        gyrinx_tracker.configure(exporter="console", project_id="proj")
        tracer = TracerProvider().get_tracer("app")
        with _records() as handler:
            with tracer.start_as_current_span("request") as span:
                gyrinx_tracker.track("user_login")
            assert gyrinx_tracker.flush(5)
        (record,) = handler.records
        assert record.trace == f"projects/proj/traces/{span.get_span_context().trace_id:032x}"

    def test_the_record_names_the_calling_thread_and_the_call_site(self) -> None:
        """%(threadName)s, %(thread)d, %(module)s, %(funcName)s and %(lineno)d are the app's, not ours."""
        import threading

        def worker_view() -> None:
            gyrinx_tracker.track("from_a_thread")

        with _records() as handler:
            thread = threading.Thread(target=worker_view, name="request-7")
            thread.start()
            thread.join()
            line = sys._getframe().f_lineno + 1
            gyrinx_tracker.track("from_main")
            assert gyrinx_tracker.flush(5)
        threaded, main = handler.records
        assert (threaded.threadName, threaded.thread) == ("request-7", thread.ident)
        assert threaded.funcName == "worker_view"
        assert (main.threadName, main.thread) == (threading.current_thread().name, threading.get_ident())
        assert (main.module, main.filename, main.pathname) == ("test_local", "test_local.py", __file__)
        assert (main.funcName, main.lineno) == ("test_the_record_names_the_calling_thread_and_the_call_site", line)

    def test_percent_signs_in_labels_are_not_formatting(self, events_logger: _Lines) -> None:
        """A label like '%s %d' is data: the line is not %-formatted by logging."""
        gyrinx_tracker.track("search", query="100%s %d")
        assert gyrinx_tracker.flush(5)
        assert json.loads(events_logger.lines[0])["labels"]["query"] == "100%s %d"

    def test_an_adversarial_event_still_fits_cloud_loggings_entry_limit(self, events_logger: _Lines) -> None:
        """Labels that escape to six bytes a character still give a line under 256 KB, with drops counted."""
        gyrinx_tracker.track("huge", **{f"k{i}": "\x00" * 8000 for i in range(100)})
        assert gyrinx_tracker.flush(5)
        (line,) = events_logger.lines
        assert len(line.encode("utf-8")) <= 256_000
        payload = json.loads(line)
        assert payload["labels"]["_dropped_labels"] > 0
        assert payload["event"] == "huge"

    def test_the_app_log_level_is_respected(self, events_logger: _Lines) -> None:
        """An app that sets gyrinx.tracker to WARNING gets no event lines."""
        logging.getLogger("gyrinx.tracker").setLevel(logging.WARNING)
        gyrinx_tracker.track("user_login")
        assert gyrinx_tracker.flush(5)
        assert events_logger.lines == []


class _Records(logging.Handler):
    """Keeps the stdlib records of event lines themselves."""

    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.name == "gyrinx.tracker":
            self.records.append(record)


@contextmanager
def _records() -> Iterator[_Records]:
    """A handler on gyrinx.tracker that keeps the records, removed afterwards."""
    handler = _Records()
    logger = logging.getLogger("gyrinx.tracker")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(logging.NOTSET)


class TestStdlibRecords:
    def test_records_are_complete_and_stamped_with_the_event_time(self) -> None:
        """The stdlib record carries the event's time (not the export's), and formats like any other."""
        handler = _Records()
        logger = logging.getLogger("gyrinx.tracker")
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        try:
            gyrinx_tracker.configure(exporter="console", flush_interval=2.0)
            before = time.time()
            gyrinx_tracker.track("user_login")
            after = time.time()
            assert gyrinx_tracker.flush(5)
        finally:
            logger.removeHandler(handler)
        (record,) = handler.records
        assert before <= record.created <= after
        assert record.msecs == int(record.created * 1000) % 1000
        assert (record.levelname, record.name) == ("INFO", "gyrinx.tracker")
        formatted = logging.Formatter("%(asctime)s %(levelname)s %(threadName)s %(process)d %(message)s").format(record)
        assert formatted.endswith(record.getMessage())

    def test_filters_on_the_events_logger_are_honoured(self, events_logger: _Lines) -> None:
        """A logging.Filter the app put on gyrinx.tracker decides, as it would for logger.info."""

        class NoLogins(logging.Filter):
            def filter(self, record: logging.LogRecord) -> bool:
                return "user_login" not in record.getMessage()

        logger = logging.getLogger("gyrinx.tracker")
        only_others = NoLogins()
        logger.addFilter(only_others)
        try:
            gyrinx_tracker.track("user_login")
            gyrinx_tracker.track("api_call")
            assert gyrinx_tracker.flush(5)
        finally:
            logger.removeFilter(only_others)
        assert [json.loads(line)["event"] for line in events_logger.lines] == ["api_call"]

    def test_an_app_record_factory_runs_for_our_records(self) -> None:
        """An application that set a LogRecord factory (e.g. to add a request id) sees it applied to events."""
        previous = logging.getLogRecordFactory()

        def factory(*args: object, **kwargs: object) -> logging.LogRecord:
            record = previous(*args, **kwargs)
            record.request_id = "req-1"
            return record

        handler = _Records()
        logger = logging.getLogger("gyrinx.tracker")
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logging.setLogRecordFactory(factory)
        try:
            gyrinx_tracker.track("user_login")
            assert gyrinx_tracker.flush(5)
        finally:
            logging.setLogRecordFactory(previous)
            logger.removeHandler(handler)
        assert [getattr(r, "request_id", None) for r in handler.records] == ["req-1"]

    def test_records_made_through_an_app_factory_carry_the_same_fields(self) -> None:
        """Through an app's record factory a record carries the same caller, thread and trace as a standard one."""
        fields = ("msg", "levelname", "name", "pathname", "filename", "module", "funcName", "lineno", "thread",
                  "threadName", "otelTraceID", "otelSpanID", "otelTraceSampled", "trace", "span_id", "trace_sampled")
        previous = logging.getLogRecordFactory()
        tracer = TracerProvider().get_tracer("app")
        handler = _Records()
        logger = logging.getLogger("gyrinx.tracker")
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        try:
            for factory in (previous, lambda *args, **kwargs: previous(*args, **kwargs)):
                logging.setLogRecordFactory(factory)
                with tracer.start_as_current_span("request"):
                    gyrinx_tracker.track("user_login", method="GET")
                gyrinx_tracker.track("user_login", method="GET")
                assert gyrinx_tracker.flush(5)
        finally:
            logging.setLogRecordFactory(previous)
            logger.removeHandler(handler)
        seen = [{name: getattr(record, name, None) for name in fields} for record in handler.records]
        assert len(seen) == 4
        assert seen[0]["otelTraceID"] != "0" and seen[1]["otelTraceID"] == "0"
        assert seen[0]["funcName"] == "test_records_made_through_an_app_factory_carry_the_same_fields"
        for standard, through_factory in zip(seen[:2], seen[2:], strict=True):
            assert {**through_factory, "otelTraceID": 0, "otelSpanID": 0, "trace": 0, "span_id": 0, "lineno": 0} == {
                **standard, "otelTraceID": 0, "otelSpanID": 0, "trace": 0, "span_id": 0, "lineno": 0}
            assert (standard["otelTraceID"] == "0") == (through_factory["otelTraceID"] == "0")


class TestNoDuplicates:
    def test_configure_twice_gives_each_event_once(self, events_logger: _Lines) -> None:
        """Calling configure() again replaces the pipeline; nothing is emitted twice or lost."""
        gyrinx_tracker.configure(exporter="console")
        gyrinx_tracker.track("first")
        gyrinx_tracker.configure(exporter="console")
        gyrinx_tracker.configure(exporter="console")
        gyrinx_tracker.track("second")
        assert gyrinx_tracker.flush(5)
        assert [json.loads(line)["event"] for line in events_logger.lines] == ["first", "second"]

    def test_an_app_logging_config_that_routes_gyrinx_tracker_gets_each_event_once(self) -> None:
        """dictConfig with a root handler and a gyrinx.tracker handler (propagate off) writes each line once."""
        stream = io.StringIO()
        logging.config.dictConfig({
            "version": 1, "disable_existing_loggers": False,
            "handlers": {"out": {"class": "logging.StreamHandler", "stream": stream}},
            "root": {"handlers": ["out"], "level": "INFO"},
            "loggers": {"gyrinx.tracker": {"handlers": ["out"], "level": "INFO", "propagate": False}},
        })
        try:
            gyrinx_tracker.configure()
            gyrinx_tracker.configure()
            gyrinx_tracker.track("user_login")
            assert gyrinx_tracker.flush(5)
        finally:
            logging.config.dictConfig({"version": 1, "disable_existing_loggers": False,
                                       "root": {"handlers": [], "level": "WARNING"},
                                       "loggers": {"gyrinx.tracker": {"handlers": [], "propagate": True}}})
        assert stream.getvalue().count('"event": "user_login"') == 1

    def test_the_exporter_thread_never_writes_diagnostics_to_the_events_logger(
            self, events_logger: _Lines, caplog: pytest.LogCaptureFixture) -> None:
        """Warnings about bad input go to the gyrinx_tracker logger, never into the event stream."""
        gyrinx_tracker.track("bad name", n=-1)
        assert gyrinx_tracker.flush(5)
        assert len(events_logger.lines) == 1
        assert any(r.name == "gyrinx_tracker" for r in caplog.records)
