"""gunicorn as recommended (examples/gunicorn.conf.py: preload, 2 workers, graceful exit) on a
simulated Cloud Run instance, in the ``stdout`` and ``api`` modes, and with ``otlp`` to a collector
(a loopback OTLP receiver), as a fleet outside Google Cloud deploys it.

Each request's worker is frozen with SIGSTOP as soon as its response is read, as Cloud Run
throttles an idle instance: the request's events must already have arrived (on stdout, or at the
loopback Cloud Logging server). Then the master gets SIGTERM, as at scale-in: every process writes
its books as it exits, and what arrived must equal what the books say was exported, with nothing
dropped. Only the metadata server is absent (region and project are set, as a deployment can).
"""

from __future__ import annotations

import json
import signal
from pathlib import Path
from typing import Any

import pytest

from tests.servers.cloud_logging import CloudLoggingServer
from tests.servers.otlp import OtlpReceiver
from tests.webserver import ROOT, Server, Trace, clean_env, free_port, serve

pytest_plugins = ("tests.servers.fixtures",)

CONF = ROOT / "tests" / "processes" / "gunicorn_books.conf.py"
CLOUD_RUN = {"K_SERVICE": "gyrinx", "K_REVISION": "gyrinx-00042-abc", "K_CONFIGURATION": "gyrinx",
             "GOOGLE_CLOUD_PROJECT": "proj", "GYRINX_TRACKER_GCP_REGION": "europe-west2"}
REQUESTS = 12


def _gunicorn(port: int, books: Path, **env: str) -> tuple[list[str], dict[str, str]]:
    argv = [*_python(), "-m", "gunicorn", "-c", str(CONF), "tests.processes.flask_app:app"]
    return argv, clean_env(**CLOUD_RUN, PORT=str(port), WEB_CONCURRENCY="2", BOOKS_DIR=str(books), **env)


def _python() -> list[str]:
    import sys

    return [sys.executable]


def _stop_and_read_books(server: Server, books: Path) -> list[dict[str, Any]]:
    """SIGTERM to the master, as Cloud Run sends at scale-in; every process's books once all exited."""
    server.process.send_signal(signal.SIGTERM)
    assert server.process.wait(30) == 0, server.stderr()
    return [json.loads(path.read_text()) for path in sorted(books.glob("*.json"))]


def _assert_books(books: list[dict[str, Any]], arrived: int) -> None:
    assert sorted(book["role"] for book in books) == ["master", "worker", "worker"]
    assert sum(book["exported"] for book in books) == arrived
    for book in books:
        assert (book["dropped"], book["queued"], book["in_flight"]) == (0, 0, 0), book
        assert book["emitted"] == book["exported"]


@pytest.mark.slow
class TestGunicornOnCloudRun:
    def test_stdout_mode_every_request_out_before_the_freeze_and_books_equal_lines(self, tmp_path: Path) -> None:
        """Structured stdout: each request's events are in the pipe before SIGSTOP; lines read = books."""
        port = free_port()
        argv, env = _gunicorn(port, tmp_path, GYRINX_TRACKER_GCP_TRANSPORT="stdout")
        with serve(argv, env, port) as server:
            pids = set()
            for index in range(REQUESTS):
                trace = Trace("traceparent" if index % 2 else "x-cloud-trace-context")
                status, body = server.get(f"/fighters/{index}", trace.headers())
                pid = json.loads(body)["pid"]
                pids.add(pid)
                with server.frozen(pid):
                    arrived = {entry["event"] for entry in trace.of(server.drain())}
                assert (status, arrived) == (200, {"api_call", "http_request"}), (index, server.stderr())
            books = _stop_and_read_books(server, tmp_path)
            server.drain()
        events = [entry for entry in server.entries if "event" in entry]
        assert [e["event"] for e in events].count("app_loaded") == 1  # the master's, exported once
        _assert_books(books, len(events))

    def test_api_mode_every_request_written_before_the_freeze_and_books_equal_entries(
            self, tmp_path: Path, cloud_logging_server: CloudLoggingServer) -> None:
        """Cloud Logging API: each request's WriteLogEntries has reached the server before SIGSTOP; entries = books."""
        port = free_port()
        argv, env = _gunicorn(port, tmp_path, GYRINX_TRACKER_GCP_TRANSPORT="api",
                              GYRINX_TRACKER_CLOUD_LOGGING_ENDPOINT=cloud_logging_server.endpoint)
        with serve(argv, env, port) as server:
            for index in range(REQUESTS):
                trace = Trace("traceparent" if index % 2 else "x-cloud-trace-context")
                status, body = server.get(f"/fighters/{index}", trace.headers())
                with server.frozen(json.loads(body)["pid"]):
                    arrived = {entry["jsonPayload"]["event"] for entry in cloud_logging_server.entries()
                               if entry.get("trace") == f"projects/proj/traces/{trace.trace_id}"}
                assert (status, arrived) == (200, {"api_call", "http_request"}), (index, server.stderr())
            books = _stop_and_read_books(server, tmp_path)
        entries = cloud_logging_server.entries()
        assert [e["jsonPayload"]["event"] for e in entries].count("app_loaded") == 1
        assert {e["logName"] for e in entries} == {"projects/proj/logs/tracker"}
        _assert_books(books, len(entries))

    def test_otlp_mode_every_request_received_before_the_freeze_and_books_equal_records(
            self, tmp_path: Path, otlp_receiver: OtlpReceiver) -> None:
        """OTLP to a collector, from the preloading master and two forked workers: each request's
        records have reached the receiver before SIGSTOP; the records it holds = the books."""
        port = free_port()
        argv, env = _gunicorn(port, tmp_path, GYRINX_TRACKER_EXPORTER="otlp",
                              OTEL_EXPORTER_OTLP_ENDPOINT=otlp_receiver.endpoint, OTEL_EXPORTER_OTLP_INSECURE="true")
        with serve(argv, env, port) as server:
            pids: set[int] = set()
            index = 0
            # At least REQUESTS, and on until both workers have served (the kernel picks the worker).
            while index < REQUESTS or (len(pids) < 2 and index < 10 * REQUESTS):
                trace = Trace("traceparent" if index % 2 else "x-cloud-trace-context")
                status, body = server.get(f"/fighters/{index}", trace.headers())
                pid = json.loads(body)["pid"]
                pids.add(pid)
                with server.frozen(pid):
                    arrived = {record["body"]["event"] for record in otlp_receiver.log_records()
                               if record["trace_id"] == trace.trace_id}
                assert (status, arrived) == (200, {"api_call", "http_request"}), (index, server.stderr())
                index += 1
            books = _stop_and_read_books(server, tmp_path)
        records = otlp_receiver.log_records()
        assert [r["body"]["event"] for r in records].count("app_loaded") == 1
        assert len(pids) == 2, pids  # both workers served and exported
        assert len({(r["time_unix_nano"], r["trace_id"], r["body"]["event"]) for r in records}) == len(records)
        _assert_books(books, len(records))
