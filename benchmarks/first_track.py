"""What the first ``track()`` costs the caller, with and without ``configure()`` at start-up.

``import gyrinx_tracker`` is cheap (``benchmarks/import_time.py``): the pipeline, OpenTelemetry and
``logging`` load on first use. Without ``configure()`` that first use is a ``track()`` inside the
app's first request; the docs tell readers to call ``configure()`` at start-up instead, and this
measures why. Each run is a fresh interpreter (nothing cached in ``sys.modules``); the median of
``RUNS`` per exporter and mode, in milliseconds. Standalone: ``python benchmarks/first_track.py``.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys

RUNS = 7
CHILD = r"""
import sys, time
import gyrinx_tracker
setup = 0.0
if sys.argv[1] == "configure":
    started = time.perf_counter(); gyrinx_tracker.configure(); setup = time.perf_counter() - started
started = time.perf_counter(); gyrinx_tracker.track("first"); first = time.perf_counter() - started
started = time.perf_counter(); gyrinx_tracker.track("second"); second = time.perf_counter() - started
print(f"TIMING {setup * 1e3} {first * 1e3} {second * 1e3}", file=sys.stderr)
"""
EXPORTERS: dict[str, dict[str, str]] = {
    "console": {},
    "gcp (stdout)": {"GYRINX_TRACKER_EXPORTER": "gcp", "GOOGLE_CLOUD_PROJECT": "p",
                     "GYRINX_TRACKER_GCP_TRANSPORT": "stdout", "GYRINX_TRACKER_GCP_METRICS": "false"},
    "otlp": {"GYRINX_TRACKER_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:9"},
}


def once(mode: str, extra: dict[str, str]) -> list[float]:
    """configure(), first and second track() in milliseconds, from one fresh interpreter."""
    env = {**os.environ, "GYRINX_TRACKER_EXPORTER": "console", "GYRINX_TRACKER_HANDLE_SIGTERM": "false", **extra}
    done = subprocess.run([sys.executable, "-c", CHILD, mode], env=env, capture_output=True, text=True,
                          timeout=120, check=True)
    line = next(line for line in done.stderr.splitlines() if line.startswith("TIMING "))
    return [float(part) for part in line.split()[1:]]


def main() -> None:
    print("| exporter | start-up | configure() | first track() | second track() |")
    print("|---|---|---|---|---|")
    for name, extra in EXPORTERS.items():
        for mode in ("none", "configure"):
            runs = [once(mode, extra) for _ in range(RUNS)]
            setup, first, second = (statistics.median(run[i] for run in runs) for i in range(3))
            shown = f"{setup:.1f} ms" if mode == "configure" else "—"
            print(f"| {name} | {'configure() first' if mode == 'configure' else 'track() first'} | {shown} | "
                  f"{first:.2f} ms | {second * 1e3:.0f} µs |")


if __name__ == "__main__":
    main()
