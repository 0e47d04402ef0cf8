"""Metrics visible locally without a collector: JSON lines through ``gyrinx.tracker.metrics``."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from typing import Any

import pytest

import gyrinx_tracker


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[dict[str, Any]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(json.loads(record.getMessage()))


@pytest.fixture
def metric_lines() -> Iterator[_Lines]:
    """A handler on gyrinx.tracker.metrics; the event lines go to a NullHandler (a level above INFO
    would book them as logging_discarded, and the books' line would join the metric lines)."""
    handler = _Lines()
    metrics = logging.getLogger("gyrinx.tracker.metrics")
    metrics.addHandler(handler)
    metrics.setLevel(logging.INFO)
    metrics.propagate = False
    events = logging.getLogger("gyrinx.tracker")
    silent = logging.NullHandler()
    events.addHandler(silent)
    events.setLevel(logging.INFO)
    events.propagate = False
    gyrinx_tracker.configure(exporter="console", global_providers="never", handle_sigterm=False)
    yield handler
    metrics.removeHandler(handler)
    metrics.setLevel(logging.NOTSET)
    metrics.propagate = True
    events.removeHandler(silent)
    events.setLevel(logging.NOTSET)
    events.propagate = True


def by_series(lines: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(line["metric"], json.dumps(line["attributes"], sort_keys=True)): line for line in lines}


class TestMetricLines:
    def test_one_line_per_series_with_exact_totals(self, metric_lines: _Lines) -> None:
        """A flush writes each counter series and each histogram series once, with its totals."""
        for status in (200, 200, 500):
            gyrinx_tracker.track("api_call", 2, status=status, user_id="u1")
        gyrinx_tracker.track("render_ms", value=3.0)
        gyrinx_tracker.track("render_ms", value=12.5)
        assert gyrinx_tracker.flush(10)
        got = by_series(metric_lines.lines)
        assert got[("tracker.api_call", '{"status": 200}')] == {
            "metric": "tracker.api_call", "unit": "{event}", "attributes": {"status": 200}, "value": 4}
        assert got[("tracker.api_call", '{"status": 500}')]["value"] == 2
        assert got[("tracker.render_ms.value", "{}")] == {
            "metric": "tracker.render_ms.value", "unit": "ms", "attributes": {}, "count": 2, "sum": 15.5,
            "min": 3.0, "max": 12.5, "buckets": [[5.0, 1], [25.0, 1]]}
        assert len(metric_lines.lines) == len(got) == 4  # and no gyrinx_tracker.exported line

    def test_only_changed_series_are_written_again(self, metric_lines: _Lines) -> None:
        """An idle series stays quiet; a changed one is written with its new cumulative total."""
        gyrinx_tracker.track("a")
        gyrinx_tracker.track("b")
        assert gyrinx_tracker.flush(10)
        del metric_lines.lines[:]
        gyrinx_tracker.track("b", 4)
        assert gyrinx_tracker.flush(10)
        assert gyrinx_tracker.flush(10)
        assert metric_lines.lines == [{"metric": "tracker.b", "unit": "{event}", "attributes": {}, "value": 5}]

    def test_a_histogram_sum_past_the_largest_float_is_still_written(self, metric_lines: _Lines) -> None:
        """Two finite values can sum to infinity, which JSON cannot hold: that series' sum is written
        as ``"+Inf"`` (as the last bucket's bound is), and every other series still goes out."""
        gyrinx_tracker.track("huge_bytes", value=1e308)
        gyrinx_tracker.track("huge_bytes", value=1e308)
        gyrinx_tracker.track("api_call")
        assert gyrinx_tracker.flush(10)
        got = by_series(metric_lines.lines)
        assert got[("tracker.huge_bytes.value", "{}")] == {
            "metric": "tracker.huge_bytes.value", "unit": "By", "attributes": {}, "count": 2, "sum": "+Inf",
            "min": 1e308, "max": 1e308, "buckets": [["+Inf", 2]]}
        assert got[("tracker.api_call", "{}")]["value"] == 1
        assert gyrinx_tracker.stats()["metric_exports_failed"] == 0

    def test_drops_show_as_a_line_by_reason(self, metric_lines: _Lines) -> None:
        """The tracker's own books are metrics too: dropped events show with their reason."""
        gyrinx_tracker.configure(exporter="console", max_queue=1, when_full="drop", flush_interval=60.0, global_providers="never",
                                 handle_sigterm=False)
        for _ in range(3):
            gyrinx_tracker.track("burst")
        assert gyrinx_tracker.flush(10)
        got = by_series(metric_lines.lines)
        assert got[("gyrinx_tracker.dropped", '{"reason": "queue_full"}')]["value"] == 2

    def test_the_apps_log_level_decides(self, metric_lines: _Lines) -> None:
        """Setting gyrinx.tracker.metrics to WARNING silences the lines (the events are unaffected)."""
        logging.getLogger("gyrinx.tracker.metrics").setLevel(logging.WARNING)
        gyrinx_tracker.track("a")
        assert gyrinx_tracker.flush(10)
        assert metric_lines.lines == []
        assert gyrinx_tracker.stats()["exported"] == 1

    def test_local_metrics_can_be_turned_off(self, metric_lines: _Lines, monkeypatch: pytest.MonkeyPatch) -> None:
        """GYRINX_TRACKER_LOCAL_METRICS=false: no metric lines at all."""
        monkeypatch.setenv("GYRINX_TRACKER_LOCAL_METRICS", "false")
        gyrinx_tracker.configure(exporter="console", global_providers="never", handle_sigterm=False)
        gyrinx_tracker.track("a")
        assert gyrinx_tracker.flush(10)
        assert metric_lines.lines == []


class TestRecords:
    def test_the_records_are_what_logger_info_would_hand_the_apps_handlers(self, caplog: pytest.LogCaptureFixture) -> None:
        """Made without ``logger.info``, a metric line is still a whole stdlib record: it reaches
        caplog through propagation, a filter on the logger applies, a formatter renders it, and it
        names the exporting thread and the time of the export."""
        metrics = logging.getLogger("gyrinx.tracker.metrics")
        quiet = logging.Filter()
        quiet.filter = lambda record: "tracker.hidden" not in record.getMessage()  # type: ignore[method-assign]
        metrics.addFilter(quiet)
        try:
            with caplog.at_level(logging.INFO, logger="gyrinx.tracker"):
                gyrinx_tracker.configure(exporter="console", global_providers="never", handle_sigterm=False)
                gyrinx_tracker.track("shown", status=200)
                gyrinx_tracker.track("hidden")
                before = time.time()
                assert gyrinx_tracker.flush(10)
        finally:
            metrics.removeFilter(quiet)
        records = [record for record in caplog.records if record.name == "gyrinx.tracker.metrics"]
        assert [json.loads(record.getMessage())["metric"] for record in records] == ["tracker.shown"]
        record = records[0]
        formatter = logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(threadName)s] %(pathname)s: %(message)s")
        assert formatter.format(record).endswith(
            f" INFO gyrinx.tracker.metrics [{record.threadName}] (gyrinx_tracker): {record.getMessage()}")
        assert record.threadName.startswith("gyrinx-tracker") or record.threadName == "MainThread"
        assert before - 1 <= record.created <= time.time()
        assert record.levelno == logging.INFO and record.args == () and record.exc_info is None


class TestStderrFallback:
    def test_a_metric_line_that_could_not_be_written_is_written_at_the_next_export(
            self, monkeypatch: pytest.MonkeyPatch) -> None:
        """On a broken stderr the export fails and counts; once stderr works the unchanged series still goes out."""
        import io
        import os

        read_end, write_end = os.pipe()
        os.close(read_end)
        broken = os.fdopen(write_end, "w")
        monkeypatch.setattr(logging.getLogger("gyrinx.tracker"), "propagate", False)  # no handler anywhere
        monkeypatch.setattr("sys.stderr", broken)
        gyrinx_tracker.configure(exporter="console", global_providers="never", handle_sigterm=False)
        gyrinx_tracker.track("api_call", status=200)
        gyrinx_tracker.flush(10)
        assert gyrinx_tracker.stats()["metric_exports_failed"] == 1
        working = io.StringIO()
        monkeypatch.setattr("sys.stderr", working)
        gyrinx_tracker.flush(10)  # nothing new was tracked: the series is still owed
        metric_lines = [json.loads(line) for line in working.getvalue().splitlines() if line.startswith('{"metric"')]
        api_calls = [line["value"] for line in metric_lines if line["metric"] == "tracker.api_call"]
        assert api_calls == [1]
        broken.close()
