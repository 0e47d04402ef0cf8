"""Log-based metrics, the dashboard and the alert policies parse strictly with the official Google
client types, so a misspelled field or enum fails the build; and they reference each other right.

The dashboard, the alert policies and the Prometheus rules are generated from examples/events.json
(``gyrinx-tracker events monitoring --route collector``); the log-based metrics are hand-written,
for apps whose output writes no metrics."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from google.api import metric_pb2
from google.cloud.logging_v2.types import LogMetric
from google.cloud.monitoring_dashboard_v1.types import Dashboard
from google.cloud.monitoring_v3.types import AlertPolicy

from tests.integration.collector.collector_helpers import CONFIG_DIR

MONITORING = CONFIG_DIR / "monitoring"
LOG_METRICS = sorted((MONITORING / "log-metrics").glob("*.json"))
ALERTS = sorted((MONITORING / "alerts").glob("*.json"))
DASHBOARD = MONITORING / "dashboard.json"


def strict(message_type: Any, path: Path) -> Any:
    """Parse like the API would, but refusing unknown fields (the API ignores nothing we need)."""
    return message_type.from_json(path.read_text(), ignore_unknown_fields=False)


def test_there_is_something_to_check() -> None:
    assert len(LOG_METRICS) >= 2 and len(ALERTS) >= 2 and DASHBOARD.exists()


@pytest.mark.parametrize("path", LOG_METRICS, ids=lambda p: p.name)
def test_log_metric_parses_strictly(path: Path) -> None:
    metric = strict(LogMetric, path)
    assert metric.name == path.stem
    assert 'log_id("tracker")' in metric.filter
    descriptor_labels = {label.key for label in metric.metric_descriptor.labels}
    assert set(metric.label_extractors) == descriptor_labels
    for extractor in metric.label_extractors.values():
        assert re.fullmatch(r'(EXTRACT|REGEXP_EXTRACT)\(.+\)', extractor)
    if metric.metric_descriptor.value_type == metric.metric_descriptor.ValueType.DISTRIBUTION:
        assert metric.value_extractor == "EXTRACT(jsonPayload.value)"
        assert metric.bucket_options


def test_log_metrics_cover_counts_and_values() -> None:
    metrics = {p.stem: strict(LogMetric, p) for p in LOG_METRICS}
    kinds = {metric_pb2.MetricDescriptor.ValueType.Name(m.metric_descriptor.value_type) for m in metrics.values()}
    assert {"INT64", "DISTRIBUTION"} <= kinds
    assert all(m.label_extractors["event"] == "EXTRACT(jsonPayload.event)" for m in metrics.values())


def test_dashboard_parses_strictly_and_uses_defined_metrics() -> None:
    dashboard = strict(Dashboard, DASHBOARD)
    assert dashboard.display_name
    tiles = dashboard.mosaic_layout.tiles
    assert len(tiles) >= 4
    for tile in tiles:
        assert tile.x_pos + tile.width <= dashboard.mosaic_layout.columns
    check_metric_references(DASHBOARD.read_text())
    # Counts come from the tracker's exact counters (written by the collector's Managed Prometheus
    # exporter), never from log entries, which sampling thins.
    assert "prometheus.googleapis.com/tracker_api_call_total/counter" in DASHBOARD.read_text()
    assert "logging.googleapis.com/user/" not in DASHBOARD.read_text()


def test_generated_files_are_up_to_date(monkeypatch: pytest.MonkeyPatch) -> None:
    """collector-config/monitoring is what `events monitoring --route collector` writes from examples/events.json."""
    from gyrinx_tracker._catalogue.catalogue import load
    from gyrinx_tracker._monitoring.generate import artefacts

    monkeypatch.chdir(CONFIG_DIR.parent)  # the README names the catalogue as the command was given it
    expected = artefacts(load("examples/events.json"), "collector")
    on_disk = {str(p.relative_to(MONITORING)): p.read_text() for p in MONITORING.rglob("*")
               if p.is_file() and "log-metrics" not in p.parts}
    assert sorted(on_disk) == sorted(expected), "regenerate: gyrinx-tracker events monitoring " \
        "--catalogue examples/events.json --route collector -o collector-config/monitoring"
    for path, text in expected.items():
        assert on_disk[path] == text, path


@pytest.mark.parametrize("path", ALERTS, ids=lambda p: p.name)
def test_alert_policy_parses_strictly(path: Path) -> None:
    policy = strict(AlertPolicy, path)
    assert policy.display_name and policy.conditions
    assert policy.documentation.content
    for condition in policy.conditions:
        kind = AlertPolicy.Condition.pb(condition).WhichOneof("condition")
        assert kind in {"condition_threshold", "condition_absent", "condition_matched_log"}
        if kind == "condition_matched_log":
            # Log-match alerts are rejected by the API without a notification rate limit.
            assert policy.alert_strategy.notification_rate_limit.period
            assert 'log_id("tracker")' in condition.condition_matched_log.filter
    check_metric_references(path.read_text())


def check_metric_references(text: str) -> None:
    """Every user log-based metric and metric label the file uses is defined in log-metrics/."""
    defined = {p.stem: strict(LogMetric, p) for p in LOG_METRICS}
    used = re.findall(r"logging\.googleapis\.com/user/([A-Za-z0-9_]+)", text)
    for name in used:
        assert name in defined, name
    if not used:
        return  # the generated files read the tracker's own metrics: tests/integration/test_monitoring_written.py
    labels = {label.key for m in defined.values() for label in m.metric_descriptor.labels}
    for label in re.findall(r'metric\.labels?\.\\?"?([A-Za-z_]+)', text):
        assert label in labels, label


# --- the strictness itself is what these tests rely on: prove a wrong field fails ----------------


def mutate(path: Path, change: Any) -> str:
    data = json.loads(path.read_text())
    change(data)
    return json.dumps(data)


@pytest.mark.parametrize(
    ("message_type", "path", "change"),
    [
        (LogMetric, LOG_METRICS[0], lambda d: d.update(fliter=d.pop("filter"))),
        (LogMetric, LOG_METRICS[0], lambda d: d["metricDescriptor"].update(metricKind="COUNTER")),
        (LogMetric, LOG_METRICS[0], lambda d: d["metricDescriptor"].update(labels={"key": "event"})),
        (Dashboard, DASHBOARD, lambda d: d["mosaicLayout"]["tiles"][0]["widget"].update(xyChartt={})),
        (Dashboard, DASHBOARD, lambda d: d["mosaicLayout"]["tiles"][0].update(width="wide")),
        (AlertPolicy, ALERTS[0], lambda d: d.update(combiner="XOR")),
        (AlertPolicy, ALERTS[0], lambda d: d["conditions"][0].update(conditionThreshhold={})),
    ],
    ids=["unknown-field", "bad-enum", "wrong-type", "unknown-widget", "not-a-number", "bad-combiner", "misspelled-condition"],
)
def test_a_wrong_field_fails(message_type: Any, path: Path, change: Any) -> None:
    text = mutate(path, change)
    with pytest.raises(Exception) as caught:
        message_type.from_json(text, ignore_unknown_fields=False)
    assert "Parse" in type(caught.value).__name__ or "parse" in str(caught.value).lower()
