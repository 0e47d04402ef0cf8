"""Real web servers (gunicorn, uvicorn) running test apps in child processes, read like Cloud Run.

The server's stdout is a pipe that the test reads without a helper thread, so "what had arrived"
at a moment is exactly what the pipe held: after a worker is frozen with SIGSTOP (as Cloud Run
throttles an idle instance), ``drain()`` returns everything it wrote before the stop, nothing later.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).parent.parent
STDOUT = {"GYRINX_TRACKER_EXPORTER": "gcp", "GYRINX_TRACKER_GCP_TRANSPORT": "stdout",
          "GOOGLE_CLOUD_PROJECT": "proj"}


def clean_env(**extra: str) -> dict[str, str]:
    """The test process's environment without tracker, OpenTelemetry or Cloud Run settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GYRINX_TRACKER_", "OTEL_", "K_"))}
    env.pop("GOOGLE_CLOUD_PROJECT", None)
    return {**env, "PYTHONPATH": str(ROOT), **extra}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Trace:
    """A fresh trace id and span id, sent either as traceparent or as X-Cloud-Trace-Context."""

    kind: str
    trace_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    span_id: int = field(default_factory=lambda: int.from_bytes(os.urandom(8), "big") >> 1 or 1)

    def headers(self) -> dict[str, str]:
        if self.kind == "traceparent":
            return {"traceparent": f"00-{self.trace_id}-{self.span_id:016x}-01"}
        return {"X-Cloud-Trace-Context": f"{self.trace_id}/{self.span_id};o=1"}

    def of(self, entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The structured stdout entries that carry this trace."""
        key = f"projects/proj/traces/{self.trace_id}"
        return [e for e in entries if e.get("logging.googleapis.com/trace") == key]


@dataclass
class Server:
    """One server process; ``entries`` is every JSON line read from its stdout so far."""

    process: subprocess.Popen[bytes]
    port: int
    read_fd: int
    log: Path
    entries: list[dict[str, Any]] = field(default_factory=list)
    _partial: bytes = b""

    def get(self, path: str, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
        """One complete HTTP request; returns once the whole response body was read."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            connection.request("GET", path, headers=headers or {})
            response = connection.getresponse()
            return response.status, response.read()
        finally:
            connection.close()

    def post(self, path: str, body: bytes, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
        """One complete HTTP POST; returns once the whole response was read."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            connection.request("POST", path, body=body, headers={"Content-Type": "application/json", **(headers or {})})
            response = connection.getresponse()
            return response.status, response.read()
        finally:
            connection.close()

    def worker_pids(self) -> list[int]:
        """The server's child processes (gunicorn's workers), from /proc."""
        pid = self.process.pid
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        return [int(child) for child in children]

    @contextmanager
    def all_frozen(self) -> Iterator[None]:
        """Every worker stopped, when the test cannot tell which one answered."""
        pids = self.worker_pids()
        for pid in pids:
            os.kill(pid, signal.SIGSTOP)
        try:
            yield
        finally:
            for pid in pids:
                os.kill(pid, signal.SIGCONT)

    def drain(self) -> list[dict[str, Any]]:
        """Read what the pipe holds now; return (and keep) the complete JSON lines among it."""
        chunks = [self._partial]
        while True:
            try:
                chunk = os.read(self.read_fd, 1 << 16)
            except BlockingIOError:
                break
            if not chunk:
                break
            chunks.append(chunk)
        *lines, self._partial = b"".join(chunks).split(b"\n")
        new = [json.loads(line) for line in lines if line.startswith(b"{")]
        self.entries.extend(new)
        return new

    @contextmanager
    def frozen(self, pid: int) -> Iterator[None]:
        """The worker ``pid`` stopped (SIGSTOP), as Cloud Run throttles an instance between requests."""
        os.kill(pid, signal.SIGSTOP)
        try:
            yield
        finally:
            os.kill(pid, signal.SIGCONT)

    def stderr(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]


@contextmanager
def serve(argv: list[str], env: dict[str, str], port: int) -> Iterator[Server]:
    """Start ``argv`` (which must listen on ``port``), wait until it accepts, stop it afterwards."""
    read_fd, write_fd = os.pipe()
    os.set_blocking(read_fd, False)
    with tempfile.NamedTemporaryFile("wb", suffix=".log", delete=False) as log:
        process = subprocess.Popen(argv, stdout=write_fd, stderr=log, env=env, cwd=ROOT)
    os.close(write_fd)
    server = Server(process, port, read_fd, Path(log.name))
    try:
        _wait_until_listening(server)
        yield server
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        os.close(read_fd)
        server.log.unlink(missing_ok=True)


def _wait_until_listening(server: Server) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"server exited with {server.process.returncode}:\n{server.stderr()}")
        try:
            socket.create_connection(("127.0.0.1", server.port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"server did not listen on {server.port}:\n{server.stderr()}")


def gunicorn(app: str, port: int, *options: str) -> list[str]:
    return [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", *options, app]


def uvicorn(app: str, port: int) -> list[str]:
    return [sys.executable, "-m", "uvicorn", "--port", str(port), "--no-access-log", app]
