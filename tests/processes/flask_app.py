"""A real Flask app behind gyrinx_tracker.wsgi.TrackerMiddleware, served by gunicorn in the tests."""

from __future__ import annotations

import os

from flask import Flask, Response, jsonify

from gyrinx_tracker import track
from gyrinx_tracker.wsgi import TrackerMiddleware

app = Flask(__name__)
track("app_loaded", app="flask")  # at import: in gunicorn's master when it preloads the app


@app.get("/fighters/<int:fighter_id>")
def fighter(fighter_id: int) -> Response:
    track("api_call", fighter=fighter_id, stack="flask")
    return jsonify(id=fighter_id, pid=os.getpid())


app.wsgi_app = TrackerMiddleware(app.wsgi_app, request_event="http_request")  # type: ignore[method-assign] - Flask documents wrapping wsgi_app this way
