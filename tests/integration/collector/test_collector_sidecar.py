"""The Cloud Run sidecar config's processing, run for real with the Google exporters swapped for
the file exporter through the collector's own config merging (--config a --config overlay).

OTLP is sent as hand-built protobufs, so every id, attribute and value is known exactly.
"""

from __future__ import annotations

import os

import pytest

from tests.integration.collector.collector_helpers import (
    Collector,
    CollectorFactory,
    send_counter,
    send_logs,
    send_span,
    tracker_record,
    wait_for,
)

pytestmark = [pytest.mark.collector, pytest.mark.slow]

SIDECAR = ["sidecar.yaml", "overlays/sidecar-file.yaml"]
APP_RESOURCE = {"service.name": "shop", "service.instance.id": "shop-1"}


def start_sidecar(collectors: CollectorFactory, **env: str) -> Collector:
    # The env detector reads the collector's own OTEL_RESOURCE_ATTRIBUTES (on Cloud Run: set on
    # the sidecar container); service.name here must NOT override the app's (override: false).
    return collectors.start(
        SIDECAR,
        {"OTEL_RESOURCE_ATTRIBUTES": "deployment.environment.name=test,service.name=collector-says", **env},
    )


def test_records_pass_with_ids_and_resource_and_the_app_wins_resource_conflicts(collectors: CollectorFactory) -> None:
    collector = start_sidecar(collectors)
    trace_id, span_id = os.urandom(16), os.urandom(8)
    send_logs(
        collector.grpc_endpoint,
        [
            tracker_record("checkout", n=2, value=12.5, trace_id=trace_id, span_id=span_id, plan="pro"),
            tracker_record("signup", plan="free"),
        ],
        APP_RESOURCE,
    )
    send_span(collector.grpc_endpoint, "POST /checkout", trace_id, span_id, APP_RESOURCE)  # traces pipeline
    assert wait_for(lambda: len(collector.read().logs()) >= 2 and collector.read().span_count() == 1, 15), collector.log()[-3000:]
    logs = {r.event_name: r for r in collector.read().logs()}
    checkout = logs["checkout"]
    assert checkout.trace_id == trace_id.hex()
    assert checkout.span_id == span_id.hex()
    assert checkout.body == {"event": "checkout", "n": 2, "value": 12.5, "labels": {"plan": "pro"}}
    assert checkout.attributes["gyrinx.event"] == "checkout"
    assert checkout.attributes["gyrinx.label.plan"] == "pro"
    assert checkout.severity_text == "INFO"
    assert logs["signup"].trace_id == ""
    for record in logs.values():
        assert record.resource["service.name"] == "shop"  # the app's, not the detector's
        assert record.resource["service.instance.id"] == "shop-1"
        assert record.resource["deployment.environment.name"] == "test"  # added by the env detector


def test_normalize_derives_the_event_attribute_from_the_body(collectors: CollectorFactory) -> None:
    collector = start_sidecar(collectors)
    record = tracker_record("legacy_event")
    del record.attributes[:]  # an older client: event only in the body, no event_name
    record.event_name = ""
    send_logs(collector.grpc_endpoint, [record], APP_RESOURCE)
    assert wait_for(lambda: len(collector.read().logs()) >= 1, 15), collector.log()[-3000:]
    (out,) = collector.read().logs()
    assert out.attributes["gyrinx.event"] == "legacy_event"
    assert out.event_name == "legacy_event"


def test_drop_events_drops_their_logs_and_their_metrics(collectors: CollectorFactory) -> None:
    collector = start_sidecar(collectors, GYRINX_COLLECTOR_DROP_EVENTS="debug_.*|heartbeat")
    send_logs(
        collector.grpc_endpoint,
        [tracker_record("debug_probe"), tracker_record("heartbeat"), tracker_record("heartbeat_extra"), tracker_record("checkout")],
        APP_RESOURCE,
    )
    for name in ("tracker.debug_probe", "tracker.heartbeat", "tracker.checkout"):
        send_counter(collector.grpc_endpoint, name, [({"plan": "pro"}, 3)], APP_RESOURCE)
    assert wait_for(lambda: len(collector.read().logs()) >= 2 and len(collector.read().points()) >= 1, 15)
    assert collector.stop() == 0  # drain: anything dropped is really dropped, not late
    out = collector.read()
    # The pattern matches whole names: heartbeat_extra is not heartbeat.
    assert sorted(r.event_name for r in out.logs()) == ["checkout", "heartbeat_extra"]
    assert sorted({p.name for p in out.points()}) == ["tracker.checkout"]


def test_redaction_masks_secrets_in_attributes_and_in_the_body(collectors: CollectorFactory) -> None:
    collector = start_sidecar(collectors)
    send_logs(
        collector.grpc_endpoint,
        [
            tracker_record(
                "login",
                password="hunter2",
                api_key="k-123",
                note="Authorization: Bearer abcdefghijklmnop",
                plan="pro",
            )
        ],
        APP_RESOURCE,
    )
    assert wait_for(lambda: len(collector.read().logs()) >= 1, 15), collector.log()[-3000:]
    (out,) = collector.read().logs()
    text = repr(out.attributes) + repr(out.body)
    for secret in ("hunter2", "k-123", "abcdefghijklmnop"):
        assert secret not in text
    assert out.attributes["gyrinx.label.plan"] == "pro"
    assert out.body["labels"]["plan"] == "pro"
    assert out.body["event"] == "login"
    # The keys survive (masked) so that one can see a secret was sent and fix the call site.
    assert "gyrinx.label.password" in out.attributes
    assert "password" in out.body["labels"]


def test_counters_pass_exactly_without_volatile_resource_attributes(collectors: CollectorFactory) -> None:
    collector = start_sidecar(collectors)
    resource = {**APP_RESOURCE, "process.pid": 4242, "process.command_args": "python app.py"}
    send_counter(collector.grpc_endpoint, "tracker.checkout", [({"plan": "pro"}, 7), ({"plan": "free"}, 4)], resource)
    send_logs(collector.grpc_endpoint, [tracker_record("checkout")], resource)
    assert wait_for(lambda: len(collector.read().points()) >= 2 and bool(collector.read().logs()), 15), collector.log()[-3000:]
    series = collector.read().latest("tracker.checkout")
    assert {dict(k)["plan"]: p.value for k, p in series.items()} == {"pro": 7, "free": 4}
    assert all(p.monotonic and p.unit == "{event}" for p in series.values())
    # Per-process attributes would open new metric series on every restart: gone from metrics,
    # kept on logs.
    for point in series.values():
        assert "process.pid" not in point.resource and "process.command_args" not in point.resource
        assert point.resource["service.instance.id"] == "shop-1"
    assert collector.read().logs()[0].resource["process.pid"] == 4242
