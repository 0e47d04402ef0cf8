"""Two processes never write the same series: each has its own service.instance.id, a forked child too.

Real gunicorn (preloading master, two forked workers) exporting OTLP over gRPC and over
HTTP/protobuf to loopback receivers: the receiver keys what arrived by the resource's instance id,
and each process's totals there (log records, and the cumulative counter's last value) must equal
that process's own books. Without an instance id the three processes sent identical resources and a
backend keeping one series per identity kept one worker's totals (110 of 220 requests).
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.process.test_gunicorn import REQUESTS, _gunicorn, _stop_and_read_books
from tests.servers.otlp import OtlpReceiver
from tests.servers.otlp_http import OtlpHttpReceiver
from tests.webserver import ROOT, clean_env, free_port, serve

pytest_plugins = ("tests.servers.fixtures",)


@pytest.fixture(params=["grpc", "http/protobuf"])
def receiver(request: pytest.FixtureRequest, otlp_receiver: OtlpReceiver) -> Iterator[tuple[str, OtlpReceiver]]:
    if request.param == "grpc":
        yield request.param, otlp_receiver
        return
    http = OtlpHttpReceiver().start()
    try:
        yield request.param, http
    finally:
        http.stop()


def _per_instance(receiver: OtlpReceiver) -> tuple[dict[str, int], dict[str, int], dict[str, float]]:
    """(pid by instance id, log records by instance id, last tracker.api_call total by instance id)."""
    records = receiver.log_records()
    pids = {r["resource"]["service.instance.id"]: r["resource"]["process.pid"] for r in records}
    counts = Counter(r["resource"]["service.instance.id"] for r in records)
    latest: dict[tuple[str, frozenset[tuple[str, Any]]], float] = {}
    for point in receiver.metric_points().get("tracker.api_call", []):  # cumulative: the last is each series' total
        latest[point["resource"]["service.instance.id"], frozenset(point["attributes"].items())] = point["value"]
    calls: Counter[str] = Counter()
    for (instance, _), total in latest.items():
        calls[instance] += total
    return pids, dict(counts), dict(calls)


@pytest.mark.slow
class TestGunicornWorkers:
    def test_each_process_its_own_instance_and_exact_totals_at_the_receiver(
            self, tmp_path: Path, receiver: tuple[str, OtlpReceiver]) -> None:
        """Master and two workers: three instance ids; per instance, records and counter = its books."""
        protocol, sink = receiver
        port = free_port()
        argv, env = _gunicorn(port, tmp_path, GYRINX_TRACKER_EXPORTER="otlp", OTEL_EXPORTER_OTLP_PROTOCOL=protocol,
                              OTEL_EXPORTER_OTLP_ENDPOINT=sink.endpoint, OTEL_EXPORTER_OTLP_INSECURE="true")
        served: Counter[int] = Counter()
        with serve(argv, env, port) as server:
            index = 0
            while index < REQUESTS or (len(served) < 2 and index < 10 * REQUESTS):
                status, body = server.get(f"/fighters/{index}")
                assert status == 200, server.stderr()
                served[json.loads(body)["pid"]] += 1
                index += 1
            books = _stop_and_read_books(server, tmp_path)
        assert len(served) == 2, served
        pids, records, calls = _per_instance(sink)
        assert len(pids) == 3 and len(set(pids.values())) == 3  # master + 2 workers, one id each
        by_pid: dict[int, dict[str, Any]] = {book["pid"]: book for book in books}
        for instance, pid in pids.items():
            assert records[instance] == by_pid[pid]["exported"] == by_pid[pid]["emitted"], (instance, by_pid[pid])
        for instance, pid in pids.items():
            if pid in served:  # each request tracks one api_call in the worker that served it
                assert calls[instance] == served[pid]
        assert sum(calls.values()) == sum(served.values()) == index


FORKING = textwrap.dedent("""
    import os, gyrinx_tracker
    gyrinx_tracker.track("before_fork")
    assert gyrinx_tracker.flush(10)
    pid = os.fork()
    gyrinx_tracker.track("after_fork", child=pid == 0)
    assert gyrinx_tracker.flush(10)
    if pid == 0:
        gyrinx_tracker.shutdown(10)
        os._exit(0)
    os.waitpid(pid, 0)
""")


@pytest.mark.skipif(sys.platform == "win32", reason="fork")
class TestFork:
    def test_a_forked_child_gets_a_new_instance_id(self, otlp_receiver: OtlpReceiver) -> None:
        """The child's records carry its own id and pid; the parent's keep the parent's."""
        env = clean_env(GYRINX_TRACKER_EXPORTER="otlp", OTEL_EXPORTER_OTLP_ENDPOINT=otlp_receiver.endpoint,
                        OTEL_EXPORTER_OTLP_INSECURE="true")
        done = subprocess.run([sys.executable, "-c", FORKING], env=env, cwd=ROOT, capture_output=True, timeout=60)
        assert done.returncode == 0, done.stderr
        seen = {(r["body"]["event"], bool(r["body"].get("labels", {}).get("child"))):
                (r["resource"]["service.instance.id"], r["resource"]["process.pid"])
                for r in otlp_receiver.log_records()}
        assert len(seen) == 3, seen
        parent = seen[("before_fork", False)]
        assert seen[("after_fork", False)] == parent
        child = seen[("after_fork", True)]
        assert child[0] != parent[0] and child[1] != parent[1]


APP_RESOURCE = textwrap.dedent("""
    import json, gyrinx_tracker
    from opentelemetry import trace
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    app = Resource.create({"service.name": "shop", "deployment.environment": "prod"})
    trace.set_tracer_provider(TracerProvider(resource=app))
    with trace.get_tracer("shop").start_as_current_span("checkout") as span:
        gyrinx_tracker.track("api_call", endpoint="/pay")
    assert gyrinx_tracker.flush(10)
    print(json.dumps({"app": dict(app.attributes), "trace_id": f"{span.get_span_context().trace_id:032x}"}))
""")


class TestTheAppsResource:
    def test_our_records_carry_the_apps_resource_and_its_trace(self, otlp_receiver: OtlpReceiver) -> None:
        """An app with its own TracerProvider, the tracker exporting OTLP itself: the record has the
        app's service name and attributes, the instance id its Resource.create() gave (1.40 on), and the span."""
        env = clean_env(GYRINX_TRACKER_EXPORTER="otlp", OTEL_EXPORTER_OTLP_ENDPOINT=otlp_receiver.endpoint,
                        OTEL_EXPORTER_OTLP_INSECURE="true")
        done = subprocess.run([sys.executable, "-c", APP_RESOURCE], env=env, cwd=ROOT, capture_output=True,
                              text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        out = json.loads(done.stdout.strip().splitlines()[-1])
        (record,) = otlp_receiver.log_records()
        resource = record["resource"]
        assert (resource["service.name"], resource["deployment.environment"]) == ("shop", "prod")
        if "service.instance.id" in out["app"]:  # the SDK's Resource.create() makes one from 1.40
            assert resource["service.instance.id"] == out["app"]["service.instance.id"]
        assert record["trace_id"] == out["trace_id"]
        points = otlp_receiver.metric_points()["tracker.api_call"]
        assert {p["resource"]["service.name"] for p in points} == {"shop"}
