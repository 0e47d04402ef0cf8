"""Catalogue alerts are validated on load; generated files parse with Google's own types and as a
Prometheus rule file's structure; the collector's renaming port gives upstream's answers."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from google.cloud.monitoring_dashboard_v1.types import Dashboard
from google.cloud.monitoring_v3.types import AlertPolicy

from gyrinx_tracker._catalogue.catalogue import CatalogueError, load
from gyrinx_tracker._monitoring import names
from gyrinx_tracker._monitoring.generate import artefacts
from gyrinx_tracker._monitoring.matchers import at_least

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "events.json"


def catalogue_with(tmp_path: Path, entry_alerts: Any, channels: Any = None, value: Any = False) -> str:
    document: dict[str, Any] = {"events": {"job_done": {
        "description": "A job finished.", "value": value, "alerts": entry_alerts,
        "labels": {"type": "object", "properties": {"status": {"type": "integer"}}, "additionalProperties": False}}}}
    if channels is not None:
        document["notification_channels"] = channels
    path = tmp_path / "events.json"
    path.write_text(json.dumps(document))
    return str(path)


class TestAlertValidation:
    @pytest.mark.parametrize(("alerts", "message"), [
        ([{"name": "a", "kind": "rate_sideways"}], "kind: expected one of"),
        ([{"name": "a", "kind": "rate_above", "threshold": 1}], "missing: window"),
        ([{"name": "a", "kind": "rate_above", "threshold": 1, "window": "5m", "windw": "1m"}], "unknown: windw"),
        ([{"name": "A b", "kind": "absent", "for": "5m"}], ".name"),
        ([{"name": "a", "kind": "absent", "for": "90s"}], "whole minutes"),
        ([{"name": "a", "kind": "absent", "for": "5m", "severity": "page"}], "severity"),
        ([{"name": "a", "kind": "percentile_above", "percentile": 95, "threshold": 1, "window": "5m"}], "needs an event with a value"),
        ([{"name": "a", "kind": "log_match", "match": {"code": 500}}], "not a label of this event"),
        ([{"name": "a", "kind": "log_match", "match": {"status": {"~": 500}}}], "unknown operator"),
        ([{"name": "a", "kind": "log_match", "match": {"status": {">=": "500"}}}], "compares numbers"),
        ([{"name": "a", "kind": "absent", "for": "5m", "notify": ["pager"]}], "not in notification_channels"),
        ([{"name": "a", "kind": "absent", "for": "5m"}, {"name": "a", "kind": "absent", "for": "9m"}], "used by"),
        ({"name": "a"}, "expected a list of alerts"),
    ])
    def test_a_bad_alert_is_refused_with_where_and_why(self, tmp_path: Path, alerts: Any, message: str) -> None:
        """A misspelt or impossible alert stops the catalogue loading, naming the alert and the key."""
        with pytest.raises(CatalogueError, match=message):
            load(catalogue_with(tmp_path, alerts))

    def test_a_good_alert_compiles_with_defaults(self, tmp_path: Path) -> None:
        """Severity defaults to warning, documentation to the event's description; channels resolve."""
        path = catalogue_with(tmp_path, [{"name": "jobs-stopped", "kind": "absent", "for": "1h", "notify": ["pager"]}],
                              channels={"pager": "projects/p/notificationChannels/1"})
        (alert,) = load(path).entries()[0].alerts
        assert (alert.severity, alert.documentation, alert.duration, alert.channels) == (
            "warning", "A job finished.", 3600, ("projects/p/notificationChannels/1",))

    def test_a_bad_channel_is_refused(self, tmp_path: Path) -> None:
        with pytest.raises(CatalogueError, match="notificationChannels"):
            load(catalogue_with(tmp_path, [], channels={"pager": "mailto:x"}))


class TestGeneratedFiles:
    @pytest.fixture(params=names.ROUTES)
    def files(self, request: pytest.FixtureRequest) -> dict[str, str]:
        return artefacts(load(str(EXAMPLES)), request.param)

    def test_the_dashboard_parses_strictly(self, files: dict[str, str]) -> None:
        """Google's Dashboard type takes it, refusing unknown fields; tiles fit the grid and do not overlap."""
        dashboard = Dashboard.from_json(files["dashboard.json"], ignore_unknown_fields=False)
        cells: set[tuple[int, int]] = set()
        for tile in dashboard.mosaic_layout.tiles:
            assert tile.x_pos + tile.width <= dashboard.mosaic_layout.columns
            area = {(x, y) for x in range(tile.x_pos, tile.x_pos + tile.width)
                    for y in range(tile.y_pos, tile.y_pos + tile.height)}
            assert not area & cells
            cells |= area
        titles = [tile.widget.title for tile in dashboard.mosaic_layout.tiles]
        assert "Owner: platform" in titles and "operation_duration: value p50 / p95 / p99 (ms)" in titles
        assert not any(title.startswith("user_event") for title in titles)  # deprecated: no chart

    def test_one_policy_per_alert_of_each_kind_parses_strictly(self, files: dict[str, str]) -> None:
        policies = {path: AlertPolicy.from_json(text, ignore_unknown_fields=False)
                    for path, text in files.items() if path.startswith("alerts/")}
        kinds = {AlertPolicy.Condition.pb(c).WhichOneof("condition")
                 for policy in policies.values() for c in policy.conditions}
        assert kinds == {"condition_threshold", "condition_absent", "condition_matched_log"}
        assert len(policies) == 6
        for policy in policies.values():
            assert policy.documentation.content and policy.notification_channels

    def test_the_rules_have_a_rule_files_structure(self, files: dict[str, str]) -> None:
        """Groups of record/alert rules with expr, here; Prometheus's own parser checks the expressions in
        tests/integration/test_prometheus_rules.py (it needs Go)."""
        document = yaml.safe_load(files["prometheus/rules.yaml"])
        assert set(document) == {"groups"}
        for group in document["groups"]:
            assert set(group) == {"name", "rules"}
            for rule in group["rules"]:
                assert ("record" in rule) != ("alert" in rule) and rule["expr"]
                assert set(rule) <= {"record", "alert", "expr", "labels", "annotations", "for"}
        alerts = {rule["alert"] for group in document["groups"] for rule in group["rules"] if "alert" in rule}
        assert alerts == {"logins-stopped", "api-server-errors", "api-traffic-surge", "operations-slow", "features-unused",
                          "server-errors-shown"}


class TestLabelComparisonsInPromQL:
    @pytest.mark.parametrize("bound", [0, 1, 9, 10, 99, 100, 500, 599, 1000, 1234])
    def test_at_least_matches_exactly_the_integers_from_the_bound(self, bound: int) -> None:
        """PromQL regexes are anchored: fullmatch is their meaning; leading zeros never match."""
        pattern = re.compile(at_least(bound))
        assert [n for n in range(20_000) if bool(pattern.fullmatch(str(n))) != (n >= bound)] == []
        assert not pattern.fullmatch("0" + str(max(bound, 1)))


class TestCollectorNames:
    @pytest.mark.parametrize(("name", "unit", "counter", "expected"), [
        # Every counter and histogram case of prometheus/otlptranslator v1.0.0's metric_namer_test.go with
        # UTF8Allowed false, WithMetricSuffixes true and no namespace (the collector's configuration).
        ("requests", "", True, "requests_total"),
        ("items", "1", True, "items_total"),
        ("requests_total", "", True, "requests_total"),
        ("request_duration", "s", False, "request_duration_seconds"),
        ("http.request.duration", "ms", False, "http_request_duration_milliseconds"),
        ("http.requests", "1", True, "http_requests_total"),
        # The tracker's own.
        ("tracker.api_call", "{event}", True, "tracker_api_call_total"),
        ("tracker.render_ms.value", "ms", False, "tracker_render_ms_value_milliseconds"),
        ("tracker.operation_duration.value", "1", False, "tracker_operation_duration_value"),
    ])
    def test_prometheus_names(self, name: str, unit: str, counter: bool, expected: str) -> None:
        assert names.prometheus_name(name, unit, counter) == expected

    @pytest.mark.parametrize(("key", "expected"), [("status", "status"), ("http.route", "http_route"), ("2xx", "key_2xx")])
    def test_label_keys(self, key: str, expected: str) -> None:
        assert names.label_key(key) == expected
