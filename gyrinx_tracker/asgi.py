"""ASGI integration (Starlette, FastAPI, Django's ASGI app, any ASGI app).

The public path of ``gyrinx_tracker._integrations.asgi``, where the implementation and its reasons live.
"""

from gyrinx_tracker._integrations.asgi import (
    ROUTE_KEY,
    TrackerMiddleware,
    default_route,
)

__all__ = ["ROUTE_KEY", "TrackerMiddleware", "default_route"]
