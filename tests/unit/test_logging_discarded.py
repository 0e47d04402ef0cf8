"""Events the application's logging configuration throws away are booked as ``logging_discarded``,
never as exported, and warned about once with the fix; events that reach a handler stay exported."""

from __future__ import annotations

import io
import json
import logging
import logging.config
from collections.abc import Callable, Iterator

import pytest

import gyrinx_tracker

EVENTS = "gyrinx.tracker"


class _Keep(logging.Handler):
    def __init__(self, level: int = logging.NOTSET) -> None:
        super().__init__(level)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def logging_state() -> Iterator[logging.Logger]:
    """The root logger as the test leaves it is put back: handlers, level, the events logger's state."""
    root, events = logging.getLogger(), logging.getLogger(EVENTS)
    saved = (list(root.handlers), root.level, events.level, events.disabled, events.propagate, list(events.handlers))
    root.handlers.clear()
    yield root
    root.handlers[:] = saved[0]
    root.setLevel(saved[1])
    events.setLevel(saved[2])
    events.disabled, events.propagate = saved[3], saved[4]
    events.handlers[:] = saved[5]
    logging.disable(logging.NOTSET)


@pytest.fixture
def warnings_seen() -> Iterator[_Keep]:
    """The tracker's own warnings (logger gyrinx_tracker), kept whatever the root's set-up."""
    keep = _Keep(logging.WARNING)
    ours = logging.getLogger("gyrinx_tracker")
    ours.addHandler(keep)
    yield keep
    ours.removeHandler(keep)


def _basic_config(root: logging.Logger) -> io.StringIO:
    stream = io.StringIO()
    logging.basicConfig(stream=stream, force=True)  # the root at WARNING: the most common "I see no events"
    root.setLevel(logging.WARNING)  # (force: pytest's own capture handlers are on the root during a test)
    return stream


def _level_warning(root: logging.Logger) -> io.StringIO:
    return _basic_config(root)


def _disabled_by_dict_config(root: logging.Logger) -> io.StringIO:
    """dictConfig's default disable_existing_loggers=True disables gyrinx.tracker, created before it."""
    logging.getLogger(EVENTS)
    stream = io.StringIO()
    logging.config.dictConfig({"version": 1, "handlers": {"s": {"class": "logging.StreamHandler", "stream": stream}},
                               "root": {"level": "INFO", "handlers": ["s"]}})
    return stream


def _handlers_above_info(root: logging.Logger) -> io.StringIO:
    stream = _basic_config(root)
    root.setLevel(logging.INFO)
    root.handlers[0].setLevel(logging.WARNING)
    return stream


def _logging_disable(root: logging.Logger) -> io.StringIO:
    stream = _basic_config(root)
    root.setLevel(logging.INFO)
    logging.disable(logging.INFO)
    return stream


CASES: dict[str, tuple[Callable[[logging.Logger], io.StringIO], str, str]] = {
    "level": (_level_warning, "is not enabled for INFO (its effective level is WARNING",
              "logging.getLogger('gyrinx.tracker').setLevel(logging.INFO)"),
    "disabled": (_disabled_by_dict_config, "the logger 'gyrinx.tracker' is disabled", "disable_existing_loggers=False"),
    "handlers": (_handlers_above_info, "every handler the logger 'gyrinx.tracker' reaches has a level above INFO (WARNING)",
                 "lower a handler's level to INFO"),
    "logging.disable": (_logging_disable, "logging.disable(INFO) is in force", "logging.disable(logging.NOTSET)"),
}


class TestDiscarded:
    @pytest.mark.parametrize("case", CASES)
    def test_discarded_events_are_booked_and_warned_once_with_the_fix(
            self, case: str, logging_state: logging.Logger, warnings_seen: _Keep) -> None:
        """Nothing is printed; the books say logging_discarded (not exported); one warning names the cause and fix."""
        set_up, why, fix = CASES[case]
        stream = set_up(logging_state)
        gyrinx_tracker.configure(exporter="console", global_providers="never", local_metrics=False)
        for _ in range(3):
            gyrinx_tracker.track("page_view")
            assert gyrinx_tracker.flush(5)
        books = gyrinx_tracker.stats()
        assert (books["exported"], books["dropped_by_reason"]) == (0, {"logging_discarded": 3})
        assert "page_view" not in stream.getvalue()
        said = [record.getMessage() for record in warnings_seen.records if "logging configuration" in record.getMessage()]
        assert len(said) == 1, said
        assert why in said[0] and fix in said[0] and "counted as dropped (logging_discarded)" in said[0]

    def test_the_fix_named_for_basic_config_makes_the_events_appear(self, logging_state: logging.Logger) -> None:
        """After basicConfig(), the advised setLevel(INFO) makes the events print and count as exported."""
        stream = _basic_config(logging_state)
        logging.getLogger(EVENTS).setLevel(logging.INFO)
        gyrinx_tracker.configure(exporter="console", global_providers="never", local_metrics=False)
        gyrinx_tracker.track("page_view")
        assert gyrinx_tracker.flush(5)
        assert gyrinx_tracker.stats()["exported"] == 1
        assert json.loads(stream.getvalue().splitlines()[0].split(":", 2)[2]) == {"event": "page_view", "n": 1}

    def test_no_logging_configured_still_prints_to_stderr(self, logging_state: logging.Logger,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
        """No handler anywhere (logging's lastResort would drop INFO): the tracker writes stderr itself, exported."""
        logging_state.handlers.clear()  # pytest's capture handlers, added for the test's call
        gyrinx_tracker.configure(exporter="console", global_providers="never", local_metrics=False)
        gyrinx_tracker.track("page_view")
        assert gyrinx_tracker.flush(5)
        assert gyrinx_tracker.stats()["exported"] == 1
        assert '"event":"page_view"' in capsys.readouterr().err


class TestCaplogContract:
    def test_caplog_at_info_on_the_events_logger_still_sees_every_event(
            self, caplog: pytest.LogCaptureFixture) -> None:
        """The original tracker's users' tests: caplog.set_level(INFO, logger='gyrinx.tracker') captures, and exports."""
        caplog.set_level(logging.INFO, logger=EVENTS)
        gyrinx_tracker.configure(exporter="console", global_providers="never", local_metrics=False)
        gyrinx_tracker.track("api_call", n=5)
        assert gyrinx_tracker.flush(5)
        assert [json.loads(r.message) for r in caplog.records if r.name == EVENTS] == [{"event": "api_call", "n": 5}]
        assert gyrinx_tracker.stats()["exported"] == 1

    def test_caplog_without_a_level_is_told_why_it_sees_nothing(self, caplog: pytest.LogCaptureFixture) -> None:
        """Without set_level the root is at WARNING: no event record, and caplog holds the warning naming the fix."""
        gyrinx_tracker.configure(exporter="console", global_providers="never", local_metrics=False)
        gyrinx_tracker.track("api_call")
        assert gyrinx_tracker.flush(5)
        assert not [r for r in caplog.records if r.name == EVENTS]
        assert any("setLevel(logging.INFO)" in r.getMessage() for r in caplog.records if r.name == "gyrinx_tracker")
        assert gyrinx_tracker.stats()["dropped_by_reason"] == {"logging_discarded": 1}
