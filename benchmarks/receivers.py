"""Counting receivers for the API and OTLP modes, in a process of their own (their CPU is not billed).

They are the test suite's loopback servers (``tests/servers/``), so the protocol is the one the tests
pin; here they keep counts instead of requests (a benchmark sends millions of records), served as
JSON on a small HTTP port so that the benchmark and its child processes read the same books.
``python -m benchmarks.receivers`` prints its endpoints as one JSON line and serves until stdin closes.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypedDict

CUMULATIVE = 2  # opentelemetry.proto.metrics.v1.AggregationTemporality
VARIABLE = "GYRINX_BENCH_RECEIVERS"  # how a child process is told the endpoints (``passed``, ``passing``)


class Endpoints(TypedDict):
    api: str  # host:port of the Cloud Logging WriteLogEntries server
    otlp: str  # http://host:port of the OTLP logs + metrics receiver
    counts: str  # http://host:port/ answering with Counts


class Counts(TypedDict):
    entries: int  # Cloud Logging entries accepted
    logs: int  # OTLP log records accepted
    metrics: dict[str, float]  # metric name -> counter total or histogram count over all its series


class Tally:
    """What arrived. A cumulative point replaces its series' last value; a delta point adds to it."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.entries = self.logs = 0
        self.series: dict[tuple[str, bytes], float] = {}

    def add_entries(self, request: Any) -> None:
        with self.lock:
            self.entries += len(request.entries)

    def add_logs(self, request: Any) -> None:
        with self.lock:
            self.logs += sum(len(scope.log_records) for logs in request.resource_logs for scope in logs.scope_logs)

    def add_metrics(self, request: Any) -> None:
        for metric in (m for rm in request.resource_metrics for sm in rm.scope_metrics for m in sm.metrics):
            kind = metric.WhichOneof("data")
            if kind in ("sum", "histogram"):
                data = getattr(metric, kind)
                for point in data.data_points:
                    amount = point.count if kind == "histogram" else getattr(point, point.WhichOneof("value"))
                    self._add((metric.name, str(point.start_time_unix_nano).encode() + b"".join(
                        pair.SerializeToString() for pair in point.attributes)), amount,
                        data.aggregation_temporality == CUMULATIVE)

    def _add(self, series: tuple[str, bytes], amount: float, cumulative: bool) -> None:
        with self.lock:
            self.series[series] = amount if cumulative else self.series.get(series, 0) + amount

    def counts(self) -> Counts:
        with self.lock:
            metrics: dict[str, float] = {}
            for (name, _), amount in self.series.items():
                metrics[name] = metrics.get(name, 0) + amount
            return Counts(entries=self.entries, logs=self.logs, metrics=metrics)


def counts(endpoints: Endpoints) -> Counts:
    """The receivers' counts now, from any process."""
    with urllib.request.urlopen(endpoints["counts"], timeout=10) as response:
        result: Counts = json.loads(response.read())
        return result


def passing(endpoints: Endpoints | None) -> dict[str, str]:
    """The variable that tells a child process where the receivers are."""
    return {VARIABLE: json.dumps(endpoints)}


def passed() -> Endpoints | None:
    """The endpoints this process was told, if any."""
    found: Endpoints | None = json.loads(os.environ.get(VARIABLE, "null"))
    return found


@contextlib.contextmanager
def receivers() -> Iterator[Endpoints]:
    """The receivers' process, for the duration of the block."""
    command = [sys.executable, "-m", "benchmarks.receivers"]
    with subprocess.Popen(command, text=True, stdin=subprocess.PIPE, stdout=subprocess.PIPE) as process:
        assert process.stdin is not None and process.stdout is not None
        yield json.loads(process.stdout.readline())
        process.stdin.close()


def _serve() -> None:
    from google.cloud.logging_v2.types import WriteLogEntriesResponse

    from tests.servers import CloudLoggingServer, OtlpReceiver

    tally = Tally()

    class Entries(CloudLoggingServer):
        def _write_log_entries(self, request: Any, context: Any) -> Any:
            self._handle(request, context, lambda: tally.add_entries(request))
            return WriteLogEntriesResponse.pb()()

    class Otlp(OtlpReceiver):
        def _accept(self, sink: list[Any], request: Any, context: Any) -> None:
            add = tally.add_logs if sink is self.log_requests else tally.add_metrics
            self._handle(request, context, lambda: add(request))

    class Answer(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = json.dumps(tally.counts()).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            return None

    with Entries() as api, Otlp() as otlp, ThreadingHTTPServer(("127.0.0.1", 0), Answer) as http:
        threading.Thread(target=http.serve_forever, daemon=True).start()
        url = f"http://127.0.0.1:{http.server_address[1]}/"
        print(json.dumps(Endpoints(api=api.endpoint, otlp=otlp.endpoint, counts=url)), flush=True)
        sys.stdin.read()
        http.shutdown()


if __name__ == "__main__":
    _serve()
