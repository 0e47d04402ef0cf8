"""Process lifecycle: flush at exit, flush on SIGTERM, start afresh in a forked child.

* Exit: a short script that calls ``track()`` and ends must lose nothing, so an ``atexit`` hook
  shuts the pipeline down within ``shutdown_timeout``. The worker is a daemon thread, alive while
  ``atexit`` hooks run.
* SIGTERM (Cloud Run gives 10 s): Python's default is to die without running ``atexit``. Our
  handler starts the one shutdown deadline (see ``lifecycle``), flushes for a bounded part of it,
  then hands the signal on: to the handler that was there before, or, for the default, by
  restoring it and sending the signal again, so the exit status is what it would have been. Python
  lets only the main thread install a handler, so it is installed when ``gyrinx_tracker`` is
  imported on the main thread (unless ``GYRINX_TRACKER_HANDLE_SIGTERM`` is false), or else by the
  first ``configure()``, ``track()``, ``flush()`` or ``stats()`` that runs there; only over the
  default or a Python handler (never over ``SIG_IGN``). An application that installs its own later
  replaces it (and then exits through ``atexit``, which still flushes, within the same deadline).
* The handler runs on the main thread between two of its bytecodes, so it takes no lock that
  thread could hold: it reads plain attributes, appends to a deque, rings a ``Wakeup`` and waits
  on an Event of its own.
* Fork (gunicorn ``--preload``): the child gets a copy of the queue, which the parent will export,
  and no worker thread; it drops the copy and builds its own outputs on its first event.
* ``multiprocessing`` children started by fork or forkserver end with ``os._exit`` once their work
  returns: no ``atexit`` hook runs. What does run first is ``multiprocessing.util._exit_function``,
  which calls the finalizers registered with ``multiprocessing.util.Finalize`` (exit priority >=
  0). So when a pipeline starts in a process that ``multiprocessing`` started
  (``multiprocessing.parent_process()``, public since 3.8), the exit hook is registered there as
  well (``hook_multiprocessing_exit``). The child's ``_bootstrap`` clears the finalizers inherited
  from its parent before the work runs; a pipeline starts on the child's first event, after that,
  so the registration survives. ``Finalize`` is not in the documentation: it is probed for, and
  without it a fork child's undelivered events are lost uncounted (the documented limit).
"""

from __future__ import annotations

import atexit
import os
import signal
import sys
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any

Hook = Callable[[], None]
SignalHandler = Callable[[int, FrameType | None], Any] | int | signal.Handlers | None

_lock = threading.Lock()
_process_hooks_installed = False
_sigterm_installed = False
_previous_sigterm: SignalHandler = None
_on_exit: Hook | None = None
# Called with whether the signal will be handed on to an application's handler afterwards.
OnSigterm = Callable[[bool], None]
_on_sigterm: OnSigterm | None = None
_sigterm_wanted = False  # asked for off the main thread: installed by the next call on it


def install(on_exit: Hook, on_fork_child: Hook, on_sigterm: OnSigterm, sigterm: bool) -> None:
    """Register the hooks once per process; the SIGTERM handler as soon as it can be installed."""
    global _process_hooks_installed, _on_exit, _on_sigterm, _sigterm_wanted
    with _lock:
        _on_exit, _on_sigterm = on_exit, on_sigterm
        if not _process_hooks_installed:
            atexit.register(_run_exit_hook)
            if hasattr(os, "register_at_fork"):
                os.register_at_fork(after_in_child=on_fork_child)
            _process_hooks_installed = True
        if sigterm:
            _sigterm_wanted = True
            _install_sigterm()


# Below every finalizer of priority >= 0 an app or multiprocessing registers (queues flush at 10 and
# -5): the child's own work and feeders end first, the tracker last, as atexit runs it.
EXIT_PRIORITY = 0
_mp_hooked_pid: int | None = None


def hook_multiprocessing_exit() -> bool:
    """In a process ``multiprocessing`` started, run the exit hook as its work returns (once per
    process); True when registered. Called as a pipeline's worker starts."""
    global _mp_hooked_pid
    pid = os.getpid()
    if _mp_hooked_pid == pid:
        return True
    mp = sys.modules.get("multiprocessing")  # never imported: no multiprocessing child
    if mp is None or getattr(mp, "parent_process", lambda: None)() is None:
        return False
    finalize = getattr(getattr(mp, "util", None), "Finalize", None)  # the probe (see the docstring)
    if finalize is None:
        return False
    finalize(None, _run_exit_hook, exitpriority=EXIT_PRIORITY)
    _mp_hooked_pid = pid
    return True


def install_pending() -> None:
    """Install the SIGTERM handler asked for from another thread, if this is the main thread.

    Cheap enough for every public call but ``track()``: two reads when there is nothing to do.
    """
    if _sigterm_wanted and not _sigterm_installed and threading.current_thread() is threading.main_thread():
        with _lock:
            _install_sigterm()


def _run_exit_hook() -> None:
    if _on_exit is not None:
        _on_exit()


def _install_sigterm() -> None:
    global _sigterm_installed, _previous_sigterm
    if _sigterm_installed or threading.current_thread() is not threading.main_thread():
        return
    current = signal.getsignal(signal.SIGTERM)
    if current is signal.SIG_IGN or current is _handle_sigterm:
        return
    try:
        signal.signal(signal.SIGTERM, _handle_sigterm)
    except (ValueError, OSError):  # not the main interpreter, or signals unavailable
        return
    _previous_sigterm = current
    _sigterm_installed = True


def _handle_sigterm(signum: int, frame: FrameType | None) -> None:
    previous = _previous_sigterm
    if _on_sigterm is not None:
        _on_sigterm(callable(previous))
    if callable(previous):
        previous(signum, frame)
        return
    if previous is signal.SIG_IGN:
        return
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    os.kill(os.getpid(), signal.SIGTERM)


def after_fork_in_child() -> None:
    """Locks held by other threads at fork time stay locked forever in the child: replace ours."""
    global _lock
    _lock = threading.Lock()
