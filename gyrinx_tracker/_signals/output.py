"""The worker's half of a ``track()`` call: an OpenTelemetry log record and the metric updates.

Two outputs share this shape and differ in where records go:

* ``WriterOutput``: one destination of ours. An ``EventLogWriter`` (local, Cloud Run stdout, OTLP)
  writes the records straight from the events; a ``LogWriter`` (the Cloud Logging API, an
  SDK exporter) gets SDK records from our private logger provider, whose only processor is a
  ``Collector``: built by ``RecordBuilder`` (equal field by field to ``Logger.emit``'s, without
  its generic work) when the writer reads only the body, by ``Logger.emit`` with attributes
  otherwise. Each destination is one kind, so each has one way from events to records.
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
    builder_available,
    make_record,
    scope_of,
    value_length_limit,
)
from gyrinx_tracker._signals.records import attributes_of
from gyrinx_tracker._signals.sampling import Kept, Sampler, kept_bodies
from gyrinx_tracker._signals.writers import EventLogWriter, LogWriter


class SdkProvider(Protocol):
    """What we call on an SDK logger or meter provider."""

    def force_flush(self, timeout_millis: int = ...) -> bool: ...

    def shutdown(self) -> Any: ...


class WriterOutput:
    """One destination of ours: records into our private provider (for a ``LogWriter``) or none (for
    an ``EventLogWriter``), then one write per batch; a ``mirror`` gets the same events after it."""

    def __init__(self, provider: LoggerProvider, collector: Collector, writer: LogWriter | EventLogWriter,
                 meters: MeterSide | None, scope: tuple[str, str], sampler: Sampler | None = None,
                 mirror: EventLogWriter | None = None) -> None:
        self._provider = provider
        self._sampler = sampler
        self._collector = collector
        self._writer = writer
        self._mirror = mirror
        self._meters = meters
        self._logger = provider.get_logger(*scope)
        self._attribute_limit = attribute_limit()
        logger: Any = self._logger  # the SDK's Logger: it has a resource, a scope and limits
        for destination in (writer, mirror):
            if isinstance(destination, EventLogWriter):
                destination.bind(logger.resource, scope_of(logger, scope), self._attribute_limit,
                                 value_length_limit(logger))
        self._events = writer if isinstance(writer, EventLogWriter) else None
        self._records = None if isinstance(writer, EventLogWriter) else writer
        self._builder = (RecordBuilder(self._logger, collector)
                         if self._records is not None and not self._records.reads_attributes
                         and builder_available(self._logger) else None)

    def write(self, batch: Sequence[Event]) -> Delivery:
        if self._meters is not None:
            self._meters.metrics.record(batch)  # every event, sampled out or not
        if self._events is not None and self._sampler is None:  # nothing sampled: each writer builds the payload
            delivery = self._events.write_events(batch)
            if self._mirror is not None:
                self._mirror.write_events(batch)
            return delivery
        kept, sampled_out = kept_bodies(self._sampler, batch)
        events, bodies = [event for event, _ in kept], [body for _, body in kept]
        if self._events is not None:
            delivery = self._events.write_events(events, bodies)
        else:
            delivery = self._write_records(kept, events)
        if self._mirror is not None:
            self._mirror.write_events(events, bodies)
        return delivery.with_sampled_out(sampled_out)

    def _write_records(self, kept: Kept, events: list[Event]) -> Delivery:
        """The SDK records of the kept events, body-only where the writer reads nothing else, to the ``LogWriter``."""
        assert self._records is not None
        if self._builder is not None:
            build = self._builder.emit
            for event, body in kept:
                build(event.time_ns, event.context, body, event.name)
        else:
            emit, limit = self._logger.emit, self._attribute_limit
            for event, body in kept:
                emit(make_record(event.time_ns, event.context, body, attributes_of(event, limit), event.name))
        return self._records.write(self._collector.take(), events)

    def flush(self, timeout: float) -> bool:
        flushed = self.flush_logs(timeout)
        return (self._meters.flush(timeout) if self._meters is not None else True) and flushed

    def flush_logs(self, timeout: float) -> bool:
        flushed = self._writer.flush(timeout)
        return (self._mirror.flush(timeout) if self._mirror is not None else True) and flushed

    def tick(self) -> None:
        if self._meters is not None:
            self._meters.tick()

    def shutdown(self, timeout: float) -> None:
        self._writer.shutdown(timeout)
        if self._mirror is not None:
            self._mirror.shutdown(timeout)
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
