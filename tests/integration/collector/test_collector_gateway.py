"""The fleet gateway: high-volume events are sampled centrally by name, counts stay exact.

Run for real with the Google exporters swapped for the file exporter (config merging).
"""

from __future__ import annotations

import os

import pytest

from tests.integration.collector.collector_helpers import Collector, CollectorFactory, send_counter, send_logs, tracker_record, wait_for

pytestmark = [pytest.mark.collector, pytest.mark.slow]

GATEWAY = ["gateway.yaml", "overlays/gateway-file.yaml"]
APPS = [
    {"service.name": "shop", "service.instance.id": "shop-1"},
    {"service.name": "search", "service.instance.id": "search-7"},
]


def run_gateway(collectors: CollectorFactory, percent: int, page_views: int, name: str) -> Collector:
    """Send the same mix from two apps, stop the gateway (drains everything), return it."""
    collector = collectors.start(
        GATEWAY,
        {"GYRINX_SAMPLING_PERCENT": str(percent), "GYRINX_SAMPLED_EVENTS": "page_view|cache_hit", "GYRINX_GATEWAY_INSTANCE": "gw-0"},
        name=name,
    )
    for resource in APPS:
        records = [tracker_record("page_view", trace_id=os.urandom(16), span_id=os.urandom(8), page=f"/p{i % 5}")
                   for i in range(page_views)]
        records += [tracker_record("cache_hit", n=3)]  # high-volume, but no trace id to hash
        records += [tracker_record("checkout", n=2, value=9.5, trace_id=os.urandom(16), span_id=os.urandom(8)) for _ in range(4)]
        records += [tracker_record("page_view_slow")]  # not a high-volume name: whole-name match
        send_logs(collector.grpc_endpoint, records, resource)
        # The apps' own counters (they sum n): never sampled.
        send_counter(collector.grpc_endpoint, "tracker.page_view", [({}, page_views)], resource)
        send_counter(collector.grpc_endpoint, "tracker.checkout", [({}, 8)], resource)
    assert wait_for(lambda: bool(collector.read().latest("gyrinx.events")), 20), collector.log()[-3000:]
    assert collector.stop() == 0, collector.log()[-3000:]
    return collector


def counts_by_service_and_event(collector: Collector) -> dict[tuple[str, str], float]:
    """The count connector's cumulative `gyrinx.events`, latest point per series."""
    out: dict[tuple[str, str], float] = {}
    for point in collector.read().points():
        if point.name == "gyrinx.events":
            key = (point.resource["service.name"], point.attributes["gyrinx.event"])
            out[key] = max(out.get(key, 0), point.value)
    return out


@pytest.mark.parametrize("percent", [0, 100])
def test_sampling_by_event_name_with_exact_counts(collectors: CollectorFactory, percent: int) -> None:
    page_views = 60
    collector = run_gateway(collectors, percent, page_views, name=f"gw{percent}")
    out = collector.read()
    logs = out.logs()
    by = {(r.resource["service.name"], r.event_name): 0 for r in logs}
    for r in logs:
        by[(r.resource["service.name"], r.event_name)] += 1
    for service in ("shop", "search"):
        # Low-volume events are never sampled; 0 % drops every high-volume record, even one
        # without a trace id (see the 50 % test for those).
        assert by[(service, "checkout")] == 4
        assert by[(service, "page_view_slow")] == 1
        assert by.get((service, "page_view"), 0) == (page_views if percent == 100 else 0)
        assert by.get((service, "cache_hit"), 0) == (1 if percent == 100 else 0)

    # Exact per-event record counts from the count connector, sampled-out events included,
    # cumulative (for Cloud Monitoring) and labelled with the gateway replica.
    counts = counts_by_service_and_event(collector)
    for service in ("shop", "search"):
        assert counts[(service, "page_view")] == page_views
        assert counts[(service, "checkout")] == 4
        assert counts[(service, "cache_hit")] == 1
        assert counts[(service, "page_view_slow")] == 1
    events = [p for p in out.points() if p.name == "gyrinx.events"]
    assert all(p.temporality == 2 and p.monotonic for p in events)  # 2 = CUMULATIVE
    assert all(p.attributes["gateway_instance"] == "gw-0" for p in events)

    # The apps' own counters pass unsampled and exact.
    for service in ("shop", "search"):
        app_counts = {p.name: p.value for p in out.points() if p.resource["service.name"] == service and p.name.startswith("tracker.")}
        assert app_counts == {"tracker.page_view": page_views, "tracker.checkout": 8}


def test_partial_sampling_keeps_some_and_is_consistent_per_trace(collectors: CollectorFactory) -> None:
    collector = collectors.start(GATEWAY, {"GYRINX_SAMPLING_PERCENT": "50", "GYRINX_GATEWAY_INSTANCE": "gw-0"}, name="gw50")
    resource = APPS[0]
    traces = [os.urandom(16) for _ in range(200)]
    # Two page_views per trace: the decision hashes the trace id, so both or neither are kept.
    records = [tracker_record("page_view", trace_id=t, span_id=os.urandom(8)) for t in traces for _ in range(2)]
    # Tracked outside any span: nothing to hash, and `fail_closed: false` keeps them.
    records += [tracker_record("page_view", untraced="yes") for _ in range(10)]
    send_logs(collector.grpc_endpoint, records, resource)
    assert wait_for(lambda: bool(collector.read().latest("gyrinx.events")), 20)
    assert collector.stop() == 0
    logs = collector.read().logs()
    assert sum(1 for r in logs if r.trace_id == "") == 10
    kept = [r.trace_id for r in logs if r.event_name == "page_view" and r.trace_id]
    per_trace = {t: kept.count(t) for t in set(kept)}
    assert set(per_trace.values()) == {2}
    # 200 traces at 50 %: the chance of falling outside [60, 140] is below 1e-8.
    assert 60 <= len(per_trace) <= 140, len(per_trace)
    assert counts_by_service_and_event(collector)[("shop", "page_view")] == 410
