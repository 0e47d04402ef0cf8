"""The collector tier of a fleet run: real collector processes on loopback, and what they cost.

Each replica keeps its ports, its persistent-queue directory and its output files across restarts,
as a container with a volume would, so a replica killed and started again resumes its own queue.
CPU seconds (utime + stime) and peak RSS (VmHWM) come from /proc, sampled while the process runs
and once more right before it is killed or stopped, summed over all of a replica's lifetimes.
"""

from __future__ import annotations

import os
import signal
import threading
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from tests.integration.collector.collector_helpers import CONFIG_DIR, REPO, Collector, clean_env

__all__ = ["CONFIG_DIR", "FRONT", "GATEWAY", "REPO", "Replica", "Sampler", "Usage", "clean_env", "read_usage"]

FRONT = ["front.yaml"]
GATEWAY = ["gateway.yaml", "overlays/gateway-file.yaml"]
_TICK = os.sysconf("SC_CLK_TCK")


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
class Replica(Collector):
    """One collector replica of a fleet: the tests' ``Collector`` (ports, configs, health, stop and
    kill), plus its role (``front`` or ``gateway``), its name and what each lifetime cost."""

    role: str = field(kw_only=True)
    name: str = field(kw_only=True)
    lifetimes: list[Usage] = field(default_factory=list, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)

    @property
    def endpoint(self) -> str:
        """host:port of its OTLP/gRPC receiver."""
        return self.grpc_endpoint

    def environment(self) -> dict[str, str]:
        """The collector's, plus the name the gateway configs stamp on what they write."""
        env = super().environment()
        env.setdefault("GYRINX_GATEWAY_INSTANCE", self.name)
        return env

    def start(self, timeout: float = 60.0) -> None:
        """Start (a new lifetime) and wait for the health check (200)."""
        self.lifetimes.append(Usage())
        try:
            self.run(timeout)
        except AssertionError as error:
            raise RuntimeError(f"{self.name} did not start: {error}") from None

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
        """SIGKILL: nothing is flushed, nothing is shut down (its cost sampled first)."""
        self.sample()
        super().kill()

    def pause(self, paused: bool) -> None:
        """SIGSTOP / SIGCONT: the process stops being scheduled (a slow or starved replica)."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP if paused else signal.SIGCONT)

    def stop(self, timeout: float = 30.0) -> int | None:
        """SIGTERM (after SIGCONT, in case it was paused): queues drain, exporters flush."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)
            self.sample()
        return super().stop(timeout)

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
