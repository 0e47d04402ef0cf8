"""A pipeline's states and the one shutdown deadline that ``shutdown()``, exit and SIGTERM share.

The pipeline's lifecycle is one explicit ``State`` (sentry-sdk's worker keeps as little):

    IDLE --first event--> RUNNING --shutdown()--> CLOSING --> CLOSED
                             |
                             +--interpreter exit--> EXITING --> INLINE (or CLOSED past the deadline)
    SYNC (delivery="sync": no worker; each event is written before track() returns)

CLOSING and CLOSED refuse new events (counted as dropped, reason ``closed``). EXITING and INLINE
keep the output open: ``atexit`` runs hooks last-registered first, so an application's own exit
hooks often run after ours, and the events they track are then exported synchronously by whoever
tracks them.

One deadline (Cloud Run kills the process 10 s after SIGTERM): ``DEADLINE`` starts at the SIGTERM
or, without one, when the exit hook runs, and lasts ``shutdown_timeout``. The signal handler
flushes for at most ``sigterm_flush_timeout`` of it before handing the signal on to the
application's handler (or for all of it when the signal then kills the process), and the exit hook
uses what is left. Whatever is still queued or in flight when it passes is counted as dropped
(``shutdown_timeout``) and reported in one line, so the books balance after exit.
"""

from __future__ import annotations

import enum
import time

from gyrinx_tracker import _stats


class State(enum.Enum):
    """Where a pipeline is in its life; see the module docstring for the transitions."""

    IDLE = "idle"
    RUNNING = "running"
    CLOSING = "closing"
    CLOSED = "closed"
    EXITING = "exiting"
    INLINE = "inline"
    SYNC = "sync"


REFUSING = frozenset({State.CLOSING, State.CLOSED})


class Deadline:
    """The process's one shutdown deadline, started by the first of SIGTERM and exit.

    Plain attribute reads and writes only: the signal handler starts it, and must take no lock.
    """

    def __init__(self) -> None:
        self._at: float | None = None

    def start(self, seconds: float) -> None:
        """Start the deadline ``seconds`` from now, unless it is already running."""
        if self._at is None:
            self._at = time.monotonic() + seconds

    def remaining(self, seconds: float) -> float:
        """Seconds left (starting the deadline ``seconds`` from now if nothing started it)."""
        self.start(seconds)
        at = self._at
        return 0.0 if at is None else max(0.0, at - time.monotonic())

    def reset(self) -> None:
        """Forget it (a forked child has its own life, and its own deadline)."""
        self._at = None


DEADLINE = Deadline()


def lost_line(lost: int, detail: str, when: str) -> str:
    """The one line said on the way out when events could not be exported in time."""
    return (f"dropped {lost} events not exported by the {when} deadline "
            f"({detail}; counted in stats() as {_stats.SHUTDOWN})")
