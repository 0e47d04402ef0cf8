"""The interfaces between the pipeline and the outputs, and what an output reports back.

Two layers, each a ``Protocol``:

* ``Output`` is what the pipeline's worker calls: a batch of validated events in, a ``Delivery``
  out (how many were written, how many rejected and why), plus flush and shutdown. One object per
  configuration; ``gyrinx_tracker._outputs.open_output`` builds it.
* ``LogWriter`` is one destination for OpenTelemetry log records: the logger JSON lines, Cloud
  Run stdout, the Cloud Logging API, or an SDK exporter (OTLP, a test's in-memory one) behind an
  adapter. ``reads_attributes`` says whether records need attributes at all; building them was the
  largest single cost of an event for the outputs that only read the body.

"Exported" must mean "the receiver has it", so a writer never reports more than it knows was
written: a partial failure is reported as such, by reason, and the pipeline's books follow.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import repeat
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:  # the logs SDK is imported by the worker, when it opens an output
    from gyrinx_tracker._otel_logs import Record
    from gyrinx_tracker._sanitize import Event

# Given bodies for write_events' events, one each (a sampled event's); None: every body is the payload.
Bodies = Sequence["dict[str, Any] | None"] | None

# Reasons an output gives for events it could not deliver (keys of stats()["dropped_by_reason"]).
EXPORT_FAILED = "export_failed"
TOO_LARGE = "too_large"


@dataclass(frozen=True, slots=True)
class Delivery:
    """The outcome of writing one batch: ``written`` + sum of ``rejected`` + ``sampled_out`` +
    ``pending`` = its size.

    ``sampled_out`` events were left out of the logs on purpose (``_sampling``): their metrics were
    recorded, and they are neither written nor lost. ``pending`` events were handed to a sender
    that settles them itself in ``Stats`` once the receiver answered (``senders``): until then they
    stay in flight.
    """

    written: int
    rejected: Mapping[str, int] = field(default_factory=dict)
    sampled_out: int = 0
    pending: int = 0

    @classmethod
    def failed(cls, count: int, reason: str = EXPORT_FAILED) -> Delivery:
        """Nothing of a batch of ``count`` was written."""
        return cls(0, {reason: count} if count else {})

    def plus(self, other: Delivery) -> Delivery:
        """Both outcomes together, as for one batch sent in several requests."""
        rejected = dict(self.rejected)
        for reason, count in other.rejected.items():
            rejected[reason] = rejected.get(reason, 0) + count
        return Delivery(self.written + other.written, rejected, self.sampled_out + other.sampled_out,
                        self.pending + other.pending)

    def with_sampled_out(self, count: int) -> Delivery:
        """This outcome for the written records, plus ``count`` events the sampler left out."""
        return Delivery(self.written, self.rejected, self.sampled_out + count, self.pending) if count else self


class Output(Protocol):
    """Where the worker sends validated events; used only on the worker thread."""

    def write(self, batch: Sequence[Event]) -> Delivery:
        """Deliver ``batch`` as log records (and metrics); say what became of each event."""

    def flush(self, timeout: float) -> bool:
        """Push out what the output buffers itself (metrics); False if ``timeout`` ran out."""

    def flush_logs(self, timeout: float) -> bool:
        """Push out buffered log records only (request-scoped delivery): a metrics export per
        request would cost a collection and a network call each time; metrics keep their interval."""

    def tick(self) -> None:
        """Periodic work (metric exports when their interval is up); called after each worker wake-up."""

    def shutdown(self, timeout: float) -> None:
        """Release connections and threads; called once."""


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
    """A writer that can also write records straight from events, skipping the SDK records (OTLP)."""

    def bind_events(self, resource: Any, scope: Any, attribute_limit: int, value_length_limit: int | None) -> bool:
        """Prepare for ``write_events`` with this resource and scope; False if it cannot be used."""

    def write_events(self, events: Sequence[Event], bodies: Bodies = None) -> Delivery:
        """Write one record per event, the record ``Logger.emit`` would have made with the event's
        body from ``bodies`` (a sampled event's, with its rate); a body of None, or no ``bodies``
        at all (nothing sampled), is ``body_of(event)``, written without building the dict."""


def with_bodies(events: Sequence[Event], bodies: Bodies) -> Iterator[tuple[Event, dict[str, Any] | None]]:
    """Each event with its body (None: the payload). Two sequences, not a list of pairs: a pair
    per event is a container the garbage collector counts, 512 per batch alive together, and
    ``zip`` reuses its one tuple when the loop unpacks it."""
    return zip(events, repeat(None)) if bodies is None else zip(events, bodies, strict=True)


class NullOutput:
    """Stands in when the outputs could not be built: every event is counted as dropped."""

    def write(self, batch: Sequence[Event]) -> Delivery:
        return Delivery.failed(len(batch))

    def flush(self, timeout: float) -> bool:
        return True

    def flush_logs(self, timeout: float) -> bool:
        return True

    def tick(self) -> None:
        return None

    def shutdown(self, timeout: float) -> None:
        return None
