"""Fork FORKS children while this process tracks and exports continuously (tests/process/test_fork_load.py).

Usage: ``python fork_under_load.py FORKS``. A thread tracks all along and the exporter thread
flushes every 50 ms, so forks land before, during and just after exports (gunicorn ``--preload``
restarting workers mid-traffic). Each child tracks 1,000 events, flushes, and sends its books back
through a pipe; the last line printed is ``FORKS n BAD m [first bad children]``.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from typing import Any

import gyrinx_tracker

CHILD_EVENTS = 1_000


def traffic(stop: threading.Event) -> None:
    index = 0
    while not stop.is_set():
        gyrinx_tracker.track("parent_traffic", index=index)
        index += 1
        if index % 50 == 0:
            time.sleep(0.005)


def child(fork: int, pipe: int) -> None:
    for index in range(CHILD_EVENTS):
        gyrinx_tracker.track("child_event", fork=fork, index=index)
    flushed = gyrinx_tracker.flush(15)
    books = gyrinx_tracker.stats()
    os.write(pipe, json.dumps({"flushed": flushed, "exported": books["exported"], "queued": books["queued"],
                               "in_flight": books["in_flight"], "dropped": books["dropped_by_reason"]}).encode())
    os._exit(0)


def read_all(pipe: int) -> bytes:
    data = b""
    while chunk := os.read(pipe, 65536):
        data += chunk
    os.close(pipe)
    return data


def main(forks: int) -> None:
    gyrinx_tracker.configure(flush_interval=0.05)
    stop = threading.Event()
    threading.Thread(target=traffic, args=(stop,), daemon=True).start()
    time.sleep(1.0)
    bad: list[tuple[int, Any]] = []
    for fork in range(forks):
        readable, writable = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(readable)
            child(fork, writable)
        os.close(writable)
        data = read_all(readable)
        os.waitpid(pid, 0)
        try:
            books = json.loads(data)
        except ValueError:
            books = {"raw": data[:200].decode(errors="replace")}
        if books.get("exported") != CHILD_EVENTS:
            bad.append((fork, books))
    stop.set()
    print("FORKS", forks, "BAD", len(bad), json.dumps(bad[:5]), flush=True)


if __name__ == "__main__":
    main(int(sys.argv[1]))
