"""The worker's half of a ``track()`` call: one OpenTelemetry log record and the metric updates.

Into the application's global provider, records go through ``Logger.emit``, so its processors
(batching, exporting) see them, and a record counts as exported once that provider accepted it.
Our private provider has one processor, a ``Collector``: the batch is handed to the exporter in
one call. For outputs that read only the body, its records are built by ``DirectEmitter``, equal
field by field to ``Logger.emit``'s at a third of the cost; OTLP and custom exporters get the
``Logger.emit`` path with attributes.
"""

from __future__ import annotations

from typing import Any

from gyrinx_tracker import _stats
from gyrinx_tracker._diagnostics import warn_once
from gyrinx_tracker._otel_logs import (
    Collector,
    DirectEmitter,
    LogRecordExporter,
    attribute_limit,
    export_batch,
    make_record,
)
from gyrinx_tracker._metrics import Metrics
from gyrinx_tracker._pipeline import Timed
from gyrinx_tracker._sanitize import Event

EVENT_ATTRIBUTE = "gyrinx.event"
LABEL_ATTRIBUTE_PREFIX = "gyrinx.label."


def body_of(event: Event) -> dict[str, Any]:
    """The seed's payload: ``{"event", "n", "value"?, "labels"}``; ``value`` only when given."""
    if event.value is None:
        return {"event": event.name, "n": event.n, "labels": event.labels}
    return {"event": event.name, "n": event.n, "value": event.value, "labels": event.labels}


def attributes_of(event: Event, limit: int = 128) -> dict[str, Any]:
    """Attributes a collector can route on: the event and one ``gyrinx.label.<key>`` per label.

    At most ``limit`` (the SDK's attribute count limit): past it the SDK would evict the oldest
    attribute, ``gyrinx.event`` itself, and warn on every record. Labels past the limit are still
    in the body.
    """
    attributes: dict[str, Any] = {EVENT_ATTRIBUTE: event.name}
    for key, value in event.labels.items():
        if len(attributes) >= limit:
            break
        attributes[LABEL_ATTRIBUTE_PREFIX + key] = value
    return attributes


class Emitter:
    """Outputs for the pipeline: emit records, export them, record metrics."""

    def __init__(self, logger: Any, collector: Collector | None, exporter: LogRecordExporter | None,
                 metrics: Metrics | None, flushable: list[Any], owned: list[Any],
                 with_attributes: bool = True) -> None:
        """``flushable`` are flushed by ``flush()``; ``owned`` (ours, never the app's) are shut down.

        ``with_attributes=False`` leaves record attributes empty: for outputs that only read the
        body (local JSON, Cloud Logging), where the SDK's per-attribute validation was the largest
        single cost of an event and nobody would read the result.
        """
        self._with_attributes = with_attributes
        self._attribute_limit = attribute_limit()
        # Our own provider, our own collector, no attributes read: records can be built directly.
        self._direct = DirectEmitter(logger, collector) if collector is not None and not with_attributes else None
        self._logger = logger
        self._collector = collector
        self._exporter = exporter
        self._metrics = metrics
        self._flushable = flushable
        self._owned = owned

    def write(self, batch: list[Timed]) -> tuple[int, dict[str, int]]:
        if self._direct is not None:
            direct = self._direct.emit
            for timestamp, context, event in batch:
                direct(timestamp, context, body_of(event), event.name)
        else:
            emit = self._logger.emit
            limit = self._attribute_limit if self._with_attributes else 0
            for timestamp, context, event in batch:
                attributes = attributes_of(event, limit) if limit else None
                emit(make_record(timestamp, context, body_of(event), attributes, event.name))
        if self._metrics is not None:
            self._metrics.record(event for _, _, event in batch)
        if self._collector is None or self._exporter is None:
            return len(batch), {}
        records = self._collector.take()
        try:
            ok = export_batch(self._exporter, records)
        except Exception as error:  # noqa: BLE001 - an exporter must not kill the worker; counted below
            warn_once(f"export:{type(error).__name__}", "gyrinx_tracker: the %s exporter raised %r; "
                      "%d events counted as dropped", type(self._exporter).__name__, error, len(records))
            ok = False
        if ok:
            return len(records), {}
        # An exporter that knows how many entries it lost (a partial write) says so in .rejected.
        rejected = getattr(self._exporter, "rejected", None)
        lost = rejected if isinstance(rejected, int) and 0 < rejected <= len(records) else len(records)
        return len(records) - lost, {_stats.EXPORT_FAILED: lost}

    def flush(self, timeout: float) -> bool:
        flushed = True
        millis = int(timeout * 1000)
        for component in self._flushable:
            force_flush = getattr(component, "force_flush", None)
            if force_flush is not None:
                flushed = bool(force_flush(timeout_millis=millis)) and flushed
        return flushed

    def shutdown(self, timeout: float) -> None:
        for component in self._owned:
            shutdown = getattr(component, "shutdown", None)
            if shutdown is not None:
                shutdown()
