"""Tests in the original tracker's style: caplog on gyrinx.tracker, json.loads(record.message) == payload."""

from __future__ import annotations

import json
import logging

import pytest
import shop

from gyrinx_tracker import track


def payloads(caplog: pytest.LogCaptureFixture) -> list[dict[str, object]]:
    return [json.loads(record.message) for record in caplog.records if record.name == "gyrinx.tracker"]


def test_simple_event(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="gyrinx.tracker")
    track("test_event")
    assert payloads(caplog) == [{"event": "test_event", "n": 1}]


def test_event_with_count(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="gyrinx.tracker")
    track("api_call", n=5)
    assert json.loads(caplog.records[0].message) == {"event": "api_call", "n": 5}


def test_event_with_value(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="gyrinx.tracker")
    track("response_time", value=123.45)
    assert json.loads(caplog.records[0].message) == {"event": "response_time", "n": 1, "value": 123.45}


def test_event_with_labels(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="gyrinx.tracker")
    track("api_call", endpoint="/api/v1/fighters", method="GET", status=200)
    assert json.loads(caplog.records[0].message) == {
        "event": "api_call", "n": 1, "labels": {"endpoint": "/api/v1/fighters", "method": "GET", "status": 200}}


def test_message_is_the_original_json_text(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="gyrinx.tracker")
    track("feature_used", feature="bulk_import", items_count=50)
    assert caplog.records[0].message == json.dumps(
        {"event": "feature_used", "n": 1, "labels": {"feature": "bulk_import", "items_count": 50}})


def test_several_events_in_order(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="gyrinx.tracker")
    shop.login(shop.User(123, "player1"))
    shop.list_fighters(200, 12.5)
    shop.bulk_import(3)
    assert payloads(caplog) == [
        {"event": "user_login", "n": 1},
        {"event": "user_event", "n": 1,
         "labels": {"noun": "user", "verb": "login", "user_id": "123", "username": "player1"}},
        {"event": "api_call", "n": 1, "labels": {"endpoint": "/api/v1/fighters", "method": "GET", "status": 200}},
        {"event": "operation_duration", "n": 1, "value": 12.5, "labels": {"operation": "list_fighters"}},
        {"event": "feature_used", "n": 3,
         "labels": {"feature": "bulk_import", "user_type": "premium", "items_count": 3}},
    ]


def test_records_look_like_logger_info(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="gyrinx.tracker")
    track("user_login")
    (record,) = caplog.records
    assert (record.name, record.levelname, record.levelno) == ("gyrinx.tracker", "INFO", logging.INFO)
    assert record.funcName == "test_records_look_like_logger_info"


def test_a_test_sees_only_its_own_events_first(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="gyrinx.tracker")
    track("first_test_event")
    assert [p["event"] for p in payloads(caplog)] == ["first_test_event"]


def test_a_test_sees_only_its_own_events_second(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="gyrinx.tracker")
    track("second_test_event")
    assert [p["event"] for p in payloads(caplog)] == ["second_test_event"]


def test_at_level_context_manager(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="gyrinx.tracker"):
        track("user_login")
    assert [p["event"] for p in payloads(caplog)] == ["user_login"]
