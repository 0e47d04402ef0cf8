"""The one guard: internal failures never reach the app, and each one is counted and reported."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter

import gyrinx_tracker
from gyrinx_tracker import _api, _guard
from gyrinx_tracker._pipeline.pipeline import Pipeline


@pytest.fixture(autouse=True)
def _fresh_counts() -> None:
    _guard.reset()


class _Broken(Exception):
    pass


def _configure(**options: object) -> None:
    gyrinx_tracker.configure(log_exporter=InMemoryLogRecordExporter(), global_providers="never", **options)


class TestTrackGuard:
    def test_an_internal_error_in_track_is_counted_as_a_dropped_event(
            self, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
        """A bug below track() costs that event, visibly: dropped as track_failed, counted, warned."""
        _configure()

        def broken(self: Pipeline, *args: object) -> None:
            raise _Broken("boom")

        monkeypatch.setattr(Pipeline, "submit", broken)
        gyrinx_tracker.track("user_login")
        gyrinx_tracker.track("user_login")
        books = gyrinx_tracker.stats()
        assert books["dropped_by_reason"] == {"track_failed": 2}
        assert books["emitted"] == 2 and books["dropped"] == 2
        assert books["internal_errors"] == {"track": 2}
        assert [r.getMessage() for r in caplog.records if "track failed" in r.getMessage()] == [
            "gyrinx_tracker: track failed: _Broken('boom')"]

    def test_strict_mode_reraises(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Under strict=True (test suites) the error reaches the caller."""
        _configure(strict=True)

        def broken(self: Pipeline, *args: object) -> None:
            raise _Broken("boom")

        monkeypatch.setattr(Pipeline, "submit", broken)
        with pytest.raises(_Broken):
            gyrinx_tracker.track("user_login")


class TestControlGuards:
    @pytest.mark.parametrize(("name", "fallback"), [("flush", False), ("shutdown", False)])
    def test_flush_and_shutdown_return_their_fallback(
            self, name: str, fallback: bool, monkeypatch: pytest.MonkeyPatch) -> None:
        """flush() and shutdown() report failure as False, never as an exception."""
        _configure()
        gyrinx_tracker.track("user_login")

        def broken(self: Pipeline, timeout: float) -> bool:
            raise _Broken(name)

        with monkeypatch.context() as patch:
            patch.setattr(Pipeline, name, broken)
            assert getattr(gyrinx_tracker, name)() is fallback
        assert _guard.counts() == {name: 1}

    def test_stats_never_raises(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """stats() is guarded too: a broken snapshot gives empty books, and is counted."""
        _configure()

        def broken(self: Pipeline) -> object:
            raise _Broken("stats")

        monkeypatch.setattr(Pipeline, "snapshot", broken)
        assert gyrinx_tracker.stats()["emitted"] == 0
        assert _guard.counts() == {"stats": 1}

    def test_the_exit_hook_is_guarded(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """The exit hook runs behind the guard: interpreter exit goes on."""
        _configure()

        def broken(self: Pipeline, timeout: float) -> bool:
            raise _Broken("exit")

        monkeypatch.setattr(Pipeline, "finish_at_exit", broken)
        _api._at_exit()
        assert _guard.counts() == {"exit": 1}


class _RaisingExporter(InMemoryLogRecordExporter):
    def export(self, batch: Sequence[object]) -> object:  # type: ignore[override]
        raise _Broken("exporter")


class TestWorkerGuard:
    def test_an_output_that_raises_costs_its_batch_and_nothing_else(self) -> None:
        """The worker survives an output bug; the batch is counted as export_failed."""
        gyrinx_tracker.configure(log_exporter=_RaisingExporter(), global_providers="never")
        gyrinx_tracker.track("a")
        assert gyrinx_tracker.flush(5.0)
        gyrinx_tracker.track("b")
        assert gyrinx_tracker.flush(5.0)
        books = gyrinx_tracker.stats()
        assert books["dropped_by_reason"] == {"export_failed": 2}
        assert books["emitted"] == books["dropped"] == 2
