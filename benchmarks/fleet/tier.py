"""The collector tier of a fleet run: real collector processes on loopback, and what they cost.

Each replica keeps its ports, its persistent-queue directory and its output files across restarts,
as a container with a volume would, so a replica killed and started again resumes its own queue.
CPU seconds (utime + stime) and peak RSS (VmHWM) come from /proc, sampled while the process runs
and once more right before it is killed or stopped, summed over all of a replica's lifetimes.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CONFIG_DIR = REPO / "collector-config"
FRONT = ["front.yaml"]
GATEWAY = ["gateway.yaml", "overlays/gateway-file.yaml"]
_TICK = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    """A loopback TCP port free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def clean_env(extra: dict[str, str]) -> dict[str, str]:
    """This process's environment without OTEL_* / GYRINX_* settings, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "GYRINX_"))}
    env.update(extra)
    return env


@dataclass
class Usage:
    """What one lifetime of a process cost, from its last /proc sample."""

    cpu_s: float = 0.0
    peak_rss_mib: float = 0.0


def read_usage(pid: int) -> Usage | None:
    """CPU seconds and VmHWM of a live process; None once it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / _TICK  # utime, stime (fields 14 and 15)
    hwm = next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:")), None)
    if hwm is None:  # a zombie (exited, not yet reaped): its memory and times are gone
        return None
    return Usage(cpu, hwm / 1024)


@dataclass
class Replica:
    """One collector replica: role ``front`` or ``gateway``, name, configs and extra environment."""

    binary: Path
    role: str
    name: str
    configs: list[str]
    workdir: Path
    env: dict[str, str] = field(default_factory=dict)
    grpc_port: int = field(default_factory=free_port)
    http_port: int = field(default_factory=free_port)
    health_port: int = field(default_factory=free_port)
    metrics_port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = field(default=None, init=False)
    lifetimes: list[Usage] = field(default_factory=list, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)

    @property
    def endpoint(self) -> str:
        """host:port of its OTLP/gRPC receiver."""
        return f"127.0.0.1:{self.grpc_port}"

    @property
    def output(self) -> Path:
        """Prefix of its file exporters' outputs (gateways)."""
        return self.workdir / "out"

    def environment(self) -> dict[str, str]:
        """Ports, storage and outputs through the configs' ${env:...} hooks."""
        return clean_env(
            {
                "GYRINX_COLLECTOR_OTLP_GRPC": self.endpoint,
                "GYRINX_COLLECTOR_OTLP_HTTP": f"127.0.0.1:{self.http_port}",
                "GYRINX_COLLECTOR_HEALTH": f"127.0.0.1:{self.health_port}",
                "GYRINX_COLLECTOR_METRICS_HOST": "127.0.0.1",
                "GYRINX_COLLECTOR_METRICS_PORT": str(self.metrics_port),
                "GYRINX_COLLECTOR_STORAGE_DIR": str(self.workdir / "storage"),
                "GYRINX_COLLECTOR_FILE_PREFIX": str(self.output),
                "GYRINX_GATEWAY_INSTANCE": self.name,
                **self.env,
            }
        )

    def argv(self) -> list[str]:
        """One --config per file (or inline yaml:), merged in order."""
        args = [str(self.binary)]
        for config in self.configs:
            args += ["--config", config if config.startswith("yaml:") or os.path.isabs(config) else str(CONFIG_DIR / config)]
        return args

    def start(self, timeout: float = 60.0) -> None:
        """Start and wait for the health check (200)."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        with (self.workdir / "collector.log").open("ab") as log:
            self.process = subprocess.Popen(self.argv(), env=self.environment(), stdout=log, stderr=subprocess.STDOUT)
        self.lifetimes.append(Usage())
        deadline = time.monotonic() + timeout
        while not self.healthy():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{self.name} did not start:\n{self.log()[-4000:]}")
            time.sleep(0.05)

    def healthy(self) -> bool:
        """The health_check extension answers 200."""
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.health_port}/", timeout=1) as response:
                return bool(response.status == 200)
        except (urllib.error.URLError, OSError):
            return False

    def sample(self) -> None:
        """Record this lifetime's CPU and peak RSS so far."""
        with self._lock:
            if self.process is None or not self.lifetimes:
                return
            usage = read_usage(self.process.pid)
            if usage is not None:
                last = self.lifetimes[-1]  # both only grow within a lifetime
                self.lifetimes[-1] = Usage(max(last.cpu_s, usage.cpu_s), max(last.peak_rss_mib, usage.peak_rss_mib))

    def kill(self) -> None:
        """SIGKILL: nothing is flushed, nothing is shut down."""
        assert self.process is not None
        self.sample()
        self.process.kill()
        self.process.wait()

    def pause(self, paused: bool) -> None:
        """SIGSTOP / SIGCONT: the process stops being scheduled (a slow or starved replica)."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP if paused else signal.SIGCONT)

    def stop(self, timeout: float = 30.0) -> None:
        """SIGTERM: queues drain, exporters flush."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGCONT)
        self.sample()
        self.process.terminate()
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def queue_size(self) -> float:
        """Requests in its exporters' sending queues (its own Prometheus metrics); -1 if unreadable."""
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=2) as response:
                text = response.read().decode()
        except (urllib.error.URLError, OSError):
            return -1.0
        return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith("otelcol_exporter_queue_size"))

    def cpu_s(self) -> float:
        """CPU seconds over all lifetimes."""
        return sum(u.cpu_s for u in self.lifetimes)

    def peak_rss_mib(self) -> float:
        """The highest VmHWM of any lifetime."""
        return max((u.peak_rss_mib for u in self.lifetimes), default=0.0)

    def log(self) -> str:
        """Everything it printed, all lifetimes."""
        path = self.workdir / "collector.log"
        return path.read_text(errors="replace") if path.exists() else ""


class Sampler:
    """Samples every replica's /proc every ``interval`` seconds, in a thread, until stopped."""

    def __init__(self, replicas: list[Replica], interval: float = 0.25) -> None:
        self.replicas = replicas
        self.interval = interval
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self.stopped.wait(self.interval):
            for replica in self.replicas:
                replica.sample()

    def __enter__(self) -> Sampler:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopped.set()
        self.thread.join()
