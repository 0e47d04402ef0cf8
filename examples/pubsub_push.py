"""A Pub/Sub push subscription handler (Flask) that tracks each message's start and end.

Pub/Sub POSTs each message to the endpoint and takes a 2xx answer as the acknowledgement. With the
WSGI middleware's request-scoped delivery (``GYRINX_TRACKER_REQUEST_FLUSH=before``, the
default) the message's events have left the process before the acknowledgement completes, so a
Cloud Run instance throttled right after it cannot hold them back.
Run: ``gunicorn -c gunicorn.conf.py pubsub_push:app``.
"""

from __future__ import annotations

import base64
import time

from flask import Flask, request

from gyrinx_tracker import track
from gyrinx_tracker.wsgi import TrackerMiddleware

app = Flask(__name__)


def handle(data: bytes) -> None:
    """Stands in for the real processing of one message."""
    if data == b"poison":
        raise ValueError("cannot process this message")


@app.post("/pubsub/push")
def push() -> tuple[str, int]:
    envelope = request.get_json(force=True)
    message = envelope["message"]
    labels = {"message_id": message["messageId"], "subscription": envelope.get("subscription", "")}
    track("task_started", **labels)
    started = time.perf_counter()
    try:
        handle(base64.b64decode(message.get("data", "")))
    except ValueError as error:
        track("task_failed", error=type(error).__name__, **labels)
        return "", 400  # a 4xx is not an ack: Pub/Sub redelivers (or dead-letters) the message
    track("task_completed", value=(time.perf_counter() - started) * 1000, **labels)
    return "", 204


app.wsgi_app = TrackerMiddleware(app.wsgi_app)  # type: ignore[method-assign] - Flask documents wrapping wsgi_app this way
