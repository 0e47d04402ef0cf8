"""Exits bounded when the console output blocks: the exporter thread holds the app's logging
handler's lock, stuck writing to a pipe nobody reads, and the process is told to end.

The exit path must not wait for that lock (its own "dropped N events" line goes to stderr without
logging), so the process ends within ``SHUTDOWN_TIMEOUT`` + 1 s of the signal, whatever the
handler order. The bound is functional (what Cloud Run's grace allows), checked with a generous
margin for a loaded machine; the process was still alive after 30 s before the fix. The stderr
line accounts for what could not be written.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.faults import ROOT

CHILD = Path(__file__).parents[1] / "processes" / "blocked_stdout_child.py"
EVENTS = 20_000
SHUTDOWN_TIMEOUT = 2.0
BOUND = SHUTDOWN_TIMEOUT + 1.0 + 4.0  # the promise, plus a margin for two shared, loaded cores
LOST = re.compile(r"gyrinx_tracker: dropped (\d+) events not exported by the (\w+) deadline")

SIGNALS = {"sigint": signal.SIGINT, "sigterm_exit": signal.SIGTERM, "sigterm_first": signal.SIGTERM,
           "sigterm": signal.SIGTERM, "exit": None}


@pytest.mark.parametrize("order", list(SIGNALS))
def test_a_blocked_console_does_not_hold_the_exit(order: str) -> None:
    """The process ends within the bound, and says on stderr how many events it could not write."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GYRINX_TRACKER_", "OTEL_", "K_"))}
    env.pop("GOOGLE_CLOUD_PROJECT", None)
    env.update(PYTHONPATH=str(ROOT), GYRINX_TRACKER_EXPORTER="console",
               GYRINX_TRACKER_SHUTDOWN_TIMEOUT=str(SHUTDOWN_TIMEOUT))
    child = subprocess.Popen([sys.executable, str(CHILD), order, str(EVENTS)], env=env, cwd=ROOT,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # stdout: never read
    try:
        assert child.stderr is not None
        assert child.stderr.readline() == b"READY\n"
        sent = time.monotonic()
        if SIGNALS[order] is not None:
            child.send_signal(SIGNALS[order])
        try:
            child.wait(BOUND)
        except subprocess.TimeoutExpired:
            pytest.fail(f"still alive {BOUND} s after {order}")
        took = time.monotonic() - sent
        stderr = child.stderr.read().decode(errors="replace")
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        for pipe in (child.stdout, child.stderr):
            if pipe is not None:
                pipe.close()
    assert took < BOUND
    assert "Fatal Python error" not in stderr, stderr[-2000:]
    lost = LOST.search(stderr)
    assert lost and 0 < int(lost.group(1)) <= EVENTS, stderr[-2000:]
