"""Rate limits for the OpenTelemetry exporters' own log lines, which the tracker cannot reword.

While a collector is down the OTLP exporter logs every retry ("Transient error ... retrying in
1.00s") and every failed export ("Failed to export logs to ..."), for the log and the metric
exporter alike: 20 lines in 25 s measured, forever during an outage. The tracker's promise is one
rate-limited warning per cause (``_diagnostics``), so a ``logging.Filter`` on those exporters'
loggers lets the first record of each message template through, suppresses repeats within
``RATE_LIMIT_SECONDS`` and says how many it suppressed on the next one it lets through. Drops
themselves are counted in ``stats()`` either way.

Installed when the tracker builds its own OTLP exporters; filters act on records logged to the
logger they sit on, so every logger the exporters log to is named here.
"""

from __future__ import annotations

import logging
import os

from gyrinx_tracker._diagnostics import RATE_LIMIT_SECONDS, RateLimit

EXPORTER_LOGGERS = (
    "opentelemetry.exporter.otlp.proto.grpc.exporter",
    "opentelemetry.exporter.otlp.proto.grpc.metric_exporter",
)


class RepeatLimit(logging.Filter):
    """Lets one record per (logger, level, message template) through per window (``RateLimit``)."""

    def __init__(self, window: float = RATE_LIMIT_SECONDS) -> None:
        super().__init__()
        self.limit = RateLimit(window, max_keys=200)

    def filter(self, record: logging.LogRecord) -> bool:
        held = self.limit.admit((record.name, record.levelno, str(record.msg)))
        if held is None:
            return False
        if held:
            record.msg = f"{record.msg} ({held} similar messages suppressed by gyrinx_tracker)"
        return True


_FILTER = RepeatLimit()


def install() -> None:
    """Put the rate limit on the exporters' loggers (once; calling again changes nothing)."""
    for name in EXPORTER_LOGGERS:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_FILTER.limit.after_fork_in_child)
