"""The worker's half of a ``track()`` call: an OpenTelemetry log record and the metric updates.

Two outputs share this shape and differ in where records go:

* ``WriterOutput``: our private logger provider, whose only processor is a ``Collector``; each
  batch's records are handed to one ``LogWriter`` in one call. For writers that read only the
  body, records are built by ``RecordBuilder`` (equal field by field to ``Logger.emit``'s, at a
  third of the cost); the others get ``Logger.emit`` with attributes, except an ``EventLogWriter``
  (OTLP), which writes the wire form of those records straight from the events.
* ``ProviderOutput``: the application's own global logger provider. Records go through
  ``Logger.emit`` so its processors see them, and count as written once the provider took them.

Metrics (``MeterSide``, in ``meters``) are the same for both: every event goes to
``metrics.record(batch)``, whose aggregates are exported on the worker's ticks, or replayed into
the application's meter provider. Both record the metrics of the whole batch first, then build
log records only for the events the ``Sampler`` keeps: sampling never touches the metrics.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from gyrinx_tracker._core.event import Event
from gyrinx_tracker._pipeline.port import Delivery
from gyrinx_tracker._signals.meters import MeterSide
from gyrinx_tracker._signals.otel_logs import (
    Collector,
    LoggerProvider,
    RecordBuilder,
    attribute_limit,
    make_record,
    value_length_limit,
)
from gyrinx_tracker._signals.records import attributes_of
from gyrinx_tracker._signals.sampling import Sampler, kept_bodies
from gyrinx_tracker._signals.writers import EventLogWriter, LogWriter


class SdkProvider(Protocol):
    """What we call on an SDK logger or meter provider."""

    def force_flush(self, timeout_millis: int = ...) -> bool: ...

    def shutdown(self) -> Any: ...


class WriterOutput:
    """Records into our private provider, then one ``LogWriter`` call per batch."""

    def __init__(self, provider: LoggerProvider, collector: Collector, writer: LogWriter,
                 meters: MeterSide | None, scope: tuple[str, str], sampler: Sampler | None = None) -> None:
        self._provider = provider
        self._sampler = sampler
        self._collector = collector
        self._writer = writer
        self._meters = meters
        self._logger = provider.get_logger(*scope)
        self._builder = None if writer.reads_attributes else RecordBuilder(self._logger, collector)
        self._attribute_limit = attribute_limit()
        logger: Any = self._logger  # the SDK's Logger: it has a resource and scope
        self._direct = writer if isinstance(writer, EventLogWriter) and writer.bind_events(
            logger.resource, logger.instrumentation_scope, self._attribute_limit, value_length_limit(logger)) else None

    def write(self, batch: Sequence[Event]) -> Delivery:
        if self._meters is not None:
            self._meters.metrics.record(batch)  # every event, sampled out or not
        if self._direct is not None and self._sampler is None:  # nothing sampled: each writer builds the payload
            return self._direct.write_events(batch)
        kept, sampled_out = kept_bodies(self._sampler, batch)
        if self._direct is not None:
            return self._direct.write_events([event for event, _ in kept],
                                             [body for _, body in kept]).with_sampled_out(sampled_out)
        if self._builder is not None:
            build = self._builder.emit
            for event, body in kept:
                build(event.time_ns, event.context, body, event.name)
        else:
            emit, limit = self._logger.emit, self._attribute_limit
            for event, body in kept:
                emit(make_record(event.time_ns, event.context, body, attributes_of(event, limit), event.name))
        records = self._collector.take()
        return self._writer.write(records, [event for event, _ in kept]).with_sampled_out(sampled_out)

    def flush(self, timeout: float) -> bool:
        flushed = self._writer.flush(timeout)
        return (self._meters.flush(timeout) if self._meters is not None else True) and flushed

    def flush_logs(self, timeout: float) -> bool:
        return self._writer.flush(timeout)

    def tick(self) -> None:
        if self._meters is not None:
            self._meters.tick()

    def shutdown(self, timeout: float) -> None:
        self._writer.shutdown(timeout)
        self._provider.shutdown()
        if self._meters is not None:
            self._meters.shutdown(timeout)


class ProviderOutput:
    """Records into the application's own logger provider, through ``Logger.emit``."""

    def __init__(self, provider: Any, meters: MeterSide | None, scope: tuple[str, str],
                 sampler: Sampler | None = None) -> None:
        self._provider: SdkProvider = provider
        self._sampler = sampler
        self._logger = provider.get_logger(*scope)
        self._meters = meters
        self._attribute_limit = attribute_limit()

    def write(self, batch: Sequence[Event]) -> Delivery:
        if self._meters is not None:
            self._meters.metrics.record(batch)  # every event, sampled out or not
        kept, sampled_out = kept_bodies(self._sampler, batch)
        emit, limit = self._logger.emit, self._attribute_limit
        for event, body in kept:
            emit(make_record(event.time_ns, event.context, body, attributes_of(event, limit), event.name))
        return Delivery(len(kept), sampled_out=sampled_out)

    def flush(self, timeout: float) -> bool:
        flushed = self.flush_logs(timeout)
        return (self._meters.flush(timeout) if self._meters is not None else True) and flushed

    def flush_logs(self, timeout: float) -> bool:
        return bool(self._provider.force_flush(timeout_millis=int(timeout * 1000)))

    def tick(self) -> None:
        if self._meters is not None:
            self._meters.tick()

    def shutdown(self, timeout: float) -> None:
        if self._meters is not None:  # the logger provider is the application's, never ours
            self._meters.shutdown(timeout)
