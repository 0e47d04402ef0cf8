"""What the generators share: each catalogue entry with the names its instruments are written under."""

from __future__ import annotations

from dataclasses import dataclass

from gyrinx_tracker._catalogue.catalogue import Catalogue, EventSpec, name_parts
from gyrinx_tracker._monitoring import names
from gyrinx_tracker._monitoring.names import Written

UNGROUPED = "(no owner)"


class MonitoringError(ValueError):
    """The catalogue asks for something the tracker's metrics cannot show; the message says what."""


@dataclass(frozen=True, slots=True)
class Monitored:
    """One entry and its instruments as the route writes them."""

    spec: EventSpec
    counter: Written
    histogram: Written | None

    @property
    def is_pattern(self) -> bool:
        return any(part is None for part in name_parts(self.spec.name))

    @property
    def unit(self) -> str:
        """The value's unit as the histogram is exported (the catalogue's, else what the name implies)."""
        return self.histogram.instrument.unit if self.histogram else ""


def monitored(catalogue: Catalogue, route: str) -> list[Monitored]:
    """Every entry, with its written names; ``MonitoringError`` when a ``group_by`` label never
    becomes a metric label (an id-like name, which the tracker keeps out of metrics)."""
    found = []
    for spec in catalogue.entries():
        counter: Written | None = None
        histogram: Written | None = None
        for instrument in names.instruments(catalogue.path, spec):
            missing = sorted(set(spec.group_by) - set(instrument.label_keys))
            if missing:
                raise MonitoringError(f"events.{spec.name}.group_by: {', '.join(missing)} never become metric labels "
                                      "(id-like names are kept out of metrics: see Metrics)")
            if instrument.kind == "counter":
                counter = names.written(instrument, route)
            else:
                histogram = names.written(instrument, route)
        if counter is None:
            raise AssertionError(f"no counter for {spec.name}")
        found.append(Monitored(spec, counter, histogram))
    return found


def by_owner(entries: list[Monitored]) -> dict[str, list[Monitored]]:
    """Active entries by owner, owners sorted, entries in catalogue order."""
    groups: dict[str, list[Monitored]] = {}
    for entry in entries:
        if not entry.spec.deprecated:
            groups.setdefault(entry.spec.owner or UNGROUPED, []).append(entry)
    return dict(sorted(groups.items()))


def seconds(value: int) -> str:
    """A duration as Google's JSON writes one."""
    return f"{value}s"


def promql_duration(value: int) -> str:
    return f"{value // 60}m" if value % 3600 else f"{value // 3600}h"
