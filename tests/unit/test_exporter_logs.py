"""The rate limit on the OpenTelemetry exporters' own log lines (``_outputs/exporter_logs.py``)."""

from __future__ import annotations

import logging
import time

import pytest

from gyrinx_tracker._outputs.shared.exporter_logs import EXPORTER_LOGGERS, RepeatLimit, install


def _record(message: str, *args: object, level: int = logging.WARNING) -> logging.LogRecord:
    return logging.LogRecord(EXPORTER_LOGGERS[0], level, __file__, 1, message, args, None)


class TestRepeatLimit:
    def test_repeats_of_one_message_are_held_back_within_the_window(self) -> None:
        """The first record of a template passes, its repeats with other arguments do not; other templates do."""
        limit = RepeatLimit(window=60)
        assert limit.filter(_record("Transient error %s, retrying in %.2fs", "UNAVAILABLE", 1.0))
        assert not limit.filter(_record("Transient error %s, retrying in %.2fs", "UNAVAILABLE", 2.0))
        assert limit.filter(_record("Failed to export %s", "logs"))
        assert limit.filter(_record("Failed to export %s", "logs", level=logging.ERROR))

    def test_the_next_line_after_the_window_says_how_many_were_suppressed(self) -> None:
        """After the window, the message passes again with the count of the repeats held back."""
        limit = RepeatLimit(window=0.05)
        assert limit.filter(_record("Failed to export %s", "logs"))
        for _ in range(3):
            assert not limit.filter(_record("Failed to export %s", "logs"))
        time.sleep(0.1)
        record = _record("Failed to export %s", "logs")
        assert limit.filter(record)
        assert record.getMessage() == "Failed to export logs (3 similar messages suppressed by gyrinx_tracker)"


class TestInstall:
    def test_installing_twice_puts_one_filter_on_each_exporter_logger(self) -> None:
        """install() is idempotent: each exporter logger carries the limit once."""
        install()
        install()
        for name in EXPORTER_LOGGERS:
            assert sum(isinstance(f, RepeatLimit) for f in logging.getLogger(name).filters) == 1

    def test_the_limit_applies_to_records_logged_through_the_exporter_logger(
            self, caplog: pytest.LogCaptureFixture) -> None:
        """Ten identical warnings from the OTLP exporter's logger reach the handlers once."""
        install()
        logger = logging.getLogger(EXPORTER_LOGGERS[0])
        with caplog.at_level(logging.WARNING, logger=EXPORTER_LOGGERS[0]):
            for attempt in range(10):
                logger.warning("Test-only repeated message %d", attempt)
        assert [r.getMessage() for r in caplog.records] == ["Test-only repeated message 0"]
