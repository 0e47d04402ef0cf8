"""The ``none`` exporter: a stand-in with the pipeline's methods that does nothing.

Its own module so that ``pipeline`` holds only the queue and the worker.
"""

from __future__ import annotations

from typing import Any

from gyrinx_tracker import _guard
from gyrinx_tracker._config import TrackerConfig
from gyrinx_tracker._core.event import Site
from gyrinx_tracker._stats import Snapshot, Stats


class Disabled:
    """The ``none`` exporter: a pipeline that does nothing, at the cost of one method call."""

    wants_site = False

    def __init__(self, config: TrackerConfig) -> None:
        self.config = config

    def submit(self, event: object, n: object, value: object, labels: dict[str, Any],
               site: Site | None = None) -> None:
        return None

    def flush(self, timeout: float, metrics: bool = True) -> bool:
        return True

    def drain_here(self, timeout: float) -> bool:
        return True

    def shutdown(self, timeout: float) -> bool:
        return True

    def reset_after_fork(self) -> None:
        return None

    def finish_at_exit(self, timeout: float) -> bool:
        return True

    def flush_from_signal(self, timeout: float) -> bool:
        return True

    def say_on_the_way_out(self) -> None:
        return None

    def snapshot(self) -> Snapshot:
        return Stats().snapshot(0, _guard.counts())
