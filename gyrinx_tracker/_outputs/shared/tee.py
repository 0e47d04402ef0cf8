"""Two writers for one batch: what a test capture needs to also reach the ``gyrinx.tracker`` logger.

The first writer's ``Delivery`` is the one reported (the capture's): the second is a mirror, and
a failure there is its own business (the local writer never fails a write).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from gyrinx_tracker._pipeline.port import Delivery
from gyrinx_tracker._signals.writers import LogWriter

if TYPE_CHECKING:
    from gyrinx_tracker._core.event import Event
    from gyrinx_tracker._signals.otel_logs import Record


class TeeWriter:
    """Writes each batch to ``primary``, then to ``mirror``."""

    def __init__(self, primary: LogWriter, mirror: LogWriter) -> None:
        self._primary = primary
        self._mirror = mirror

    @property
    def reads_attributes(self) -> bool:
        return self._primary.reads_attributes or self._mirror.reads_attributes

    def write(self, records: Sequence[Record], events: Sequence[Event]) -> Delivery:
        delivery = self._primary.write(records, events)
        self._mirror.write(records, events)
        return delivery

    def flush(self, timeout: float) -> bool:
        return self._primary.flush(timeout) and self._mirror.flush(timeout)

    def shutdown(self, timeout: float) -> None:
        self._primary.shutdown(timeout)
        self._mirror.shutdown(timeout)
