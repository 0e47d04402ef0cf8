"""Every use of the OpenTelemetry *logs* SDK, which is still a private, changing API.

``opentelemetry.sdk._logs`` has renamed classes in minor releases (``LogRecord`` became
``ReadWriteLogRecord``/``ReadableLogRecord`` in 1.39), so it is imported here and nowhere else:
an SDK upgrade touches this one file. The rest of the package sees plain names re-exported below.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from functools import cache
from time import time_ns
from typing import Any

from opentelemetry._logs import LogRecord, SeverityNumber, get_logger_provider
from opentelemetry.attributes import BoundedAttributes
from opentelemetry.context import Context, get_current
from opentelemetry.sdk._logs import (
    LoggerProvider,
    LogRecordLimits,
    LogRecordProcessor,
    ReadableLogRecord,
    ReadWriteLogRecord,
)
from opentelemetry.sdk._logs.export import (
    InMemoryLogRecordExporter,
    LogRecordExporter,
    LogRecordExportResult,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import get_current_span

__all__ = [
    "INFO",
    "Collector",
    "InMemoryLogRecordExporter",
    "LogRecordExportResult",
    "LogRecordExporter",
    "LoggerProvider",
    "ReadableLogRecord",
    "Record",
    "RecordBuilder",
    "app_logger_provider",
    "attribute_limit",
    "builder_available",
    "export_batch",
    "make_record",
    "memory_exporter",
    "private_logger_provider",
    "scope_of",
    "value_length_limit",
]

INFO = SeverityNumber.INFO

# What exporters receive. The SDK's exporters only read .log_record, .resource and
# .instrumentation_scope, which both record classes have, so the worker hands over the
# ReadWriteLogRecord as is instead of paying for a frozen copy per event.
Record = ReadableLogRecord | ReadWriteLogRecord


class Collector(LogRecordProcessor):
    """Collects emitted records so the worker can export each drained batch in one call.

    The SDK's BatchLogRecordProcessor would add a second queue and a second thread behind ours;
    the worker already batches, so this processor only gathers.
    """

    def __init__(self) -> None:
        self.records: list[Record] = []

    def on_emit(self, log_record: ReadWriteLogRecord) -> None:
        self.records.append(log_record)

    def take(self) -> list[Record]:
        """Return the records collected so far and start a new list."""
        records, self.records = self.records, []
        return records

    def shutdown(self) -> None:
        self.records = []

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return True


def make_record(timestamp: int, context: Context | None, body: dict[str, Any],
                attributes: dict[str, Any] | None, event_name: str) -> LogRecord:
    """An INFO record carrying the span context of the call site (``context`` is the caller's)."""
    return LogRecord(
        timestamp=timestamp,
        context=context,
        severity_number=INFO,
        severity_text="INFO",
        body=body,
        attributes=attributes,
        event_name=event_name,
    )


class RecordBuilder:
    """Builds body-only records into our private provider's ``Collector`` without ``Logger.emit``'s generic work.

    ``Logger.emit`` is generic: it builds the API ``LogRecord`` through keyword arguments, wraps
    it in a ``ReadWriteLogRecord`` whose ``__post_init__`` creates a ``BoundedAttributes`` (with a
    lock) and then dispatches to every processor: together as much as the original tracker's whole
    call (``json.dumps`` + ``logger.info``). For our private provider, whose only processor is the ``Collector``, and for
    outputs that read no attributes, this builds the same two SDK objects field by field and
    appends them. ``tests/unit/test_otel_logs.py`` checks, field by field, that the records equal those
    ``Logger.emit`` makes; the SDK range is pinned, and this module is the only one that knows.
    """

    def __init__(self, logger: Any, collector: Collector) -> None:
        self._records = collector
        self._resource = logger.resource
        self._scope = logger.instrumentation_scope
        self._limits = logger._log_record_limits  # noqa: SLF001 - what Logger.emit passes on
        self._attributes = BoundedAttributes(  # shared, empty and immutable: nobody writes to it
            maxlen=self._limits.max_log_record_attributes, immutable=True,
            max_value_len=self._limits.max_log_record_attribute_length, extended_attributes=True)

    def emit(self, timestamp: int, context: Context | None, body: dict[str, Any], event_name: str) -> None:
        """The equivalent of ``logger.emit(make_record(timestamp, context, body, None, event_name))``."""
        context = context or get_current()  # as LogRecord.__init__ does with an empty context
        span_context = get_current_span(context).get_span_context()
        record: LogRecord = object.__new__(LogRecord)
        record.__dict__.update(
            timestamp=timestamp, observed_timestamp=time_ns(), context=context,
            trace_id=span_context.trace_id, span_id=span_context.span_id,
            trace_flags=span_context.trace_flags, severity_text="INFO", severity_number=INFO,
            body=body, attributes=self._attributes, event_name=event_name, exception=None)
        writable: ReadWriteLogRecord = object.__new__(ReadWriteLogRecord)
        writable.__dict__.update(log_record=record, resource=self._resource,
                                 instrumentation_scope=self._scope, limits=self._limits)
        self._records.records.append(writable)


# What RecordBuilder writes into each object: the fields LogRecord.__init__ sets and ReadWriteLogRecord's.
_RECORD_FIELDS = frozenset({"timestamp", "observed_timestamp", "context", "trace_id", "span_id", "trace_flags",
                            "severity_text", "severity_number", "body", "attributes", "event_name", "exception"})
_WRITABLE_FIELDS = ("log_record", "resource", "instrumentation_scope", "limits")


@cache
def _record_layout_matches() -> bool:
    """Whether this SDK's records have exactly the fields ``RecordBuilder`` fills (probed once)."""
    try:
        made = make_record(1, None, {}, None, "probe")
        writable = [f.name for f in dataclasses.fields(ReadWriteLogRecord)]
    except Exception:  # noqa: BLE001 - any surprise means: use Logger.emit
        return False
    return frozenset(vars(made)) == _RECORD_FIELDS and tuple(writable) == _WRITABLE_FIELDS


def builder_available(logger: Any) -> bool:
    """Whether ``RecordBuilder`` may stand in for ``Logger.emit`` with this logger: the private pieces
    it reads are there and the records' fields are the ones it fills. Otherwise ``Logger.emit`` is
    used (the public path; the same records, at about the original tracker's whole call per event)."""
    public = hasattr(logger, "resource") and hasattr(logger, "instrumentation_scope")  # 1.39's Logger lacks the scope
    return public and hasattr(logger, "_log_record_limits") and _record_layout_matches()


def private_logger_provider(resource: Resource, collector: Collector) -> LoggerProvider:
    """A provider only the tracker uses; it never registers an exit hook of its own (we flush)."""
    provider = LoggerProvider(resource=resource, shutdown_on_exit=False)
    provider.add_log_record_processor(collector)
    return provider


def app_logger_provider() -> Any | None:
    """The application's global SDK logger provider, if it installed one, else None."""
    provider = get_logger_provider()
    return provider if isinstance(provider, LoggerProvider) else None


def attribute_limit() -> int:
    """How many attributes the SDK keeps per record (OTEL_LOGRECORD_ATTRIBUTE_COUNT_LIMIT, 128)."""
    limit = LogRecordLimits().max_attributes
    return 128 if limit is None else max(1, limit)


def value_length_limit(logger: Any) -> int | None:
    """The length the SDK truncates string attribute values of this logger's records to, if any."""
    limits = getattr(logger, "_log_record_limits", None) or LogRecordLimits()  # the public reading of the variable
    limit: int | None = getattr(limits, "max_log_record_attribute_length", limits.max_attribute_length)  # 1.39: only the latter
    return limit


def scope_of(logger: Any, scope: tuple[str, str]) -> InstrumentationScope:
    """The logger's instrumentation scope: its public attribute (1.40 on), else the same made from ``scope``."""
    found = getattr(logger, "instrumentation_scope", None)
    return found if isinstance(found, InstrumentationScope) else InstrumentationScope(*scope)


def memory_exporter() -> InMemoryLogRecordExporter:
    """The SDK's in-memory exporter, for ``gyrinx_tracker.testing``."""
    return InMemoryLogRecordExporter()  # type: ignore[no-untyped-call]  # the SDK leaves __init__ unannotated


def export_batch(exporter: LogRecordExporter, records: Sequence[Record]) -> bool:
    """Export ``records``; True when the exporter reports success."""
    result = exporter.export(records)  # type: ignore[arg-type]
    return result is LogRecordExportResult.SUCCESS
