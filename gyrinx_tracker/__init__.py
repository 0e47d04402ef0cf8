"""gyrinx_tracker: ``track(event, n=1, value=None, **labels)`` as OpenTelemetry logs and metrics.

Data flows: the call (``_api``) → the queue and its worker (``_pipeline``) → validation
(``_sanitize``, ``_encode``, ``_redact``) → records and metrics (``_records``, ``_metrics``) →
one output (``_outputs/``: logger JSON, Cloud Run stdout, Cloud Logging API, OTLP, the app's own
providers).
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
