"""Recommended gunicorn settings for an app that uses gyrinx_tracker, on Cloud Run or elsewhere.

``gunicorn -c gunicorn.conf.py myproject.wsgi:application`` (tested as is by
tests/process/test_gunicorn.py, with 2 workers, in the ``stdout`` and ``api`` modes).
"""

import os

import gyrinx_tracker

bind = f"0.0.0.0:{os.environ.get('PORT', '8080')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
# Import the app once in the master, then fork: less memory, faster start. The tracker starts
# afresh in each worker (its fork hook drops the master's queue, which the master exports itself).
preload_app = True
# Cloud Run enforces the request timeout itself; gunicorn's worker timeout would only kill
# workers whose CPU was throttled between requests.
timeout = 0
# Cloud Run sends SIGTERM, then SIGKILL 10 s later. Workers get graceful_timeout to finish
# their requests, then worker_exit below flushes within 3 s: 5 + 3 < 10.
graceful_timeout = 5


def worker_exit(server: object, worker: object) -> None:
    """In each worker as it exits: flush what its requests left (usually nothing, see REQUEST_FLUSH)."""
    gyrinx_tracker.shutdown(timeout=3)


def on_exit(server: object) -> None:
    """In the master as it exits: events tracked while the app was imported (with preload) go out."""
    gyrinx_tracker.shutdown(timeout=3)
