"""One app of the fleet: ``python -m benchmarks.fleet.app APP EVENTS PER_TRACE [EVENT [RATE]]``.

Uses only the public API, over OTLP (GYRINX_TRACKER_EXPORTER=otlp and OTEL_EXPORTER_OTLP_ENDPOINT
come from the harness): tracks EVENTS events flat out, PER_TRACE of them inside each request span,
each labelled with its app and sequence number so the harness can tell a record received twice
from two records. With RATE > 0 it paces itself to RATE events/s instead (latency without
saturation: what a record waits for in a tier that keeps up). Then flushes and prints one JSON line: its books (``stats()``) and when it
started and finished tracking (wall clock, for the throughput window).
"""

from __future__ import annotations

import json
import sys
import time

from opentelemetry.sdk.trace import TracerProvider

import gyrinx_tracker

EVENT = "fleet_event"
FLUSH_TIMEOUT_S = 120.0


def main(app: int, events: int, per_trace: int, event: str = EVENT, rate: float = 0.0) -> None:
    tracer = TracerProvider().get_tracer("fleet")
    started = time.time()
    seq = 0
    while seq < events:
        if rate > 0:  # a request every per_trace / rate seconds, on schedule
            time.sleep(max(0.0, started + seq / rate - time.time()))
        with tracer.start_as_current_span("request"):
            for _ in range(min(per_trace, events - seq)):
                gyrinx_tracker.track(event, app=app, seq=seq)
                seq += 1
    tracked = time.time()
    flushed = gyrinx_tracker.flush(FLUSH_TIMEOUT_S)
    books = dict(gyrinx_tracker.stats())
    gyrinx_tracker.shutdown(10.0)
    print(json.dumps({"app": app, "started": started, "tracked": tracked, "flushed": flushed, "books": books}), flush=True)


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), *sys.argv[4:5], *map(float, sys.argv[5:6]))
