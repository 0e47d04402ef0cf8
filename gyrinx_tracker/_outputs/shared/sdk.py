"""Any OpenTelemetry SDK log exporter as a ``LogWriter``: the official OTLP one, or a test's.

The SDK's exporter interface says only SUCCESS or FAILURE for a whole batch, so that is all this
adapter can report: a failure counts the whole batch as not written. An exporter that raises is
named in a rate-limited warning with the count it cost, and the worker goes on.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from gyrinx_tracker._core.event import Event
from gyrinx_tracker._diagnostics import warn_limited
from gyrinx_tracker._pipeline.port import Delivery
from gyrinx_tracker._signals.otel_logs import LogRecordExporter, Record, export_batch


class SdkExporterWriter:
    """Writes records through an SDK ``LogRecordExporter``; records carry attributes."""

    reads_attributes = True  # OTLP and custom exporters may route on attributes

    def __init__(self, exporter: LogRecordExporter) -> None:
        self.exporter = exporter

    def write(self, records: Sequence[Record], events: Sequence[Event]) -> Delivery:
        return export(self.exporter, records, len(records))

    def flush(self, timeout: float) -> bool:
        # Exporters hold nothing between our calls; 1.39's LogRecordExporter had no force_flush at all.
        force_flush = getattr(self.exporter, "force_flush", None)
        return True if force_flush is None else bool(force_flush(timeout_millis=int(timeout * 1000)))

    def shutdown(self, timeout: float) -> None:
        self.exporter.shutdown()  # type: ignore[no-untyped-call]  # the SDK leaves it unannotated


def export(exporter: LogRecordExporter, batch: Any, count: int) -> Delivery:
    """One export of ``batch`` (``count`` records) through an SDK exporter: all written, or none."""
    try:
        ok = export_batch(exporter, batch)
    except Exception as error:  # noqa: BLE001 - an exporter must not kill the worker; counted
        warn_limited(f"export:{type(error).__name__}", "the %s exporter raised %r; "
                     "%d events counted as dropped", type(exporter).__name__, error, count)
        ok = False
    return Delivery(count) if ok else Delivery.failed(count)
