"""A process whose console output blocks (stdout is a pipe nobody reads), then is told to end
(tests/process/test_blocked_exit.py).

Usage: ``python blocked_stdout_child.py ORDER EVENTS``. The app logs through
``logging.basicConfig(stream=sys.stdout)``, so the tracker's exporter thread writes the events
through the app's handler (holding its lock) and blocks on the full pipe. ORDER:

* ``sigint``: no handler of the app's; SIGINT raises KeyboardInterrupt in the main thread;
* ``sigterm_exit``: the app's SIGTERM handler calls ``sys.exit`` (installed after the tracker's);
* ``sigterm_first``: the same handler, installed before the tracker is imported;
* ``sigterm``: nobody's handler but the tracker's;
* ``exit``: the main thread simply ends.

It says ``READY`` on stderr after tracking EVENTS events, then sleeps (or ends, for ``exit``).
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import time
from types import FrameType

ORDER, EVENTS = sys.argv[1], int(sys.argv[2])


def app_handler(signum: int, frame: FrameType | None) -> None:
    sys.exit(3)


if ORDER == "sigterm_first":
    signal.signal(signal.SIGTERM, app_handler)
logging.basicConfig(stream=sys.stdout, level=logging.INFO, format="%(message)s")
import gyrinx_tracker  # noqa: E402 - after the handler order the test asks for

if ORDER == "sigterm_exit":
    signal.signal(signal.SIGTERM, app_handler)
for seq in range(EVENTS):
    gyrinx_tracker.track("blocked", seq=seq, padding="x" * 100)
os.write(2, b"READY\n")
if ORDER != "exit":
    time.sleep(120)
