"""Fixtures for the collector tests: the real collector binary, built from collector-config/.

The binary comes from ``collector-config/build.py`` (what ``make collector`` runs), which builds it
once and then reuses it from its cache. Where no Go toolchain is installed these tests skip with
that reason; in CI (``GYRINX_TRACKER_REQUIRE_COLLECTOR=1``, set by ``.ci/run``) a missing binary is
a failure instead, so a broken build can never turn into a green run that tested nothing.
``GYRINX_COLLECTOR_BINARY=/path/to/otelcol-gyrinx`` uses a binary built elsewhere.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.collector.collector_helpers import CONFIG_DIR, CollectorFactory

BUILD_SCRIPT = CONFIG_DIR / "build.py"
# A cold build on a 2-core machine takes several minutes; give it ample room but not forever.
BUILD_TIMEOUT_S = 45 * 60


def _require() -> bool:
    return os.environ.get("GYRINX_TRACKER_REQUIRE_COLLECTOR") == "1"


def _unavailable(reason: str) -> None:
    """Skip, or fail when the collector is required (CI)."""
    if _require():
        pytest.fail(f"GYRINX_TRACKER_REQUIRE_COLLECTOR=1 but {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def collector_binary() -> Path:
    """Path of the collector binary, building it through build.py if needed."""
    explicit = os.environ.get("GYRINX_COLLECTOR_BINARY")
    if explicit:
        path = Path(explicit)
        if not (path.is_file() and os.access(path, os.X_OK)):
            _unavailable(f"GYRINX_COLLECTOR_BINARY={explicit} is not an executable file")
        return path
    go = os.environ.get("GO", "go")
    if shutil.which(go) is None:
        _unavailable(
            f"the Go toolchain ({go!r}) is not on PATH, so the collector cannot be built; "
            "install Go to run the collector tests (`make collector` builds the binary)"
        )
    result = subprocess.run(
        [sys.executable, str(BUILD_SCRIPT)],
        capture_output=True,
        text=True,
        timeout=BUILD_TIMEOUT_S,
        check=False,
    )
    lines = result.stdout.strip().splitlines()
    if result.returncode != 0 or not lines:
        # Go is there but the build failed: that is a real failure, not an environment gap.
        pytest.fail(
            f"collector-config/build.py failed (exit {result.returncode}):\n{result.stderr[-4000:]}",
            pytrace=False,
        )
    path = Path(lines[-1])
    assert path.is_file(), f"build.py printed {path}, which does not exist"
    return path


@pytest.fixture
def collectors(collector_binary: Path, tmp_path: Path) -> Iterator[CollectorFactory]:
    """Start collectors with ``collectors.start(configs, env)``; all are stopped at teardown."""
    factory = CollectorFactory(collector_binary, tmp_path)
    yield factory
    factory.stop_all()
