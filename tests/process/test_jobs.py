"""The task patterns of the README, run as shipped in examples/: a Cloud Run job task and a
Pub/Sub push handler, each tracking task_started and task_completed (or task_failed)."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from typing import Any

import pytest

from tests.servers.cloud_logging import CloudLoggingServer
from tests.webserver import ROOT, STDOUT, clean_env, free_port, serve

pytest_plugins = ("tests.servers.fixtures",)

JOB = {"CLOUD_RUN_JOB": "nightly-report", "CLOUD_RUN_EXECUTION": "nightly-report-abc12",
       "CLOUD_RUN_TASK_INDEX": "3", "CLOUD_RUN_TASK_ATTEMPT": "1",
       "GOOGLE_CLOUD_PROJECT": "proj", "GYRINX_TRACKER_GCP_REGION": "europe-west2"}


def _run_job(server: CloudLoggingServer, **extra: str) -> tuple[int, list[dict[str, Any]]]:
    env = clean_env(**JOB, GYRINX_TRACKER_CLOUD_LOGGING_ENDPOINT=server.endpoint, **extra)
    result = subprocess.run([sys.executable, str(ROOT / "examples" / "cloud_run_job.py")], env=env,
                            capture_output=True, text=True, timeout=60)
    return result.returncode, server.entries()


class TestCloudRunJob:
    def test_a_task_tracks_its_start_and_end_under_the_job_resource(
            self, cloud_logging_server: CloudLoggingServer) -> None:
        """task_started and task_completed reach Cloud Logging before the process ends, as cloud_run_job entries."""
        code, entries = _run_job(cloud_logging_server)
        assert code == 0
        assert [e["jsonPayload"]["event"] for e in entries] == ["task_started", "task_completed"]
        assert {e["resource"]["type"] for e in entries} == {"cloud_run_job"}
        assert entries[0]["resource"]["labels"]["job_name"] == "nightly-report"
        assert entries[1]["jsonPayload"]["labels"] == {"task_index": 3.0, "attempt": 1.0, "items": 40.0}

    def test_a_failing_task_tracks_task_failed_and_exits_non_zero(
            self, cloud_logging_server: CloudLoggingServer) -> None:
        """A task whose work raises records task_failed with the error type, and Cloud Run sees exit code 1."""
        code, entries = _run_job(cloud_logging_server, EXAMPLE_FAIL="1")
        assert code == 1
        assert [e["jsonPayload"]["event"] for e in entries] == ["task_started", "task_failed"]
        assert entries[1]["jsonPayload"]["labels"]["error"] == "RuntimeError"


def _envelope(message_id: str, data: bytes) -> bytes:
    return json.dumps({"subscription": "projects/proj/subscriptions/reports",
                       "message": {"messageId": message_id, "data": base64.b64encode(data).decode()}}).encode()


@pytest.mark.slow
class TestPubSubPush:
    def test_each_messages_events_are_out_before_its_ack_completes(self) -> None:
        """Under gunicorn, task_started/task_completed (or task_failed) are on stdout before the workers are frozen."""
        port = free_port()
        argv = [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "examples" / "gunicorn.conf.py"), "pubsub_push:app"]
        env = clean_env(**STDOUT, PORT=str(port), K_SERVICE="worker")
        env["PYTHONPATH"] += f":{ROOT / 'examples'}"
        with serve(argv, env, port) as server:
            for message_id, data, status, last in [("m-1", b"report 1", 204, "task_completed"),
                                                   ("m-2", b"poison", 400, "task_failed")]:
                assert server.post("/pubsub/push", _envelope(message_id, data))[0] == status
                with server.all_frozen():
                    events = [e["event"] for e in server.drain() if e["labels"].get("message_id") == message_id]
                assert events == ["task_started", last], server.stderr()
