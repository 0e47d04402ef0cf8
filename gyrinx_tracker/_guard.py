"""The one guard around every entry point: an internal failure is counted and reported, not raised.

A telemetry library must not take the application down (the original tracker's promise), and a
failure swallowed without a trace is one nobody fixes. So every public function and every process
hook (exit, SIGTERM, replacing a pipeline) runs behind this guard: it catches ``Exception``, counts
it under the place it happened (``stats()["internal_errors"]``) and logs a rate-limited warning.
Only strict mode, meant for test suites, re-raises. Logfire's ``handle_internal_errors`` is the
model: one mechanism instead of a ``try`` written by hand in each function.
"""

from __future__ import annotations

import functools
import threading
from collections import Counter
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from gyrinx_tracker._diagnostics import warn_limited

P = ParamSpec("P")
R = TypeVar("R")

_lock = threading.RLock()  # re-entrant: a signal handler's failure may be counted while this thread counts
_caught: Counter[str] = Counter()


class CallerError(Exception):
    """The caller's own mistake (a wrong argument): raised to the caller, never counted as ours.

    ``internal_errors`` means a bug of the tracker's; ``flush("x")`` is not one, so it raises
    ``TypeError`` like any function given a wrong argument would.
    """


class CallerTypeError(CallerError, TypeError):
    """An argument of the wrong type."""


class CallerValueError(CallerError, ValueError):
    """An argument of the right type with a value that means nothing (a negative timeout)."""


def caught(where: str, error: Exception, strict: bool = False) -> None:
    """Count and report ``error``, raised inside ``where``; re-raise it in strict mode.

    Called from an ``except`` block, so a bare ``raise`` there would be the same; taking the error
    keeps the one place that decides what happens to it.
    """
    with _lock:
        _caught[where] += 1
    if strict:
        raise error
    warn_limited(f"internal:{where}", "%s failed: %r", where, error)


def guarded(where: str, fallback: R, strict: Callable[[], bool] = lambda: False,
            ) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Run the decorated function behind the guard; on an error return ``fallback`` instead."""

    def decorate(function: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(function)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            try:
                return function(*args, **kwargs)
            except CallerError:
                raise
            except Exception as error:
                if isinstance(error, TypeError) and not _binds(function, args, kwargs):
                    raise  # stats(1), flush(when=3): the call itself was wrong, not the tracker
                caught(where, error, strict())
                return fallback

        return wrapper

    return decorate


def _binds(function: Callable[..., object], args: tuple[object, ...], kwargs: dict[str, object]) -> bool:
    """Whether ``function`` accepts these arguments (asked only after a TypeError: no cost otherwise)."""
    import inspect

    try:
        inspect.signature(function).bind(*args, **kwargs)
    except TypeError:
        return False
    return True


def counts() -> dict[str, int]:
    """How many internal errors the guard caught, by where they happened, since the process began."""
    with _lock:
        return dict(_caught)


def reset() -> None:
    """Forget the counts: for tests, which each start from a clean slate."""
    with _lock:
        _caught.clear()


def after_fork_in_child() -> None:
    """A lock held by another thread at fork time would stay locked in the child: replace it."""
    global _lock
    _lock = threading.RLock()
