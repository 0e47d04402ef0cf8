"""`alerts check` end to end, in a subprocess, on each real input kind (local lines, Cloud Run
stdout, gcloud JSON) made by really running the tracker; and `events monitoring` writing a directory."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.integration.cli.conftest import API_CALLS, Run

CATALOGUE = {"events": {
    "api_call": {"description": "One API call.", "labels": {"type": "object", "properties": {
        "endpoint": {"type": "string"}, "method": {"type": "string"}, "status": {"type": "integer"}}},
        "group_by": ["status"],
        "alerts": [{"name": "api-5xx", "kind": "log_match", "match": {"status": {">=": 500}}, "severity": "error"},
                   {"name": "api-404", "kind": "log_match", "match": {"status": 404}},
                   {"name": "api-flood", "kind": "rate_above", "threshold": 1000, "window": "1h"}]},
    "operation_duration": {"description": "An operation.", "value": {"unit": "ms"},
                           "alerts": [{"name": "ops-slow", "kind": "percentile_above", "percentile": 99,
                                       "threshold": 100000, "window": "1h"}]},
    "user_login": {"description": "A login.", "alerts": [{"name": "no-logins", "kind": "absent", "for": "1m"}]},
}}


@pytest.fixture
def catalogue(tmp_path: Path) -> Path:
    path = tmp_path / "events.json"
    path.write_text(json.dumps(CATALOGUE))
    return path


def test_the_5xx_match_fires_on_every_input_kind(cli: Run, inputs: dict[str, Path], kind: str, catalogue: Path) -> None:
    """A quarter of the app's api_calls had status 500: only that alert fires, with every match counted."""
    result = cli("alerts", "check", "--catalogue", str(catalogue), "--json", str(inputs[kind]))
    assert result.returncode == 1, result.stderr
    alerts = {alert["name"]: alert for alert in json.loads(result.stdout)["alerts"]}
    assert {name for name, alert in alerts.items() if alert["fired"]} == {"api-5xx"}
    (firing,) = alerts["api-5xx"]["firings"]
    assert firing["seen"] == f"{API_CALLS // 4} matching entries"


def test_stdin_and_the_exit_code_when_nothing_fires(cli: Run, inputs: dict[str, Path], tmp_path: Path) -> None:
    quiet = {"events": {name: {**entry, "alerts": [a for a in entry["alerts"] if a["name"] != "api-5xx"]}
                        for name, entry in CATALOGUE["events"].items()}}
    path = tmp_path / "quiet.json"
    path.write_text(json.dumps(quiet))
    result = cli("alerts", "check", "--catalogue", str(path), "-", stdin=inputs["local"].read_text())
    assert result.returncode == 0, result.stderr
    assert "0 of 4 alerts would have fired" in result.stdout


def test_events_monitoring_writes_the_directory(cli: Run, catalogue: Path, tmp_path: Path) -> None:
    out = tmp_path / "monitoring"
    result = cli("events", "monitoring", "--catalogue", str(catalogue), "-o", str(out))
    assert result.returncode == 0, result.stderr
    assert sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()) == [
        "README.md", "alerts/api-404.json", "alerts/api-5xx.json", "alerts/api-flood.json", "alerts/no-logins.json",
        "alerts/ops-slow.json", "dashboard.json", "prometheus/rules.yaml"]


def test_an_id_like_group_by_is_refused(cli: Run, tmp_path: Path) -> None:
    """A label the tracker keeps out of metrics cannot split a chart: exit 2, saying why."""
    path = tmp_path / "events.json"
    path.write_text(json.dumps({"events": {"x": {"labels": {"type": "object", "properties": {"user_id": {}}},
                                                 "group_by": ["user_id"]}}}))
    result = cli("events", "monitoring", "--catalogue", str(path), "-o", str(tmp_path / "out"))
    assert result.returncode == 2 and "user_id never become metric labels" in result.stderr
