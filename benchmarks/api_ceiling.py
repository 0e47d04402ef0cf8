"""``python -m benchmarks.api_ceiling``: events/s the Cloud Logging API output sustains when every
call takes DELAY seconds, for each bound on requests in flight (``export_concurrency``).

Each bound runs in a fresh process against the loopback Cloud Logging server set to the delay; the
rate is the events the *server* stored divided by the time from the first ``track()`` until it had
them all, and the server's count of calls handled at once is reported beside it. ``make bench``
runs bounds 1 and 4 at 2 s per call through ``benchmarks/bursts.py``; alone, this takes about a minute.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

BATCH = 512


def measure(bound: int, delay: float, events: int) -> dict[str, float]:
    """One bound, in this process: the server-verified rate and the most calls in the server at once."""
    import gyrinx_tracker
    from tests.servers.cloud_logging import CloudLoggingServer

    with CloudLoggingServer(max_workers=max(8, bound * 2)) as server:
        server.set_delay(delay)
        gyrinx_tracker.configure(exporter="gcp", gcp_transport="api", project_id="bench",
                                 cloud_logging_endpoint=server.endpoint, gcp_metrics=False,
                                 global_providers="never", handle_sigterm=False, max_queue=events,
                                 batch_size=BATCH, export_concurrency=bound, export_timeout=delay * 4 + 5)
        started = time.monotonic()
        for seq in range(events):
            gyrinx_tracker.track("ceiling_probe", seq=seq)
        stored_all = server.wait_for(events, timeout=events / BATCH * delay * 2 + 30)
        elapsed = time.monotonic() - started
        gyrinx_tracker.flush(delay * 4 + 5)  # the last sender settles its books after the answer
        stats = gyrinx_tracker.stats()
        gyrinx_tracker.shutdown(5)
        return {"bound": bound, "stored": server.entry_count(), "exported": stats["exported"],
                "all_stored": stored_all, "seconds": round(elapsed, 2),
                "events_per_s": round(server.entry_count() / elapsed), "peak_in_server": server.peak_in_server}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--delay", type=float, default=2.0, help="seconds per WriteLogEntries call")
    parser.add_argument("--bounds", default="1,4,8", help="export_concurrency values, comma-separated")
    parser.add_argument("--events", type=int, default=BATCH * 8)
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # a child measuring one bound
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure(args.one, args.delay, args.events)))
        return
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GYRINX_TRACKER_", "OTEL_"))}
    for bound in (int(b) for b in args.bounds.split(",")):
        out = subprocess.run([sys.executable, "-m", "benchmarks.api_ceiling", "--one", str(bound),
                              "--delay", str(args.delay), "--events", str(args.events)],
                             capture_output=True, text=True, check=True, env=env)
        print(out.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    main()
