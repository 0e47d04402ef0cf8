"""Whether the application's logging configuration would discard the event records, and why.

The local output hands each event to the ``gyrinx.tracker`` logger. When the application has
configured logging (so the tracker does not print to stderr itself) but in a way that throws INFO
records away, the events would vanish while the books said "exported": ``logging.basicConfig()``
leaves the root logger at WARNING, ``dictConfig`` disables loggers created before it unless told
not to, and a handler may sit at WARNING. Those events are booked as ``logging_discarded`` instead,
and the first batch of each cause warns once (at WARNING, which the same configuration shows)
with the fix.

The answer is worked out once per batch, not per event: ``Logger.isEnabledFor`` reads logging's
own per-level cache (rebuilt by logging whenever a level changes), and the walk up the handler
chain touches a handful of objects. A handler's filters are the application's deliberate choice
and are not second-guessed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass


@dataclass(frozen=True)
class Discard:
    """Why the logger would discard INFO records, and what the application can change."""

    cause: str
    why: str
    fix: str


def discard_of(logger: logging.Logger) -> Discard | None:
    """None when an INFO record of ``logger`` reaches at least one handler willing to emit it.

    Called only when ``logger.hasHandlers()``: with none at all the local output writes stderr
    itself (logging's ``lastResort`` would show WARNING and above only).
    """
    name = logger.name
    if logger.disabled:
        return Discard("disabled", f"the logger {name!r} is disabled (logging.config disables the loggers that "
                       "existed before it unless disable_existing_loggers is False)",
                       f"pass disable_existing_loggers=False to logging.config.dictConfig, or name {name!r} "
                       "in its loggers")
    if logger.manager.disable >= logging.INFO:
        level = logging.getLevelName(logger.manager.disable)
        return Discard("logging.disable", f"logging.disable({level}) is in force",
                       "call logging.disable(logging.NOTSET), or logging.disable(logging.DEBUG) at most")
    if not logger.isEnabledFor(logging.INFO):
        level = logging.getLevelName(logger.getEffectiveLevel())
        return Discard("level", f"the logger {name!r} is not enabled for INFO (its effective level is {level}; "
                       "logging.basicConfig() leaves the root logger at WARNING)",
                       f"logging.getLogger({name!r}).setLevel(logging.INFO), or configure logging with level=INFO")
    levels = _handler_levels(logger)
    if levels and min(levels) > logging.INFO:
        shown = ", ".join(sorted({logging.getLevelName(level) for level in levels}))
        return Discard("handlers", f"every handler the logger {name!r} reaches has a level above INFO ({shown})",
                       f"lower a handler's level to INFO, or add a handler to {name!r}")
    return None


def _handler_levels(logger: logging.Logger) -> list[int]:
    """The levels of the handlers a record of ``logger`` reaches, as ``Logger.callHandlers`` walks them."""
    levels: list[int] = []
    current: logging.Logger | None = logger
    while current is not None:
        levels.extend(handler.level for handler in current.handlers)
        if not current.propagate:
            break
        current = current.parent
    return levels
