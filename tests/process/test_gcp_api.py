"""The gcp output's fallbacks, in child interpreters: without Google's packages, events are local
JSON with one warning; without credentials, the warning names them (the output itself, against
the loopback server, is tests/integration/test_gcp_api.py)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path


class TestFallback:
    def test_missing_google_packages_fall_back_to_local_json_with_one_warning(self) -> None:
        """If google-cloud-logging cannot be imported, events are JSON on the local logger (the original's promise)."""
        script = textwrap.dedent("""
            import sys
            sys.modules["google.cloud.logging_v2"] = None  # as if the gcp extra were not installed
            from gyrinx_tracker import track, flush
            track("user_login", user_id="1")
            track("user_login", user_id="2")
            flush(5)
        """)
        result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60,
                                env={"GOOGLE_CLOUD_PROJECT": "proj", "PATH": "/usr/bin:/bin"})
        assert result.returncode == 0, result.stderr
        lines = [line for line in result.stderr.splitlines() if line.startswith("{")]
        assert len(lines) == 2 and '"event":"user_login"' in lines[0]
        assert result.stderr.count("cannot use the gcp output") == 1

    def test_missing_credentials_are_named_as_such_not_as_a_missing_package(self, tmp_path: Path) -> None:
        """With the packages installed but no credentials anywhere, the warning says credentials, not the extra."""
        script = textwrap.dedent("""
            from gyrinx_tracker import track, flush
            track("user_login")
            flush(5)
        """)
        env = {"GOOGLE_CLOUD_PROJECT": "proj", "GYRINX_TRACKER_EXPORTER": "gcp", "PATH": "/usr/bin:/bin",
               "HOME": str(tmp_path), "NO_GCE_CHECK": "True", "GYRINX_TRACKER_GCP_METRICS": "false"}
        result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, env=env)
        assert result.returncode == 0, result.stderr
        assert "cannot use the gcp output: no Google credentials were found" in result.stderr
        assert "extra provides" not in result.stderr
        assert sum(line.startswith('{"event":"user_login"') for line in result.stderr.splitlines()) == 1
