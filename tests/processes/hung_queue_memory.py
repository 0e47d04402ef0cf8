"""Track N large events while the OTLP exporter hangs on a TCP black hole; print peak RSS growth.

``python -m tests.processes.hung_queue_memory MODE N``. The black hole is a listening socket
that never accepts: connections complete in the kernel's backlog and then hear nothing, so the
exporter's first request waits out its timeout and every later event stays queued. Modes:

- ``strings``: one fresh 1 MB string label per event (held 2 GB at N=2,000 before the fix);
- ``wide``: 25 fresh 8,000-character labels per event (200 KB, under every per-event limit);
- ``small``, ``small4``: events about as large as the queue takes as given (16 labels, 500
  characters; ASCII, or 4-byte characters).

Prints one JSON object: growth of peak RSS in MB across the N calls, and the books.
"""

from __future__ import annotations

import json
import os
import resource
import socket
import sys
import time

import gyrinx_tracker


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KB on Linux


def labels_for(mode: str, i: int) -> dict[str, str]:
    if mode == "strings":
        return {"blob": f"{i:08d}" + "x" * 999_992}
    if mode == "wide":
        return {f"k{j:02d}": f"{i:08d}{j:02d}" + "y" * 7_990 for j in range(25)}
    # 16 labels: 3-character keys (48) + 25-character values (400) + the name: under 512;
    # small4: the same in 4-byte characters (str stores them as UCS-4), the worst case per character
    fill = "z" * 15 if mode == "small" else "😀" * 15
    return {f"k{j:02d}": f"{i:08d}{j:02d}" + fill for j in range(16)}


def main() -> None:
    mode, count = sys.argv[1], int(sys.argv[2])
    hole = socket.socket()
    hole.bind(("127.0.0.1", 0))
    hole.listen(128)  # never accepted
    os.environ["OTEL_EXPORTER_OTLP_ENDPOINT"] = f"http://127.0.0.1:{hole.getsockname()[1]}"
    gyrinx_tracker.configure(exporter="otlp", export_timeout=60, shutdown_timeout=0.1,
                             max_queue=count + 10, handle_sigterm=False)
    gyrinx_tracker.track("warm_up", **labels_for(mode, -1))
    time.sleep(2.0)  # the worker built its output and is stuck in its first export
    before = peak_rss_mb()
    for i in range(count):
        gyrinx_tracker.track("large", **labels_for(mode, i))
    growth = peak_rss_mb() - before
    books = gyrinx_tracker.stats()
    print(json.dumps({"mode": mode, "count": count, "growth_mb": round(growth, 1),
                      "exported": books["exported"], "waiting": books["queued"] + books["in_flight"]}),
          flush=True)
    os._exit(0)  # the exporter is hung on purpose: no exit flush


if __name__ == "__main__":
    main()
