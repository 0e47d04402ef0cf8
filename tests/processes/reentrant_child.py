"""A process whose signal handler calls ``track()`` at every stage of the first ``track()``'s
start-up (tests/process/test_reentrancy.py).

Usage: ``python reentrant_child.py BOOKS_PATH EVENTS INTERVAL_US``. An interval timer (SIGALRM
every INTERVAL_US microseconds) runs a handler that tracks one ``from_signal`` event, so the
handler interrupts the main thread between its bytecodes while it imports and builds the pipeline
(holding the install lock, importing modules half-way), then while it tracks EVENTS ``main``
events. The timer stops, ``flush`` runs, and the books and the number of calls the handler made
are written to BOOKS_PATH as JSON. A hang is the failure the test looks for (it kills the child).
"""

from __future__ import annotations

import json
import signal
import sys
from pathlib import Path
from types import FrameType

import gyrinx_tracker

calls = {"signal": 0}


def on_alarm(signum: int, frame: FrameType | None) -> None:
    calls["signal"] += 1
    gyrinx_tracker.track("from_signal", seq=calls["signal"])


def main() -> None:
    books, events, interval_us = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, interval_us / 1e6, interval_us / 1e6)
    for seq in range(events):
        gyrinx_tracker.track("main", seq=seq)
    signal.setitimer(signal.ITIMER_REAL, 0)
    gyrinx_tracker.flush(30)
    Path(books).write_text(json.dumps({"stats": gyrinx_tracker.stats(), "signal_calls": calls["signal"]}))


if __name__ == "__main__":
    main()
