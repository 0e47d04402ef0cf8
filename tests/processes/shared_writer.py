"""One of several processes writing events to one shared stream (tests/process/test_shared_streams.py).

Usage: ``python shared_writer.py MODE PROC EVENTS BOOKS_PATH BARRIER_DIR [short]``. The process
configures the output named by MODE, signals that it is ready, waits for the go file (so every
writer starts at once and their writes really contend), tracks EVENTS events (every 50th with a
label of 4-64 KiB, so its line is longer than PIPE_BUF, unless ``short`` is given), flushes and
writes its books as JSON.

MODE: ``stdout`` (Cloud Run structured lines on stdout), ``fallback`` (local JSON on stderr, the
app configured no logging), ``handler`` (local JSON through SharedStreamHandler on stdout),
``plain_handler`` (local JSON through the stdlib StreamHandler on stdout).
"""

from __future__ import annotations

import json
import logging
import random
import sys
import time
from pathlib import Path

import gyrinx_tracker

BIG_EVERY = 50


def blob(proc: int, seq: int, length: int) -> str:
    """A label whose every byte says which event it belongs to, so a splice cannot go unseen."""
    unit = f"<{proc}:{seq}>"
    return (unit * (length // len(unit) + 1))[:length]


def configure(mode: str) -> None:
    options = {"max_string": 70_000, "max_queue": 100_000, "handle_sigterm": False}
    if mode == "stdout":
        gyrinx_tracker.configure(exporter="gcp", gcp_transport="stdout", project_id="proj", **options)
        return
    if mode in ("handler", "plain_handler"):
        handler = logging.StreamHandler(sys.stdout)
        if mode == "handler":
            from gyrinx_tracker.handlers import SharedStreamHandler

            handler = SharedStreamHandler(sys.stdout)
        events = logging.getLogger("gyrinx.tracker")
        events.addHandler(handler)
        events.setLevel(logging.INFO)
        events.propagate = False
    gyrinx_tracker.configure(exporter="console", **options)


def wait_for_go(barrier: Path, proc: int) -> None:
    (barrier / f"ready-{proc}").touch()
    while not (barrier / "go").exists():
        time.sleep(0.005)


def main() -> None:
    mode, proc, events, books, barrier = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), Path(sys.argv[4]), Path(sys.argv[5])
    big_every = 0 if sys.argv[6:] == ["short"] else BIG_EVERY
    configure(mode)
    rng = random.Random(proc)
    wait_for_go(barrier, proc)
    for seq in range(events):
        if big_every and seq % big_every == 0:
            length = rng.randint(4 * 1024, 64 * 1024)
            gyrinx_tracker.track("shared", proc=proc, seq=seq, blob=blob(proc, seq, length), blob_len=length)
        else:
            gyrinx_tracker.track("shared", proc=proc, seq=seq)
    flushed = gyrinx_tracker.flush(120)
    books.write_text(json.dumps({"flushed": flushed, **gyrinx_tracker.stats()}))


if __name__ == "__main__":
    main()
