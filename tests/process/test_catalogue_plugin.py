"""The event catalogue under the pytest plugin: a project's own test fails at the line that tracked
something the catalogue refuses (a real pytest subprocess, as in test_pytest_plugin)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.process.test_pytest_plugin import make_project, run_pytest

EXAMPLE = Path(__file__).parents[2] / "examples" / "events.json"
pytestmark = pytest.mark.slow  # each test starts a pytest of its own


class TestCatalogueUnderThePlugin:
    def test_the_tracked_fixture_fails_the_test_at_the_call_site(self, tmp_path: Path) -> None:
        """With GYRINX_TRACKER_CATALOGUE set, an unknown event and a bad label fail their tests on the track() line."""
        project = make_project(tmp_path, """
            from gyrinx_tracker import track

            def test_good(tracked):
                track("api_call", endpoint="/api/lists", method="GET", status=200)
                assert tracked.counter("api_call") == 1  # counted; its log record is sampled at 0.1

            def test_unknown(tracked):
                track("page_viewed", page="home")  # line 9

            def test_bad_label(tracked):
                track("api_call", endpoint="/api/lists", method="FETCH", status=200)  # line 12
        """)
        counts, output = run_pytest(project, env={"GYRINX_TRACKER_CATALOGUE": str(EXAMPLE)})
        assert counts == {"passed": 1, "failed": 2}, output
        assert "TrackerInputError: event 'page_viewed' is not in the catalogue" in output
        assert "label 'method' of event 'api_call'" in output
        assert "test_project.py:9: " in output and "test_project.py:12: " in output, output
