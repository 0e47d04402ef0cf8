"""The line writer in a forked child: the process-wide lock is replaced, so a fork mid-write cannot
deadlock it (the writer's other rules are tests/unit/test_linewriter.py)."""

from __future__ import annotations

import subprocess
import sys
import textwrap


class TestFork:
    def test_a_child_forked_while_the_lock_is_held_can_still_write(self) -> None:
        """The process-wide lock is replaced in a forked child, so a fork mid-write cannot deadlock it."""
        script = textwrap.dedent("""
            import os, sys
            from gyrinx_tracker._outputs.shared import linewriter as _linewriter
            _linewriter._process_lock.acquire()  # as if the exporter thread were writing at fork time
            pid = os.fork()
            if pid == 0:
                written, error = _linewriter.write_whole(sys.stdout, ["from the child\\n"])
                os._exit(0 if written == 1 else 1)
            _, status = os.waitpid(pid, 0)
            sys.exit(os.waitstatus_to_exitcode(status))
        """)
        result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=30)
        assert (result.returncode, result.stdout) == (0, "from the child\n"), result.stderr
