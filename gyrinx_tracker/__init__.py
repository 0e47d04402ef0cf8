"""gyrinx_tracker: ``track(event, n=1, value=None, **labels)`` as OpenTelemetry logs and metrics.

Data flows: the call (``_api``) → a clean ``Event`` (``_core``) → the queue and its worker
(``_pipeline``), checked against the catalogue (``_catalogue``) → a log record and metrics
(``_signals``) → one destination (``_outputs``: logger JSON, Cloud Run stdout, the Cloud Logging
API, OTLP, the app's own providers). docs/design.md draws the layers and what each may import.
"""

from gyrinx_tracker._api import configure, flush, shutdown, stats, track
from gyrinx_tracker._core.problems import TrackerInputError
from gyrinx_tracker._stats import Snapshot
from gyrinx_tracker._version import VERSION as __version__

__all__ = [
    "Snapshot",
    "TrackerInputError",
    "__version__",
    "configure",
    "flush",
    "shutdown",
    "stats",
    "track",
]
