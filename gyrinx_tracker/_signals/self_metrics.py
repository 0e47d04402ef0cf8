"""The tracker's own books as metrics: drops and exports, observed from ``Stats`` at collection.

"Every drop is counted and visible": ``stats()`` shows it in-process, and these counters show it
wherever the metrics go (a collector, Cloud Monitoring), labelled by reason. They are observable
instruments, read when the SDK collects, so they cost nothing per event.
"""

from __future__ import annotations

from collections.abc import Iterable

from opentelemetry.metrics import CallbackOptions, Meter, Observation

from gyrinx_tracker._stats import Stats


def observe(meter: Meter, stats: Stats) -> None:
    """Register ``gyrinx_tracker.dropped`` (by ``reason``), ``.exported`` and ``.sampled_out``."""

    def dropped(options: CallbackOptions) -> Iterable[Observation]:
        with stats.lock:
            counts = dict(stats.dropped)
        return [Observation(count, {"reason": reason}) for reason, count in counts.items()]

    def exported(options: CallbackOptions) -> Iterable[Observation]:
        return [Observation(stats.exported)]

    def sampled_out(options: CallbackOptions) -> Iterable[Observation]:
        return [Observation(stats.sampled_out)]

    meter.create_observable_counter("gyrinx_tracker.dropped", callbacks=[dropped], unit="{event}",
                                    description="Events lost, by reason (queue_full, export_failed, ...)")
    meter.create_observable_counter("gyrinx_tracker.exported", callbacks=[exported], unit="{event}",
                                    description="Events handed to the output successfully")
    meter.create_observable_counter("gyrinx_tracker.sampled_out", callbacks=[sampled_out], unit="{event}",
                                    description="Events left out of the logs by a sample rate (their metrics "
                                                "are recorded; not a drop)")
