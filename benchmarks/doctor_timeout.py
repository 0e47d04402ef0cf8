"""``gyrinx-tracker doctor --timeout T`` against a collector that accepts connections and never answers:
the whole command's wall time, as the user waits for it, against T (the target: within 10 %).

A timing, so a benchmark and not a test. Run: ``.venv/bin/python benchmarks/doctor_timeout.py``.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time

TARGET = 1.10  # wall time / --timeout at most


def _black_hole() -> tuple[socket.socket, int]:
    """A listener whose connections are accepted and never answered (a hung collector)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    held: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                held.append(listener.accept()[0])
            except OSError:
                return

    threading.Thread(target=accept, daemon=True).start()
    return listener, int(listener.getsockname()[1])


def main() -> int:
    listener, port = _black_hole()
    env = {key: value for key, value in os.environ.items() if not key.startswith(("GYRINX_", "OTEL_", "GOOGLE_"))}
    env.update(GYRINX_TRACKER_EXPORTER="otlp", OTEL_EXPORTER_OTLP_ENDPOINT=f"http://127.0.0.1:{port}",
               GYRINX_TRACKER_HANDLE_SIGTERM="false")
    worst = 0.0
    for timeout in (3.0, 6.0, 10.0):
        started = time.monotonic()
        subprocess.run([sys.executable, "-m", "gyrinx_tracker", "doctor", "--timeout", str(timeout)],
                       capture_output=True, text=True, env=env, timeout=120)
        wall = time.monotonic() - started
        worst = max(worst, wall / timeout)
        print(f"doctor --timeout {timeout:g} (hung collector): {wall:.2f} s wall, {wall / timeout:.0%} of the timeout")
    listener.close()
    print(f"worst: {worst:.0%} (target at most {TARGET:.0%})")
    return 0 if worst <= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
