"""A realistic local run: a small "web app" handles a few requests and tracks what happens.

Run with ``make demo``. Nothing is configured for the tracker: it detects that it is not on Google
Cloud and logs one record per event through the ``gyrinx.tracker`` logger (its message is the
original tracker's JSON payload), which this app sends to stdout like a Django app's LOGGING setting
would. The format shows what the record carries besides the message: the time, the calling
function and the request's trace id (``%(otelTraceID)s``). The app's own OpenTelemetry tracer
stands in for its request instrumentation. The counters and histograms follow, one line per series
through ``gyrinx.tracker.metrics``.
"""

from __future__ import annotations

import logging
import sys
import time
import uuid

from opentelemetry.sdk.trace import TracerProvider

from gyrinx_tracker import flush, stats, track

logging.basicConfig(stream=sys.stdout, level=logging.INFO, format="%(levelname)-7s %(name)s: %(message)s")
events = logging.StreamHandler(sys.stdout)
events.setFormatter(logging.Formatter(
    "%(asctime)s %(levelname)s %(name)s %(funcName)s trace_id=%(otelTraceID)s %(message)s"))
logging.getLogger("gyrinx.tracker").addHandler(events)
logging.getLogger("gyrinx.tracker").propagate = False  # its metric lines go through this handler's
logging.getLogger("gyrinx.tracker.metrics").propagate = False  # parent, so give them the plain one
logging.getLogger("gyrinx.tracker.metrics").addHandler(logging.getLogger().handlers[0])
tracer = TracerProvider().get_tracer("demo-app")


class FighterList:
    """Stands in for a Django model instance: the tracker records it as ``str(obj.id)``."""

    def __init__(self) -> None:
        self.id = uuid.UUID("6f1c2a4e-5b7d-4c3e-9a8f-0d1e2f3a4b5c")


def handle_login(username: str) -> None:
    with tracer.start_as_current_span("POST /accounts/login"):
        track("user_login", username=username, method="password")


def handle_api(endpoint: str, status: int) -> None:
    with tracer.start_as_current_span(f"GET {endpoint}"):
        started = time.perf_counter()
        time.sleep(0.003)  # the "database"
        track("api_call", endpoint=endpoint, method="GET", status=status)
        track("api_call_duration", value=(time.perf_counter() - started) * 1000, endpoint=endpoint)


def handle_bulk_import(fighter_list: FighterList) -> None:
    with tracer.start_as_current_span("POST /lists/import"):
        track("feature_used", feature="bulk_import", list_id=fighter_list, items_count=50)
        # A careless call: a secret in a label, a count that is not a number. The tracker
        # redacts the first, repairs the rest, warns once, and the request carries on.
        track("import_finished", n="fifty", api_key="sk-live-do-not-log", rows=50)


def main() -> None:
    print("--- a few requests (each line: time, level, logger, caller, the request's trace, the event) ---")
    handle_login("player1")
    handle_api("/api/v1/fighters", 200)
    handle_api("/api/v1/lists", 404)
    handle_bulk_import(FighterList())
    flush(5)
    print("--- stats(): every event accounted for ---")
    print(stats())


if __name__ == "__main__":
    main()
