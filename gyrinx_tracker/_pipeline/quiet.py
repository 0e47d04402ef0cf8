"""Keep the app's signals off the tracker's own threads.

The kernel hands a signal sent to the process (``kill``, Cloud Run's SIGTERM, Ctrl-C) to any one
thread that does not block it. CPython runs the Python handler on the main thread regardless, but
only wakes it from a blocking call (``time.sleep``, a ``select``, a lock wait) when the signal
arrived on the main thread itself: delivered to one of our threads instead, the app's SIGTERM
handler waits until the main thread's call returns by itself. Measured: a child sleeping 60 s in
its main thread, SIGTERMed with our four sender threads waiting on the Cloud Logging API, exited
after 59.5 s instead of within the deadline, in 2 of 34 runs. Each thread the tracker starts
therefore blocks the signals an app handles, so the kernel picks the main thread (or another
thread of the app's). Public API only (``signal.pthread_sigmask``, Unix); elsewhere a no-op.
"""

from __future__ import annotations

import contextlib
import signal

# Not SIGUSR2 nor the real-time signals: ``unstick`` interrupts a stuck exporter thread with one of them.
_APP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGINT", "SIGHUP", "SIGQUIT", "SIGUSR1",
                                                         "SIGALRM", "SIGCHLD") if hasattr(signal, name))


def block_app_signals() -> None:
    """Block the app's signals in the calling thread (one of ours, just started)."""
    mask = getattr(signal, "pthread_sigmask", None)
    if mask is not None:
        with contextlib.suppress(OSError, ValueError):
            mask(signal.SIG_BLOCK, _APP_SIGNALS)
