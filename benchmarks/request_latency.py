"""Response latency added by request-scoped delivery, per transport, as a ratio to no tracker.

Each configuration is the same one-view WSGI app (``latency_app.py``) under its own gunicorn (one
sync worker), started together; requests go round robin over the servers in rounds, so drift
hits every configuration alike, and a server is asked again only after all the others answered
(so work a worker does after a response, as with ``after``, is not billed to its next request).
Latency is what a client sees: connect, request, the whole response read. The view tracks one
event and the middleware one request event. The ``api`` transport writes to the loopback Cloud
Logging server (``benchmarks.receivers``, its own process). Run standalone:
``python benchmarks/request_latency.py [--rounds N]``; prints a table (median, p90, ratio of
medians to the baseline).
"""

from __future__ import annotations

import argparse
import http.client
import os
import random
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.receivers import Endpoints, counts, receivers  # noqa: E402 - after the path is set

CONFIGS: dict[str, dict[str, str]] = {
    "no tracker (baseline)": {"BENCH_TRACKER": "0"},
    "tracker, delivery off": {"GYRINX_TRACKER_EXPORTER": "console", "GYRINX_TRACKER_REQUEST_FLUSH": "off"},
    "local JSON, before": {"GYRINX_TRACKER_EXPORTER": "console", "GYRINX_TRACKER_REQUEST_FLUSH": "before"},
    "stdout, before": {"GYRINX_TRACKER_GCP_TRANSPORT": "stdout", "GYRINX_TRACKER_REQUEST_FLUSH": "before"},
    "stdout, after": {"GYRINX_TRACKER_GCP_TRANSPORT": "stdout", "GYRINX_TRACKER_REQUEST_FLUSH": "after"},
    "api, before": {"GYRINX_TRACKER_GCP_TRANSPORT": "api", "GYRINX_TRACKER_REQUEST_FLUSH": "before"},
    "api, after": {"GYRINX_TRACKER_GCP_TRANSPORT": "api", "GYRINX_TRACKER_REQUEST_FLUSH": "after"},
}
GCP = {"GYRINX_TRACKER_EXPORTER": "gcp", "GOOGLE_CLOUD_PROJECT": "bench", "K_SERVICE": "bench",
       "GYRINX_TRACKER_GCP_REGION": "europe-west2"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start(name: str, env_extra: dict[str, str], endpoint: str) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GYRINX_TRACKER_", "OTEL_", "K_"))}
    env.update(PYTHONPATH=str(ROOT), GYRINX_TRACKER_CLOUD_LOGGING_ENDPOINT=endpoint)
    if "GYRINX_TRACKER_GCP_TRANSPORT" in env_extra:
        env.update(GCP)
    env.update(env_extra)
    argv = [sys.executable, "-m", "gunicorn", "--workers", "1", "--bind", f"127.0.0.1:{port}",
            "benchmarks.latency_app:app"]
    # stdout lines and local JSON (stderr) go nowhere, as to a fast agent
    return subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL), port


def request(port: int) -> float:
    started = time.perf_counter()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request("GET", "/api/v1/fighters/7")
    response = connection.getresponse()
    response.read()
    elapsed = time.perf_counter() - started
    connection.close()
    if response.status != 200:
        raise RuntimeError(f"status {response.status}")
    return elapsed


def wait_ready(port: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            request(port)
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"server on {port} did not answer")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=400)
    args = parser.parse_args()
    with receivers() as endpoints:
        run(args.rounds, endpoints)


def run(rounds: int, endpoints: Endpoints) -> None:
    servers = {name: start(name, extra, endpoints["api"]) for name, extra in CONFIGS.items()}
    try:
        for _, port in servers.values():
            wait_ready(port)
        for _, port in servers.values():  # warm-up: imports, first export, connections
            for _ in range(20):
                request(port)
        samples: dict[str, list[float]] = {name: [] for name in servers}
        order = list(servers)
        shuffle = random.Random(8).shuffle
        for _ in range(rounds):
            shuffle(order)  # no configuration always goes first (or right after the same one)
            for name in order:
                samples[name].append(request(servers[name][1]))
        report(samples, counts(endpoints)["entries"])
    finally:
        for process, _ in servers.values():
            process.terminate()
            process.wait(20)


def report(samples: dict[str, list[float]], api_entries: int) -> None:
    base = statistics.median(samples["no tracker (baseline)"])
    print(f"{'configuration':<24} {'median ms':>10} {'p90 ms':>8} {'ratio':>6}")
    for name, values in samples.items():
        median = statistics.median(values)
        p90 = statistics.quantiles(values, n=10)[-1]
        print(f"{name:<24} {median * 1000:>10.3f} {p90 * 1000:>8.3f} {median / base:>6.2f}")
    print(f"({len(next(iter(samples.values())))} requests each; Cloud Logging loopback entries: {api_entries})")


if __name__ == "__main__":
    main()
