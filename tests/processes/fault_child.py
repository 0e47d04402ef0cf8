"""A process tracking events against a backend a fault test controls (tests/process/test_faults*.py).

Usage: ``python fault_child.py BOOKS_PATH EVENTS ROUNDS PAUSE LABEL_BYTES END``. The output is
chosen by the GYRINX_TRACKER_* / OTEL_* variables the test sets. The process tracks EVENTS events
in ROUNDS rounds PAUSE seconds apart, each with a unique ``seq`` label (and, with LABEL_BYTES > 0,
a distinct string label of that many bytes), then ends as END says: ``flush`` (flush(30), then
exit) or ``exit`` (straight to interpreter exit: the tracker's exit hook). An ``atexit`` hook
registered before the tracker's, so it runs after it, writes the books, the peak RSS and how long
the exit took to BOOKS_PATH as JSON.
"""

from __future__ import annotations

import atexit
import json
import resource
import sys
import time
from pathlib import Path

_state: dict[str, float] = {"exit_began": 0.0}


def _write_books(path: Path) -> None:
    import gyrinx_tracker

    now = time.monotonic()
    path.write_text(json.dumps({
        "stats": gyrinx_tracker.stats(),
        "peak_rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        "exit_seconds": now - _state["exit_began"] if _state["exit_began"] else None,
    }))


def main() -> None:
    books, events, rounds, pause, label_bytes, end = sys.argv[1:7]
    atexit.register(_write_books, Path(books))  # first registered: runs after the tracker's hook
    import gyrinx_tracker

    count, per_round = int(events), max(1, int(events) // int(rounds))
    size = int(label_bytes)
    for seq in range(count):
        if size:
            gyrinx_tracker.track("fault_probe", seq=seq, blob=f"{seq:012d}".ljust(size, "x"))
        else:
            gyrinx_tracker.track("fault_probe", seq=seq)
        if (seq + 1) % per_round == 0 and seq + 1 < count:
            time.sleep(float(pause))
    if end == "flush":
        gyrinx_tracker.flush(30)
    _state["exit_began"] = time.monotonic()


if __name__ == "__main__":
    main()
