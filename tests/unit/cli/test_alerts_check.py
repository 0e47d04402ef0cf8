"""``gyrinx-tracker alerts check``: each kind of alert fires on logs that break it, and not on logs
that do not; the exit code says whether any fired."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from gyrinx_tracker._cli import main

EXAMPLES = str(Path(__file__).resolve().parents[3] / "examples" / "events.json")
T0 = int(datetime(2026, 12, 7, tzinfo=timezone.utc).timestamp())  # a multiple of every window


def line(seconds: float, event: str, **fields: Any) -> str:
    moment = datetime.fromtimestamp(T0 + seconds, timezone.utc).isoformat().replace("+00:00", "Z")
    return json.dumps({"time": moment, "event": event, "n": 1, **fields})


def quiet_day() -> list[str]:
    """Two hours that break no example alert: logins every 10 min, features every 10 min, calm API."""
    lines = []
    for minute in range(0, 120, 10):
        lines.append(line(minute * 60, "user_login", labels={"method": "google"}))
        lines.append(line(minute * 60 + 1, "feature_used", labels={"feature": "bulk_import"}))
        lines.append(line(minute * 60 + 2, "api_call", labels={"endpoint": "/api/x", "method": "GET", "status": 200}))
        lines.append(line(minute * 60 + 3, "operation_duration", value=120.0, labels={"operation": "report"}))
    return lines


def run(tmp_path: Path, lines: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, Any]]:
    log = tmp_path / "app.log"
    log.write_text("\n".join(sorted(lines, key=lambda text: json.loads(text)["time"])) + "\n")
    code = main(["alerts", "check", "--catalogue", EXAMPLES, "--json", str(log)])
    report = json.loads(capsys.readouterr().out)
    return code, {alert["name"]: alert for alert in report["alerts"]}


def test_quiet_logs_fire_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, alerts = run(tmp_path, quiet_day(), capsys)
    assert code == 0
    assert {name: alert["fired"] for name, alert in alerts.items()} == dict.fromkeys(
        ["logins-stopped", "api-server-errors", "api-traffic-surge", "operations-slow", "features-unused",
         "server-errors-shown"], False)


@pytest.mark.parametrize(("name", "extra", "drop"), [
    ("api-server-errors", [line(600.5, "api_call", labels={"endpoint": "/api/x", "method": "GET", "status": 503})], None),
    ("server-errors-shown", [line(700, "error_occurred", labels={"error_type": "Timeout", "code": 504}),
                             line(701, "error_occurred", labels={"error_type": "NotFound", "code": 404})], None),
    # 3,001 kept entries at sample_rate 0.1 stand for 30,010 events in one 5-minute window: above 30,000.
    ("api-traffic-surge", [line(3600 + i * 0.05, "api_call", sample_rate=0.1,
                                labels={"endpoint": "/api/x", "method": "GET", "status": 200}) for i in range(3001)], None),
    ("operations-slow", [line(1200 + i, "operation_duration", value=5000.0, labels={"operation": "report"})
                         for i in range(30)], None),
    ("features-unused", [], "feature_used"),
    ("logins-stopped", [], "user_login"),
])
def test_each_kind_fires_on_logs_that_break_it(tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str,
                                               extra: list[str], drop: str | None) -> None:
    """The alert that the change breaks fires (exit 1), with when; the others stay quiet."""
    lines = [text for text in quiet_day() if drop is None or json.loads(text)["event"] != drop] + extra
    code, alerts = run(tmp_path, lines, capsys)
    assert code == 1
    assert [fired for fired, alert in alerts.items() if alert["fired"]] == [name]
    assert alerts[name]["firings"][0]["start"].startswith("2026-12-07T")


def test_a_surge_just_under_the_threshold_does_not_fire(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """2,999 kept entries at 0.1 (29,990 events) stay below 30,000: sampling is scaled back, not ignored."""
    extra = [line(3600 + i * 0.05, "api_call", sample_rate=0.1, labels={"endpoint": "/api/x", "method": "GET", "status": 200})
             for i in range(2999)]
    code, alerts = run(tmp_path, quiet_day() + extra, capsys)
    assert (code, alerts["api-traffic-surge"]["fired"]) == (0, False)


def test_the_text_report_says_which_and_when(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log = tmp_path / "app.log"
    log.write_text("\n".join([*quiet_day(), line(600.5, "api_call", labels={"status": 502, "method": "GET",
                                                                           "endpoint": "/api/x"})]) + "\n")
    assert main(["alerts", "check", "--catalogue", EXAMPLES, str(log)]) == 1
    out = capsys.readouterr().out
    assert "FIRING  api-server-errors (log_match, error)" in out
    assert "2026-12-07T00:10:00Z to 2026-12-07T00:10:00Z: 1 matching entries" in out
    assert "1 of 6 alerts would have fired" in out
    # api_call is sampled at 0.1 in the catalogue: the local check says what its log match cannot see.
    assert "(the catalogue samples `api_call` at 0.1: only kept entries can match here" in out
    assert "samples `error_occurred`" not in out
