"""Django integration: trace correlation, the optional request event, request-scoped delivery.

The public path of ``gyrinx_tracker._integrations.django``, where the implementation and its reasons live.
"""

from gyrinx_tracker._integrations.django import (
    TrackerMiddleware,
    context_from_headers,
)

__all__ = ["TrackerMiddleware", "context_from_headers"]
