"""A process that tracks events, then waits for SIGTERM (tests/process/test_shutdown.py).

Usage: ``python sigterm_child.py ORDER EVENTS``. ORDER says who handles SIGTERM:

* ``default``: nobody but the tracker (Python's default disposition underneath);
* ``app_first``: the app installs its handler (prints, exits 3) before importing the tracker;
* ``app_chains``: after the tracker, the app installs a handler that calls the one it replaced;
* ``app_replaces``: after the tracker, the app installs a handler that does not call ours;
* ``ignore``: the app ignores SIGTERM before importing the tracker, and ends when stdin closes.

A late ``atexit`` hook (registered before the tracker's, so it runs after it) prints the books
as ``BOOKS {json}``; with the default disposition the process dies by the signal and no exit hook
runs, and the tracker's one exit line is the only account.
"""

from __future__ import annotations

import atexit
import json
import signal
import sys
import time
from types import FrameType
from typing import Any

ORDER, EVENTS = sys.argv[1], int(sys.argv[2])


def report() -> None:
    import gyrinx_tracker

    print("BOOKS " + json.dumps(gyrinx_tracker.stats()), flush=True)


def app_handler(signum: int, frame: FrameType | None) -> None:
    print("APP HANDLER", flush=True)
    sys.exit(3)


atexit.register(report)
if ORDER == "app_first":
    signal.signal(signal.SIGTERM, app_handler)
elif ORDER == "ignore":
    signal.signal(signal.SIGTERM, signal.SIG_IGN)

import gyrinx_tracker  # noqa: E402 - the order of imports and handlers is what is tested

gyrinx_tracker.configure(flush_interval=60.0)  # nothing leaves before the signal unless flushed
for index in range(EVENTS):
    gyrinx_tracker.track("before_sigterm", index=index)

if ORDER == "app_replaces":
    signal.signal(signal.SIGTERM, app_handler)
elif ORDER == "app_chains":
    ours: Any = signal.getsignal(signal.SIGTERM)

    def chained(signum: int, frame: FrameType | None) -> None:
        print("APP HANDLER", flush=True)
        if callable(ours):
            ours(signum, frame)
        sys.exit(3)

    signal.signal(signal.SIGTERM, chained)

print("READY", flush=True)
if ORDER == "ignore":
    sys.stdin.read()
else:
    time.sleep(60)
    print("NOT KILLED", flush=True)
