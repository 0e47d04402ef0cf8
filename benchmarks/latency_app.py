"""The WSGI app that ``request_latency.py`` serves under gunicorn: one view, two events a request.

``BENCH_TRACKER=0`` serves the same view with no tracker at all: the baseline.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

BODY = b'{"id": 7}'


def view(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(BODY)))])
    return [BODY]


def tracked_view(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
    from gyrinx_tracker import track

    track("api_call", endpoint="/api/v1/fighters", method="GET", status=200)
    return view(environ, start_response)


if os.environ.get("BENCH_TRACKER") == "0":
    app = view
else:
    from gyrinx_tracker.wsgi import TrackerMiddleware

    app = TrackerMiddleware(tracked_view, request_event="http_request")
