"""The local default: JSON lines through the ``gyrinx.tracker`` logger (or stderr when unconfigured)."""

from __future__ import annotations

import io
import json
import logging
import logging.config
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator

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


class TestJsonLines:
    def test_one_compact_line_per_event_with_the_original_payload(self, events_logger: _Lines) -> None:
        """track() with no set-up call gives one JSON line with event, n, labels, time and severity."""
        gyrinx_tracker.track("api_call", endpoint="/api/v1/fighters", method="GET", status=200)
        assert gyrinx_tracker.flush(5)
        (line,) = events_logger.lines
        assert " " not in line.replace("/api/v1/fighters", "")
        payload = json.loads(line)
        assert payload["event"] == "api_call"
        assert payload["n"] == 1
        assert "value" not in payload
        assert payload["labels"] == {"endpoint": "/api/v1/fighters", "method": "GET", "status": 200}
        assert payload["severity"] == "INFO"
        assert payload["time"].endswith("Z") and payload["time"][:2] == "20"

    def test_value_and_count_are_carried(self, events_logger: _Lines) -> None:
        """n and value appear as given; value only when it was passed."""
        gyrinx_tracker.track("api_call", n=5)
        gyrinx_tracker.track("response_time", value=123.45)
        assert gyrinx_tracker.flush(5)
        first, second = (json.loads(line) for line in events_logger.lines)
        assert (first["n"], "value" in first) == (5, False)
        assert (second["n"], second["value"]) == (1, 123.45)

    def test_lines_carry_the_trace_of_the_call_site(self, events_logger: _Lines) -> None:
        """trace_id and span_id are those of the span current in the caller, from any TracerProvider."""
        tracer = TracerProvider().get_tracer("app")
        with tracer.start_as_current_span("request") as span:
            gyrinx_tracker.track("user_login")
        gyrinx_tracker.track("after")
        assert gyrinx_tracker.flush(5)
        inside, outside = (json.loads(line) for line in events_logger.lines)
        assert inside["trace_id"] == f"{span.get_span_context().trace_id:032x}"
        assert inside["span_id"] == f"{span.get_span_context().span_id:016x}"
        assert "trace_id" not in outside

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
        assert payload["event"] == "huge" and payload["severity"] == "INFO"

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


class TestStdlibRecords:
    def test_records_are_complete_and_stamped_with_the_event_time(self) -> None:
        """The stdlib record carries the event's time (not the export's), and formats like any other."""
        handler = _Records()
        logger = logging.getLogger("gyrinx.tracker")
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        try:
            gyrinx_tracker.track("user_login")
            assert gyrinx_tracker.flush(5)
        finally:
            logger.removeHandler(handler)
        (record,) = handler.records
        line = json.loads(record.getMessage())
        assert time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) == line["time"][:19]
        assert f"{int(record.msecs):03d}" == line["time"][20:23]
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


class TestUnconfiguredLogging:
    def test_a_script_with_no_logging_config_prints_to_stderr(self) -> None:
        """With no handlers anywhere, the lines go to stderr rather than being swallowed."""
        result = subprocess.run([sys.executable, "-c", "from gyrinx_tracker import track\ntrack('user_login')"],
                                capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr
        event, metric = (json.loads(line) for line in result.stderr.splitlines())
        assert event["event"] == "user_login"
        assert metric == {"metric": "tracker.user_login", "unit": "{event}", "attributes": {}, "value": 1}
        assert result.stdout == ""


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
        assert stream.getvalue().count('"event":"user_login"') == 1

    def test_the_exporter_thread_never_writes_diagnostics_to_the_events_logger(
            self, events_logger: _Lines, caplog: pytest.LogCaptureFixture) -> None:
        """Warnings about bad input go to the gyrinx_tracker logger, never into the event stream."""
        gyrinx_tracker.track("bad name", n=-1)
        assert gyrinx_tracker.flush(5)
        assert len(events_logger.lines) == 1
        assert any(r.name == "gyrinx_tracker" for r in caplog.records)


class TestSubprocessScript:
    def test_the_readme_example_runs_as_a_script(self) -> None:
        """The original tracker's examples, run as a short script, print every event before exit."""
        script = textwrap.dedent("""
            import logging, sys
            logging.basicConfig(stream=sys.stdout, level=logging.INFO, format="%(name)s %(message)s")
            from gyrinx_tracker import track
            track("user_login")
            track("api_call", n=5)
            track("response_time", value=123.45)
            track("api_call", endpoint="/api/v1/fighters", method="GET", status=200)
        """)
        result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr
        lines = [line.split(" ", 1) for line in result.stdout.splitlines()]
        assert [name for name, _ in lines] == ["gyrinx.tracker"] * 4 + ["gyrinx.tracker.metrics"] * 5
        assert [json.loads(body)["event"] for _, body in lines[:4]] == [
            "user_login", "api_call", "response_time", "api_call"]
        metrics = {(m["metric"], json.dumps(m["attributes"])): m for m in (json.loads(body) for _, body in lines[4:])}
        assert metrics[("tracker.api_call", "{}")]["value"] == 5
        assert metrics[("tracker.api_call", '{"endpoint": "/api/v1/fighters", "method": "GET", "status": 200}')]["value"] == 1
        assert metrics[("tracker.response_time", "{}")]["value"] == 1
        histogram = metrics[("tracker.response_time.value", "{}")]
        assert (histogram["count"], histogram["sum"], histogram["buckets"]) == (1, 123.45, [[250.0, 1]])
