"""Issue 26's secrets table through the OTLP output to a real gRPC receiver on loopback: the
receiver's own records (log bodies, attributes, metric points) never hold a secret, and it stored
exactly the events the books say were exported."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import gyrinx_tracker
from gyrinx_tracker import _api, stats
from tests.servers.otlp import OtlpReceiver

pytest_plugins = ("tests.servers.fixtures",)

TABLE: dict[str, Any] = json.loads((Path(__file__).parents[1] / "data" / "secrets.json").read_text())
track: Callable[..., None] = gyrinx_tracker.track


@pytest.fixture
def otlp_env(otlp_receiver: OtlpReceiver, monkeypatch: pytest.MonkeyPatch) -> Iterator[OtlpReceiver]:
    monkeypatch.setenv("GYRINX_TRACKER_EXPORTER", "otlp")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", otlp_receiver.endpoint)
    yield otlp_receiver
    _api.reset()


def _received(receiver: OtlpReceiver) -> str:
    """Everything the receiver stored, as text: records (body and attributes) and metric points."""
    return json.dumps([receiver.log_records(), receiver.metric_points()], default=str)


class TestSecretsTableOverOtlp:
    def test_no_secret_of_the_table_reaches_the_receiver(self, otlp_env: OtlpReceiver) -> None:
        """Each secret row sent as a label value, a label key and the event name; the receiver counts
        every event and none of the secrets."""
        rows = TABLE["must_go"]
        for row in rows:
            secret = row["input"]
            if row["where"] == "value":
                track("api_call", note=secret, nested={"inner": secret}, method="GET")
            elif row["where"] == "key":
                track("api_call", **{secret: 1, "method": "GET"})
            else:
                track(secret, method="GET")
        for key in TABLE["key_names_must_go"]:
            track("login", **{key: "s3cr3t-value-0123"})
        sent = len(rows) + len(TABLE["key_names_must_go"])
        assert gyrinx_tracker.flush(10)
        assert otlp_env.wait_for_logs(sent)
        records = otlp_env.log_records()
        books = stats()
        assert len(records) == sent == books["exported"] == books["emitted"]
        text = _received(otlp_env)
        for row in rows:
            for secret in row["secrets"]:
                assert secret not in text, row["id"]
                assert json.dumps(secret)[1:-1] not in text, row["id"]
        assert "s3cr3t-value-0123" not in text

    def test_look_alikes_arrive_unchanged(self, otlp_env: OtlpReceiver) -> None:
        """The values and keys that must stay reach the receiver exactly as tracked."""
        values = TABLE["values_must_stay"]
        keys = TABLE["key_names_must_stay"]
        for value in values:
            track("api_call", note=value)
        track("api_call", **dict.fromkeys(keys, "kept-value"))
        assert gyrinx_tracker.flush(10)
        assert otlp_env.wait_for_logs(len(values) + 1)
        records = otlp_env.log_records()
        assert len(records) == len(values) + 1 == stats()["exported"]
        assert [record["body"]["labels"]["note"] for record in records[:-1]] == values
        assert records[-1]["body"]["labels"] == dict.fromkeys(keys, "kept-value")
