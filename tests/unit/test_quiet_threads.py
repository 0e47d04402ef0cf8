"""The tracker's own threads block the app's signals, so a SIGTERM always wakes the app's main thread.

Delivered to one of our threads instead, CPython's handler waited for the main thread's blocking
call to return (a 60 s sleep: the child exited after 59.5 s, 2 runs in 34; see _pipeline/quiet.py).
Read from Linux's /proc, the kernel's own view of each thread's mask.
"""

from __future__ import annotations

import signal
import sys
import threading
from pathlib import Path

import pytest

import gyrinx_tracker

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/task")


def _blocked(thread: threading.Thread) -> int:
    status = Path(f"/proc/self/task/{thread.native_id}/status").read_text(encoding="ascii")
    (line,) = [line for line in status.splitlines() if line.startswith("SigBlk:")]
    return int(line.split()[1], 16)


def test_the_exporter_thread_blocks_sigterm_and_sigint_and_the_main_thread_does_not() -> None:
    gyrinx_tracker.configure(exporter="console")
    gyrinx_tracker.track("quiet_threads")
    assert gyrinx_tracker.flush(10)
    ours = [thread for thread in threading.enumerate() if thread.name.startswith("gyrinx-tracker")]
    assert ours
    for thread in ours:
        mask = _blocked(thread)
        for signum in (signal.SIGTERM, signal.SIGINT):
            assert mask & (1 << (signum - 1)), (thread.name, hex(mask))
    main = _blocked(threading.main_thread())
    assert not main & (1 << (signal.SIGTERM - 1))
