"""The port the destinations implement: a batch in, a ``Delivery`` out. Two kinds, one per destination.

* ``LogWriter`` takes OpenTelemetry SDK log records: the Cloud Logging API, or any
  SDK exporter behind an adapter (``log_exporter=``, a test's in-memory one). ``reads_attributes``
  says whether records need attributes at all: the destinations that read only the body are spared
  building them.
* ``EventLogWriter`` writes straight from the events, no SDK record in between: the local output
  (stdlib records or bare lines), Cloud Run stdout (JSON lines) and OTLP (request bytes). It writes what the SDK's records would
  say, given the resource, scope and limits it is bound to.

A destination is one kind or the other, so each output has one way from events to its records.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from itertools import repeat
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from gyrinx_tracker._pipeline.port import Delivery

if TYPE_CHECKING:  # the logs SDK is imported by the worker, when it opens an output
    from gyrinx_tracker._core.event import Event
    from gyrinx_tracker._signals.otel_logs import Record

# Given bodies for write_events' events, one each (a sampled event's); None: every body is the payload.
Bodies = Sequence["dict[str, Any] | None"] | None


class LogWriter(Protocol):
    """One destination for the log records of a batch."""

    @property
    def reads_attributes(self) -> bool:
        """False when the writer reads only a record's body, time and trace context."""

    def write(self, records: Sequence[Record], events: Sequence[Event]) -> Delivery:
        """Write ``records``; never raise for a failed write, report it in the ``Delivery``.

        ``events`` are the validated events the records were made from, in the same order: what
        a record does not carry (the calling thread, the call site) is read from them.
        """

    def flush(self, timeout: float) -> bool:
        """Push out anything buffered; False if ``timeout`` ran out."""

    def shutdown(self, timeout: float) -> None:
        """Release the destination; called once."""


@runtime_checkable
class EventLogWriter(Protocol):
    """One destination written straight from the events, skipping the SDK records."""

    def bind(self, resource: Any, scope: Any, attribute_limit: int, value_length_limit: int | None) -> None:
        """Take the resource, scope and attribute limits the SDK's records would carry."""

    def write_events(self, events: Sequence[Event], bodies: Bodies = None) -> Delivery:
        """Write one record per event, the record ``Logger.emit`` would have made with the event's
        body from ``bodies`` (a sampled event's, with its rate); a body of None, or no ``bodies``
        at all (nothing sampled), is ``body_of(event)``, written without building the dict."""

    def flush(self, timeout: float) -> bool:
        """Push out anything buffered; False if ``timeout`` ran out."""

    def shutdown(self, timeout: float) -> None:
        """Release the destination; called once."""


def with_bodies(events: Sequence[Event], bodies: Bodies) -> Iterator[tuple[Event, dict[str, Any] | None]]:
    """Each event with its body (None: the payload). Two sequences, not a list of pairs: a pair
    per event is a container the garbage collector counts, 512 per batch alive together, and
    ``zip`` reuses its one tuple when the loop unpacks it."""
    return zip(events, repeat(None)) if bodies is None else zip(events, bodies, strict=True)
