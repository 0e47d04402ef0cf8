"""gyrinx_tracker: ``track(event, n=1, value=None, **labels)`` as OpenTelemetry logs and metrics.

Data flows call site → capture (``_pipeline``) → validation (``_sanitize``) → records and metrics
(``_emit``, ``_metrics``) → outputs (``_local``, ``_gcp_stdout``, ``_gcp_api``, OTLP).
"""

from gyrinx_tracker._api import TrackerInputError, configure, flush, shutdown, stats, track
from gyrinx_tracker._config import TrackerConfig
from gyrinx_tracker._version import VERSION as __version__

__all__ = [
    "TrackerConfig",
    "TrackerInputError",
    "__version__",
    "configure",
    "flush",
    "shutdown",
    "stats",
    "track",
]
