"""One fleet run: N app processes -> (front) -> M gateways -> files, with an optional fault.

The apps use the public API over OTLP and report their books; the gateways' files are counted
afterwards. The result compares the two: unique records received must equal what the apps'
books call exported, what is missing must equal what they call dropped, and copies beyond the
first (at-least-once delivery after a failed, retried batch) are counted, not hidden.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.fleet.files import Received, SizeTail, logs_file, percentile
from benchmarks.fleet.tier import FRONT, GATEWAY, REPO, Replica, Sampler, clean_env

#: A gateway whose memory limiter refuses data under this load: a soft limit far below what it
#: needs, so the limiter flips between refusing and accepting (retryable errors to the front).
REFUSING_LIMITER = (
    "yaml:processors: {memory_limiter: {limit_percentage: 0, spike_limit_percentage: 0,"
    " limit_mib: 24, spike_limit_mib: 8, check_interval: 100ms}}"
)


@dataclass
class Scenario:
    """What to run: the shape of the fleet and the fault (see FAULTS)."""

    name: str
    apps: int = 4
    events: int = 10_000
    per_trace: int = 10
    gateways: int = 2
    front: bool = True
    fault: str = "none"
    #: When the fault starts (seconds after the apps start) and how long a killed replica stays down.
    fault_at: float = 2.0
    down_s: float = 2.0
    #: Extra --config for the front (a setting whose effect is measured) and extra front env.
    front_configs: list[str] = field(default_factory=list)
    front_env: dict[str, str] = field(default_factory=dict)
    #: The gateways' configs, if not gateway.yaml with the file overlay.
    gateway_configs: list[str] | None = None
    gateway_env: dict[str, str] = field(default_factory=dict)
    #: The event name the apps track (a high-volume name is sampled by the gateways).
    event: str = "fleet_event"
    #: Events/s per app; 0 = flat out.
    rate: float = 0.0


@dataclass
class Fleet:
    """The replicas of one run."""

    front: Replica | None
    gateways: list[Replica]
    notes: list[str] = field(default_factory=list)
    killed_at: float | None = None
    killed_written: int = 0

    @property
    def replicas(self) -> list[Replica]:
        """Front first, then the gateways."""
        return ([self.front] if self.front else []) + self.gateways


def start_fleet(binary: Path, scenario: Scenario, workdir: Path) -> Fleet:
    """Start the gateways, then the front pointed at them."""
    gateways = []
    for index in range(scenario.gateways):
        configs = list(scenario.gateway_configs or GATEWAY)
        if scenario.fault == "refusal" and index == scenario.gateways - 1:
            configs.append(REFUSING_LIMITER)
        gateways.append(Replica(binary, configs, workdir / f"gw-{index}", dict(scenario.gateway_env), role="gateway", name=f"gw-{index}"))
    for gateway in gateways:
        gateway.start()
    front = None
    if scenario.front:
        hosts = "[" + ", ".join(g.endpoint for g in gateways) + "]"
        env = {"GYRINX_GATEWAYS": hosts, **scenario.front_env}
        front = Replica(binary, FRONT + scenario.front_configs, workdir / "front-0", env, role="front", name="front-0")
        front.start()
    return Fleet(front, gateways)


def size(path: Path) -> int:
    """A file's size, 0 if it does not exist yet."""
    return path.stat().st_size if path.exists() else 0


def kill_and_restart(replica: Replica, at: float, down: float, fleet: Fleet) -> Callable[[float], None]:
    """A fault step: SIGKILL ``replica`` ``at`` seconds into the load, start it ``down`` s later.

    Not before data flows through it: a gateway is killed once its file has records, a front once
    the gateways' files have, so the kill lands mid-stream and not in the apps' start-up.
    """
    gateways = [replica] if replica.role == "gateway" else fleet.gateways

    def written() -> int:
        return sum(size(logs_file(g.output)) for g in gateways)

    def step(t0: float) -> None:
        time.sleep(max(0.0, t0 + at - time.time()))
        while written() == 0 and time.time() - t0 < 60:
            time.sleep(0.02)
        fleet.killed_written = written()
        replica.kill()
        fleet.killed_at = time.time() - t0
        fleet.notes.append(f"{replica.name} SIGKILLed at {fleet.killed_at:.1f}s ({fleet.killed_written:,} bytes of logs written)")
        time.sleep(down)
        replica.start()
        fleet.notes.append(f"{replica.name} restarted and healthy at {time.time() - t0:.1f}s")

    return step


def slow(replica: Replica, stopped_s: float, running_s: float, until: threading.Event) -> Callable[[float], None]:
    """A fault step: the replica is descheduled (SIGSTOP) ``stopped_s`` of every cycle until the load ends."""

    def step(t0: float) -> None:
        while not until.is_set():
            replica.pause(True)
            time.sleep(stopped_s)
            replica.pause(False)
            until.wait(running_s)

    return step


def fault_step(scenario: Scenario, fleet: Fleet, load_done: threading.Event) -> Callable[[float], None] | None:
    """The fault of ``scenario`` as a function of the load's start time."""
    last = fleet.gateways[-1]
    if scenario.fault == "gateway-kill":
        return kill_and_restart(last, scenario.fault_at, scenario.down_s, fleet)
    if scenario.fault == "front-restart":
        assert fleet.front is not None
        return kill_and_restart(fleet.front, scenario.fault_at, scenario.down_s / 2, fleet)
    if scenario.fault == "slow-gateway":
        fleet.notes.append(f"{last.name} SIGSTOPped 150 ms of every 250 ms while the apps track")
        return slow(last, 0.15, 0.10, load_done)
    return None


def run_apps(scenario: Scenario, target: str) -> list[subprocess.Popen[str]]:
    """Start the apps, all at once, each its own process."""
    procs = []
    for app in range(scenario.apps):
        env = clean_env(
            {
                "GYRINX_TRACKER_EXPORTER": "otlp",
                "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://{target}",
                "OTEL_SERVICE_NAME": "fleet-app",
                "OTEL_RESOURCE_ATTRIBUTES": f"service.instance.id=app-{app}",
                "OTEL_METRIC_EXPORT_INTERVAL": "1000",
            }
        )
        argv = [sys.executable, "-m", "benchmarks.fleet.app", str(app), str(scenario.events), str(scenario.per_trace),
                scenario.event, str(scenario.rate)]
        procs.append(subprocess.Popen(argv, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    return procs


def wait_drained(fleet: Fleet, timeout: float = 120.0, quiet: float = 2.0) -> bool:
    """Until the front's queues are empty and no gateway file grew for ``quiet`` seconds."""
    paths = [logs_file(g.output) for g in fleet.gateways]
    deadline = time.monotonic() + timeout
    last_sizes: list[int] = []
    stable_since = time.monotonic()
    while time.monotonic() < deadline:
        sizes = [p.stat().st_size if p.exists() else 0 for p in paths]
        if sizes != last_sizes:
            last_sizes, stable_since = sizes, time.monotonic()
        queued = fleet.front.queue_size() if fleet.front else 0.0
        if queued == 0 and time.monotonic() - stable_since >= quiet:
            return True
        time.sleep(0.2)
    return False


def run(binary: Path, scenario: Scenario, workdir: Path | None = None) -> dict[str, Any]:
    """Run ``scenario`` once and return its measurements and checks."""
    workdir = workdir or Path(tempfile.mkdtemp(prefix=f"fleet-{scenario.name}-"))
    fleet = start_fleet(binary, scenario, workdir)
    idle_rss = {r.name: (r.sample(), r.lifetimes[-1].peak_rss_mib)[1] for r in fleet.replicas}
    paths = [logs_file(g.output) for g in fleet.gateways]
    load_done = threading.Event()
    reports: list[dict[str, Any]] = []
    try:
        with Sampler(fleet.replicas), SizeTail(paths) as tail:
            target = fleet.front.endpoint if fleet.front else fleet.gateways[0].endpoint
            t0 = time.time()
            procs = run_apps(scenario, target)
            step = fault_step(scenario, fleet, load_done)
            fault = threading.Thread(target=step, args=(t0,), daemon=True) if step else None
            if fault:
                fault.start()
            for proc in procs:
                out, err = proc.communicate(timeout=600)
                if proc.returncode != 0 or not out.strip():
                    raise RuntimeError(f"app failed ({proc.returncode}): {err[-3000:]}")
                reports.append(json.loads(out.strip().splitlines()[-1]))
            load_done.set()
            if fault:
                fault.join()
            drained = wait_drained(fleet)
            for replica in fleet.replicas:
                replica.stop()
    finally:
        load_done.set()
        for replica in fleet.replicas:
            replica.stop()
    received = Received()
    for gateway in fleet.gateways:
        received.add_file(gateway.name, logs_file(gateway.output), tail)
    return summarise(scenario, fleet, reports, received, t0, drained, idle_rss)


def summarise(
    scenario: Scenario, fleet: Fleet, reports: list[dict[str, Any]], received: Received,
    t0: float, drained: bool, idle_rss: dict[str, float],
) -> dict[str, Any]:
    """Books against files, throughput, cost and latency of one run."""
    books = [r["books"] for r in reports]
    emitted = sum(b["emitted"] for b in books)
    exported = sum(b["exported"] for b in books)
    dropped: Counter[str] = Counter()
    for b in books:
        dropped.update(b["dropped_by_reason"])
    pending = sum(b["queued"] + b["in_flight"] for b in books)
    unique = received.unique
    # From the first track() (not the apps' interpreter start-up) to the last record's arrival.
    start = min((r["started"] for r in reports), default=t0)
    window = max(received.last_arrival - start, 1e-9)
    role_cpu = {role: sum(r.cpu_s() for r in fleet.replicas if r.role == role) for role in ("front", "gateway")}
    return {
        "scenario": scenario.name,
        "fault": scenario.fault,
        "apps": scenario.apps,
        "events_per_app": scenario.events,
        "rate_per_app": scenario.rate,
        "gateways": scenario.gateways,
        "front": scenario.front,
        "notes": fleet.notes,
        # Seconds after the apps started: the kill must land while they still track.
        "killed_at_s": fleet.killed_at,
        "tracking_ended_s": max((r["tracked"] for r in reports), default=t0) - t0,
        "killed_written_bytes": fleet.killed_written,
        # The same files at the end (the killed gateway's, or all for a front): more than at the kill.
        "final_written_bytes": sum(size(logs_file(g.output)) for g in fleet.gateways)
        if scenario.fault != "gateway-kill" else size(logs_file(fleet.gateways[-1].output)),
        "drained": drained,
        "books": {"emitted": emitted, "exported": exported, "dropped": dict(dropped), "pending": pending},
        "files": {
            "unique": unique,
            "duplicates": received.duplicates,
            "missing": emitted - unique,
            "per_gateway": dict(received.per_gateway),
            "unreadable_lines": received.unreadable_lines,
            "traces": len(received.gateways_of_trace),
            # How many of its records each trace has in the files (all of them, or none if sampled out).
            "records_per_trace": dict(Counter(received.records_of_trace.values())),
            "split_traces": received.split_traces(),
        },
        "checks": {
            "unique_equals_exported": unique == exported,
            "missing_equals_dropped": emitted - unique == sum(dropped.values()) + pending,
            "no_split_trace": received.split_traces() == 0,
        },
        "events_per_s": unique / window,
        "window_s": window,
        "cpu_s": role_cpu,
        "cpu_s_per_million": {role: cpu / max(unique, 1) * 1e6 for role, cpu in role_cpu.items()},
        "peak_rss_mib": {r.name: r.peak_rss_mib() for r in fleet.replicas},
        "idle_rss_mib": idle_rss,
        "latency_ms": {"p50": percentile(received.latencies_s, 0.5) * 1e3, "p99": percentile(received.latencies_s, 0.99) * 1e3},
    }
