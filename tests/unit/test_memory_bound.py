"""The queue's byte budget in process: past max_queue_bytes an event keeps its count and loses its
labels visibly, and the budget is given back on export (the memory of real processes with a hung
exporter is tests/process/test_memory_bound.py)."""

from __future__ import annotations

import logging

import pytest

import gyrinx_tracker
from gyrinx_tracker import track
from gyrinx_tracker.testing import capture_events


class TestByteBudget:
    def test_past_the_budget_a_large_event_keeps_its_count_and_loses_its_labels_visibly(
            self, caplog: pytest.LogCaptureFixture) -> None:
        """An event larger than what is left of max_queue_bytes is kept with n and value; its labels
        are replaced by their count in _dropped_labels, and a warning says why."""
        caplog.set_level(logging.WARNING, logger="gyrinx_tracker")
        with capture_events(strict=False, max_queue_bytes=10_000) as captured:
            track("big", 2, 1.5, blob="x" * 8_000, other="y")
            track("small", blob="x" * 100)
            big, small = captured.events
        assert (big.n, big.value, big.labels) == (2, 1.5, {"_dropped_labels": 2})
        assert small.labels == {"blob": "x" * 100}
        assert any("labels of event 'big' were dropped" in r.getMessage() for r in caplog.records)

    def test_the_budget_is_given_back_when_the_batch_is_exported(self) -> None:
        """Large events one after another, each exported before the next, all keep their labels."""
        with capture_events(strict=False, max_queue_bytes=40_000) as captured:
            for i in range(20):
                track("big", blob=f"{i}" + "x" * 8_000)
                gyrinx_tracker.flush()
            assert [len(event.labels["blob"]) for event in captured.events] == [8_001] * 10 + [8_002] * 10
