"""At exit, a child interpreter reports the warnings its rate limit held back that no later warning
mentioned; with nothing held back it says nothing more; and after ``logging.basicConfig()`` the lost
events are named in a warning the same configuration shows."""

from __future__ import annotations

import subprocess
import sys
import textwrap


def _run(script: str) -> subprocess.CompletedProcess[str]:
    env_script = textwrap.dedent(script)
    return subprocess.run([sys.executable, "-c", env_script], capture_output=True, text=True, timeout=60)


class TestAtExit:
    def test_held_back_warnings_are_counted_in_one_line_at_exit(self) -> None:
        """Three track(None): one warning at once, and at exit '2 similar warnings suppressed' with the cause."""
        result = _run("""
            import gyrinx_tracker
            gyrinx_tracker.configure(exporter="console", handle_sigterm=False, local_metrics=False)
            for _ in range(3):
                gyrinx_tracker.track(None)
        """)
        assert result.returncode == 0, result.stderr
        warnings = [line for line in result.stderr.splitlines() if line.startswith("gyrinx_tracker: ")]
        assert len([w for w in warnings if "event name (None)" in w]) == 1, result.stderr
        assert warnings[-1] == ("gyrinx_tracker: 2 similar warnings suppressed since their last report "
                                "(by cause: input:invalid_event_name 2)")

    def test_nothing_held_back_means_no_report(self) -> None:
        """A clean run prints its events and no warning at all."""
        result = _run("""
            import gyrinx_tracker
            gyrinx_tracker.configure(exporter="console", handle_sigterm=False, local_metrics=False)
            gyrinx_tracker.track("user_login")
        """)
        assert result.returncode == 0, result.stderr
        assert "gyrinx_tracker: " not in result.stderr and '"event":"user_login"' in result.stderr

    def test_basic_config_shows_the_warning_about_the_discarded_events(self) -> None:
        """logging.basicConfig(): no event line, and the WARNING line naming logging_discarded and the fix."""
        result = _run("""
            import logging
            logging.basicConfig()
            import gyrinx_tracker
            gyrinx_tracker.configure(exporter="console", handle_sigterm=False, local_metrics=False)
            gyrinx_tracker.track("user_login")
            gyrinx_tracker.flush()
            print(gyrinx_tracker.stats()["dropped_by_reason"])
        """)
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == "{'logging_discarded': 1}"
        assert "user_login" not in result.stderr
        assert ("WARNING:gyrinx_tracker:gyrinx_tracker: 1 event(s) were discarded by the logging configuration"
                in result.stderr)
        assert "Fix: logging.getLogger('gyrinx.tracker').setLevel(logging.INFO)" in result.stderr
