"""The pipeline's one port: what its worker calls with each batch, and what it hears back.

The pipeline knows no destination. It is handed an ``Output`` when a configuration is installed
(``_outputs.choice`` builds one), calls it on the worker thread only, and books what the returned
``Delivery`` says. "Exported" must mean "the receiver has it", so an output never reports more
than it knows was written: a partial failure is reported as such, by reason, and the books follow.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from gyrinx_tracker._stats import EXPORT_FAILED

if TYPE_CHECKING:
    from gyrinx_tracker._core.event import Event


@dataclass(frozen=True, slots=True)
class Delivery:
    """The outcome of writing one batch: ``written`` + sum of ``rejected`` + ``sampled_out`` +
    ``pending`` = its size.

    ``sampled_out`` events were left out of the logs on purpose (``_signals.sampling``): their metrics were
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
