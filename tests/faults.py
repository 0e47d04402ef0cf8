"""Running ``tests/processes/fault_child.py`` and reading what it reports, for the fault suites."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CHILD = Path(__file__).parent / "processes" / "fault_child.py"
ROOT = Path(__file__).parent.parent
CLOUD_RUN_GRACE = 10.0  # seconds Cloud Run allows between SIGTERM and SIGKILL: the functional bound


@dataclass
class ChildRun:
    """What one child process reported: its books, peak RSS, exit duration, stderr, wall time."""

    stats: dict[str, Any]
    peak_rss_mb: float
    exit_seconds: float
    stderr: str
    returncode: int
    wall_seconds: float


def run_child(tmp: Path, env: dict[str, str], *, events: int, rounds: int = 1, pause: float = 0.0,
              label_bytes: int = 0, end: str = "flush", timeout: float = 120) -> ChildRun:
    """Run the child with ``env`` added to a clean environment; its books must have been written."""
    books = tmp / f"books-{time.monotonic_ns()}.json"
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("GYRINX_TRACKER_", "OTEL_"))}
    full_env.update({"GYRINX_TRACKER_GLOBAL_PROVIDERS": "never", "PYTHONPATH": str(ROOT)}, **env)
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, str(CHILD), str(books), str(events), str(rounds), str(pause), str(label_bytes), end],
        env=full_env, capture_output=True, text=True, timeout=timeout, cwd=ROOT)
    wall = time.monotonic() - started
    assert books.exists(), f"the child wrote no books (rc {done.returncode}): {done.stderr[-3000:]}"
    report = json.loads(books.read_text())
    return ChildRun(report["stats"], report["peak_rss_kb"] / 1024, report["exit_seconds"] or 0.0,
                    done.stderr, done.returncode, wall)


def free_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def balanced(stats: dict[str, Any]) -> bool:
    """emitted = exported + dropped + sampled out + queued + in flight."""
    return bool(stats["emitted"] == stats["exported"] + stats["dropped"] + stats["sampled_out"]
                + stats["queued"] + stats["in_flight"])


class BlackHole:
    """A TCP port that listens (so connects complete in the kernel) but never accepts or reads."""

    def __init__(self) -> None:
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(64)
        self.port: int = self._sock.getsockname()[1]

    def close(self) -> None:
        self._sock.close()

    def __enter__(self) -> BlackHole:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def assert_books(run: ChildRun, events: int, delivered: Counter[int]) -> None:
    """Balanced books, every event accounted, the receiving end's own count (``delivered``: copies
    per sequence number) = exported, no duplicates, a timely exit, no internal error."""
    stats = run.stats
    assert run.returncode == 0, run.stderr[-2000:]
    assert stats["emitted"] == events
    assert balanced(stats)
    assert stats["dropped"] == sum(stats["dropped_by_reason"].values())
    assert stats["exported"] == sum(delivered.values())
    assert not delivered or max(delivered.values()) == 1
    assert run.exit_seconds < CLOUD_RUN_GRACE
    assert not stats["internal_errors"]
