"""The loopback Cloud Logging server, in its own process so its CPU is not billed to the tracker.

``tests/servers/cloud_logging.py`` keeps every request for tests to inspect; over a benchmark
that would be hundreds of megabytes, so this subclass only counts entries. Run as
``python -m benchmarks.loopback``: it prints ``READY <host:port>`` and then answers one command
per line on stdin: ``count`` (entries accepted so far), ``quit``.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


class LoopbackProcess:
    """The parent's handle on the server process: start, ask for the count, stop."""

    def __init__(self) -> None:
        self._process = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.loopback"], cwd=ROOT, text=True,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        line = self._read()
        if not line.startswith("READY "):
            raise RuntimeError(f"loopback server did not start: {line!r}")
        self.endpoint = line.split()[1]

    def count(self) -> int:
        """Entries the server accepted so far."""
        self._send("count")
        return int(self._read())

    def close(self) -> None:
        if self._process.poll() is None:
            self._send("quit")
            self._process.wait(10)

    def _send(self, command: str) -> None:
        assert self._process.stdin is not None
        self._process.stdin.write(command + "\n")
        self._process.stdin.flush()

    def _read(self) -> str:
        assert self._process.stdout is not None
        return self._process.stdout.readline().strip()

    def __enter__(self) -> LoopbackProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _serve() -> None:
    sys.path.insert(0, str(ROOT))
    from tests.servers import cloud_logging
    from tests.servers.cloud_logging import CloudLoggingServer

    class CountingServer(CloudLoggingServer):
        """Accepts and counts entries, keeping none of them."""

        received = 0

        def _write_log_entries(self, request: Any, context: Any) -> Any:
            def record() -> None:
                self.received += len(request.entries)

            self._handle(request, context, record)
            return cloud_logging._ResponsePb()

    with CountingServer(max_workers=4) as server:
        print("READY", server.endpoint, flush=True)
        for line in sys.stdin:
            command = line.strip()
            if command == "count":
                print(server.received, flush=True)
            elif command == "quit":
                break


if __name__ == "__main__":
    _serve()
