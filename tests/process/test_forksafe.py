"""A fork while the exporter thread imports its output libraries must not hang the child.

gunicorn ``--preload`` forks workers while the master's exporter thread may be importing the
Cloud Logging client (the app tracked an event at import). A child forked mid-import inherits the
module's import lock, held forever by a thread it does not have: its own import of that module
hangs. The import here is a module that takes 0.5 s to import, in real subprocesses.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

SCRIPT = textwrap.dedent("""
    import os, sys, time
    sys.path.insert(0, sys.argv[1])
    import gyrinx_tracker
    from gyrinx_tracker import _api

    open_output = _api._open_output

    def slow_open_output(config, stats):
        import slow_module  # what importing google.cloud.logging is, in miniature
        return open_output(config, stats)

    _api._open_output = slow_open_output  # what the worker calls to build its output
    gyrinx_tracker.configure(exporter="console")
    gyrinx_tracker.track("before_fork")   # starts the exporter thread, which starts importing
    time.sleep(0.05)
    pid = os.fork()
    if pid == 0:
        import slow_module                # hangs forever if the fork copied a held import lock
        os._exit(0)
    _, status = os.waitpid(pid, 0)
    print("child exit", os.waitstatus_to_exitcode(status), flush=True)
""")


@pytest.mark.slow
class TestForkDuringImport:
    def test_a_child_forked_while_the_exporter_imports_can_import_the_same_module(self, tmp_path: Path) -> None:
        """The fork waits for the exporter thread's import, so the child's import finds the module ready."""
        (tmp_path / "slow_module.py").write_text("import time\ntime.sleep(0.5)\n")
        result = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path)], capture_output=True, text=True,
                                timeout=30)
        assert (result.returncode, result.stdout) == (0, "child exit 0\n"), result.stderr
