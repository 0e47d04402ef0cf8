"""Do not fork while the exporter thread is importing, building its outputs or exporting.

A process forked while another of its threads holds an import lock gets a copy of that lock,
held forever: the child's first import of the same module hangs. That is what gunicorn
``--preload`` did when the app tracked an event at import time: the master's exporter thread was
importing the Cloud Logging client as gunicorn forked its workers, and every worker's exporter
thread then hung on that import (measured: 0 of 16 request events exported, every request
waiting out its flush deadline). So the exporter thread counts itself busy from the moment it is
started until its outputs are built, and while it drains; a fork waits until it is idle, up to
``FORK_WAIT`` seconds (past that it forks anyway, rather than stall an application whose fork
came from inside one of our imports). A side effect is wanted too: with ``--preload``, workers
inherit the Google client modules the master imported, and their first export is fast.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

FORK_WAIT = 5.0

_state = threading.Condition()
_busy = 0


def begin() -> None:
    """Count one busy section (a fork waits for none to remain)."""
    global _busy
    with _state:
        _busy += 1


def end() -> None:
    """End a section counted by ``begin``."""
    global _busy
    with _state:
        _busy -= 1
        if _busy <= 0:
            _busy = 0
            _state.notify_all()


@contextmanager
def no_fork_meanwhile() -> Iterator[None]:
    """Hold off ``os.fork()`` (up to ``FORK_WAIT``) while the block runs."""
    begin()
    try:
        yield
    finally:
        end()


def _before_fork() -> None:
    _state.acquire()  # held through the fork, so no section starts while it happens
    _state.wait_for(lambda: _busy == 0, FORK_WAIT)


def _after_fork_in_parent() -> None:
    _state.release()


def _after_fork_in_child() -> None:
    global _state, _busy
    _state = threading.Condition()
    _busy = 0  # the sections were the parent's threads, which the child does not have


if hasattr(os, "register_at_fork"):
    os.register_at_fork(before=_before_fork, after_in_parent=_after_fork_in_parent,
                        after_in_child=_after_fork_in_child)
