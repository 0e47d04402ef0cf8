"""How long ``import gyrinx_tracker`` takes: the median of fresh interpreters, each with ``-X importtime``.

The figure is the cumulative time CPython reports for the top-level ``gyrinx_tracker`` import
(everything it pulls in, the OpenTelemetry API included), not the interpreter's own start-up.
Each run is a new process, so nothing is cached in ``sys.modules``; the OS file cache is warm
after the first, as it is for an application's workers. ``python -m benchmarks.import_time``
prints it for this checkout; ``measure(env=...)`` for another installation (the previous release).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
from typing import Any

RUNS = 15


def once(env: dict[str, str] | None = None, cwd: str | None = None) -> float:
    """Milliseconds of one ``import gyrinx_tracker`` in a fresh interpreter."""
    done = subprocess.run([sys.executable, "-X", "importtime", "-c", "import gyrinx_tracker"], env=env, cwd=cwd,
                          capture_output=True, text=True, timeout=120, check=True)
    for line in done.stderr.splitlines():  # "import time:  self [us] | cumulative | imported package"
        parts = [part.strip() for part in line.removeprefix("import time:").split("|")]
        if len(parts) == 3 and parts[2] == "gyrinx_tracker":
            return int(parts[1]) / 1000
    raise RuntimeError(f"no gyrinx_tracker line in -X importtime's output: {done.stderr[-300:]}")


def measure(runs: int = RUNS, env: dict[str, str] | None = None, cwd: str | None = None) -> dict[str, Any]:
    """Median, min and max milliseconds over ``runs`` fresh interpreters (after one untimed run)."""
    once(env, cwd)  # warms the file cache and writes the .pyc files
    times = sorted(once(env, cwd) for _ in range(runs))
    return {"median_ms": statistics.median(times), "min_ms": times[0], "max_ms": times[-1], "runs": runs}


if __name__ == "__main__":
    found = measure(int(sys.argv[1]) if len(sys.argv) > 1 else RUNS, cwd=os.getcwd())
    print(f"import gyrinx_tracker: median {found['median_ms']:.1f} ms (min {found['min_ms']:.1f}, "
          f"max {found['max_ms']:.1f}) over {found['runs']} fresh interpreters")
