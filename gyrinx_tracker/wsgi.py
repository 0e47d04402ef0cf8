"""WSGI integration (Flask, Falcon, Bottle, Django's WSGI app, any WSGI app).

The public path of ``gyrinx_tracker._integrations.wsgi``, where the implementation and its reasons live.
"""

from gyrinx_tracker._integrations.wsgi import (
    ROUTE_KEY,
    TrackerMiddleware,
    default_route,
)

__all__ = ["ROUTE_KEY", "TrackerMiddleware", "default_route"]
