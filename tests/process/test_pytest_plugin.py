"""The pytest plugin, in projects of their own run as real pytest subprocesses (where it is active)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ORIGINAL_PROJECT = Path(__file__).parents[1] / "original_project"
pytestmark = pytest.mark.slow  # each test starts a pytest of its own


def run_pytest(project: Path, *args: str, env: dict[str, str] | None = None) -> tuple[dict[str, int], str]:
    """Run pytest in ``project``; the outcome counts ('passed', 'failed', ...) and the output."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("GYRINX_TRACKER_", "PYTEST_"))}
    result = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", *args],
                            cwd=project, capture_output=True, text=True, timeout=120, env={**environ, **(env or {})})
    tail = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""
    counts = {word: int(number) for number, word in re.findall(r"(\d+) (passed|failed|error)", tail)}
    return counts, result.stdout + result.stderr


def make_project(tmp_path: Path, tests: str, ini: str = "") -> Path:
    (tmp_path / "pytest.ini").write_text("[pytest]\nfilterwarnings = error\n" + ini)
    (tmp_path / "test_project.py").write_text(textwrap.dedent(tests))
    return tmp_path


class TestOriginalStyleProject:
    def test_the_original_tests_pass_with_only_the_import_swapped(self) -> None:
        """caplog on gyrinx.tracker and json.loads(record.message) == payload: all ten pass."""
        counts, output = run_pytest(ORIGINAL_PROJECT)
        assert counts == {"passed": 10}, output

    def test_without_the_plugin_they_fail_as_the_issue_reported(self) -> None:
        """With background delivery the records arrive after the assertions: the plugin is what fixes it."""
        counts, output = run_pytest(ORIGINAL_PROJECT, "-p", "no:gyrinx_tracker")
        assert counts.get("failed", 0) >= 8, output


class TestIsolation:
    def test_events_a_test_left_queued_never_reach_the_next_test(self, tmp_path: Path) -> None:
        """A test that chose background delivery and did not flush: its events stay out of the next test."""
        project = make_project(tmp_path, """
            import json, logging
            import gyrinx_tracker

            def test_leaves_events_queued():
                gyrinx_tracker.configure(delivery="background", flush_interval=30)
                for _ in range(50):
                    gyrinx_tracker.track("left_behind")

            def test_next_sees_only_its_own(caplog):
                caplog.set_level(logging.INFO, logger="gyrinx.tracker")
                gyrinx_tracker.configure()
                gyrinx_tracker.track("mine")
                assert [json.loads(r.message)["event"] for r in caplog.records] == ["mine"]
        """)
        counts, output = run_pytest(project)
        assert counts == {"passed": 2}, output

    def test_a_configure_call_never_leaks_into_the_next_test(self, tmp_path: Path) -> None:
        """configure(exporter="none") or background delivery in one test: the next starts from the defaults."""
        project = make_project(tmp_path, """
            import json, logging
            import gyrinx_tracker

            def test_silences_its_own_events():
                gyrinx_tracker.configure(exporter="none")
                gyrinx_tracker.track("silenced")

            def test_goes_background():
                gyrinx_tracker.configure(delivery="background", flush_interval=30)

            def test_next_still_sees_events_in_caplog(caplog):
                caplog.set_level(logging.INFO, logger="gyrinx.tracker")
                gyrinx_tracker.track("seen")
                assert [json.loads(r.message)["event"] for r in caplog.records] == ["seen"]
                assert gyrinx_tracker.stats()["exported"] == 1
        """)
        counts, output = run_pytest(project)
        assert counts == {"passed": 3}, output

    def test_no_network_even_on_google_cloud(self, tmp_path: Path) -> None:
        """With GOOGLE_CLOUD_PROJECT and K_SERVICE set, events still go to the local logger."""
        project = make_project(tmp_path, """
            import json, logging
            from gyrinx_tracker import track, stats

            def test_local(caplog):
                caplog.set_level(logging.INFO, logger="gyrinx.tracker")
                track("user_login")
                assert json.loads(caplog.records[0].message) == {"event": "user_login", "n": 1}
                assert stats()["exported"] == 1
        """)
        counts, output = run_pytest(project, env={"GOOGLE_CLOUD_PROJECT": "prod", "K_SERVICE": "web",
                                                  "GCE_METADATA_HOST": "127.0.0.1:9"})
        assert counts == {"passed": 1}, output

    def test_a_test_may_still_ask_for_another_exporter(self, tmp_path: Path) -> None:
        """GYRINX_TRACKER_EXPORTER set by the test wins over the plugin's local default."""
        project = make_project(tmp_path, """
            import gyrinx_tracker

            def test_none(monkeypatch):
                monkeypatch.setenv("GYRINX_TRACKER_EXPORTER", "none")
                gyrinx_tracker.configure()
                gyrinx_tracker.track("user_login")
                assert gyrinx_tracker.stats()["emitted"] == 0
        """)
        counts, output = run_pytest(project)
        assert counts == {"passed": 1}, output

    def test_off_in_the_ini_leaves_delivery_as_in_production(self, tmp_path: Path) -> None:
        """gyrinx_tracker = off: background delivery, so nothing is there before a flush."""
        project = make_project(tmp_path, """
            import logging
            import gyrinx_tracker

            def test_background(caplog):
                caplog.set_level(logging.INFO, logger="gyrinx.tracker")
                gyrinx_tracker.configure(flush_interval=30)
                gyrinx_tracker.track("user_login")
                assert caplog.records == []
                assert gyrinx_tracker.flush(5)
                assert [r.name for r in caplog.records if r.name == "gyrinx.tracker"] == ["gyrinx.tracker"]
        """, ini="gyrinx_tracker = off\n")
        counts, output = run_pytest(project)
        assert counts == {"passed": 1}, output


class TestTrackedFixture:
    def test_helpers_read_naturally_and_work_beside_caplog(self, tmp_path: Path) -> None:
        """assert_tracked / assert_not_tracked / counter / histogram, with caplog seeing the same events."""
        project = make_project(tmp_path, """
            import json, logging
            from gyrinx_tracker import track

            def test_view(tracked, caplog):
                caplog.set_level(logging.INFO, logger="gyrinx.tracker")
                for status in (200, 200, 404):
                    track("api_call", endpoint="/a", status=status)
                track("operation_duration", value=12.5, operation="report")
                tracked.assert_tracked("api_call", times=2, status=200)
                tracked.assert_tracked("operation_duration", value=12.5)
                tracked.assert_not_tracked("api_call", status=500)
                assert tracked.counter("api_call") == 3
                assert tracked.counter("api_call", status=404) == 1
                assert tracked.histogram("operation_duration") == (1, 12.5)
                tracked.assert_metrics_match_events("api_call")
                assert [json.loads(r.message)["event"] for r in caplog.records] == ["api_call"] * 3 + [
                    "operation_duration"]
        """)
        counts, output = run_pytest(project)
        assert counts == {"passed": 1}, output

    def test_a_failed_assertion_says_what_was_tracked(self, tmp_path: Path) -> None:
        """The message names the expectation and lists the events that were tracked instead."""
        project = make_project(tmp_path, """
            from gyrinx_tracker import track

            def test_view(tracked):
                track("api_call", status=200)
                tracked.assert_tracked("api_call", status=500)
        """)
        counts, output = run_pytest(project)
        assert counts == {"failed": 1}, output
        assert "expected 'api_call' with status=500 at least once, found 0" in output
        assert "tracked: api_call{'status': 200}" in output


class TestMetricQuestions:
    @pytest.mark.parametrize(("question", "why"), [
        ('tracked.counter("list_viewed", user_id=4242)', "names one thing"),
        ('tracked.capture.count("list_viewed", user_id=4242)', "names one thing"),
        ('tracked.counter("list_viewed", _dropped_labels=1)', "the tracker's own"),
    ])
    def test_a_label_metrics_do_not_carry_fails_and_says_why(self, tmp_path: Path, question: str, why: str) -> None:
        """count('list_viewed', user_id=4242) used to answer 0 silently; now it explains the rule."""
        project = make_project(tmp_path, f"""
            import pytest
            from gyrinx_tracker import track
            from gyrinx_tracker.testing import MetricLabelError

            def test_question(tracked):
                track("list_viewed", user_id=4242, list_type="public")
                assert tracked.counter("list_viewed", list_type="public") == 1
                with pytest.raises(MetricLabelError, match="{why}"):
                    {question}
        """)
        counts, output = run_pytest(project)
        assert counts == {"passed": 1}, output
