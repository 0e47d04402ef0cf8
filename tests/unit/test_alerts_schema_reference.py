"""The catalogue's ``alerts`` validation against a reference: ``jsonschema`` (Draft 2020-12) with the
alert format written as JSON Schema, on a battery of alerts, good and bad. Only what JSON Schema can
say is compared (the rules across entries — unknown channels, undeclared labels, a percentile on an
event without a value, duplicate names — are tested in test_monitoring.py)."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from gyrinx_tracker._catalogue.catalogue import CatalogueError, load

DURATION = {"type": "string", "pattern": r"^[1-9][0-9]*(m|h|d)$|^([1-9][0-9]*)(s)$"}
COMMON = {"name": {"type": "string", "pattern": "^[a-z][a-z0-9-]{0,62}$"},
          "severity": {"enum": ["critical", "error", "warning"]},
          "documentation": {"type": "string", "pattern": r"\S"},
          "notify": {"type": "array", "items": {"enum": ["pager"]}},
          "$comment": {"type": "string"}}
SCALAR = {"type": ["string", "number", "boolean"]}
NUMBER = {"type": "number"}


def kind(name: str, required: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "required": ["name", "kind", *required],
            "properties": {**COMMON, "kind": {"const": name}, **required}, "additionalProperties": False}


ALERT_SCHEMA = {"oneOf": [
    kind("rate_above", {"threshold": {"type": "number", "minimum": 0}, "window": DURATION}),
    kind("rate_below", {"threshold": {"type": "number", "minimum": 0}, "window": DURATION}),
    kind("absent", {"for": DURATION}),
    kind("percentile_above", {"percentile": {"enum": [50, 95, 99]}, "threshold": {"type": "number", "minimum": 0},
                              "window": DURATION}),
    kind("log_match", {"match": {"type": "object", "minProperties": 1, "additionalProperties": {"oneOf": [
        SCALAR, {"type": "object", "minProperties": 1, "additionalProperties": False, "properties": {
            "=": SCALAR, "!=": SCALAR, ">": NUMBER, ">=": NUMBER, "<": NUMBER, "<=": NUMBER}}]}}}),
]}
VALIDATOR = Draft202012Validator(ALERT_SCHEMA)


def seconds_ok(alert: dict[str, Any]) -> bool:
    """What JSON Schema's pattern cannot say: durations in seconds must be whole minutes (Cloud Monitoring)."""
    for key in ("window", "for"):
        text = alert.get(key)
        if isinstance(text, str) and text.endswith("s") and text[:-1].isdigit() and int(text[:-1]) % 60:
            return False
    return True


BASES: list[dict[str, Any]] = [
    {"name": "a", "kind": "rate_above", "threshold": 10, "window": "5m"},
    {"name": "b", "kind": "rate_below", "threshold": 0.5, "window": "1h"},
    {"name": "c", "kind": "absent", "for": "15m"},
    {"name": "d", "kind": "percentile_above", "percentile": 95, "threshold": 200, "window": "10m"},
    {"name": "e", "kind": "log_match", "match": {"status": {">=": 500}}},
    {"name": "f", "kind": "log_match", "match": {"status": 503, "method": {"!=": "GET"}}},
]
CHANGES: list[tuple[str, Any]] = [
    ("name", "Bad Name"), ("name", "ok-name-2"), ("name", 3), ("severity", "page"), ("severity", "critical"),
    ("documentation", ""), ("documentation", "Runbook: restart."), ("notify", ["pager"]), ("notify", ["nobody"]),
    ("notify", "pager"), ("threshold", -1), ("threshold", "10"), ("threshold", True), ("window", "5x"),
    ("window", "120s"), ("window", "90s"), ("window", "0m"), ("for", "2h"), ("for", 15), ("percentile", 90),
    ("percentile", 99), ("percentile", 95.0), ("match", {}), ("match", {"status": {"~": 1}}),
    ("match", {"status": {">": "500"}}), ("match", {"status": [500]}), ("match", {"method": True}),
    ("kind", "rate_sideways"), ("extra", 1), ("$comment", "why"),
]


def cases() -> list[dict[str, Any]]:
    found = [dict(base) for base in BASES]
    for base, (key, value) in itertools.product(BASES, CHANGES):
        found.append({**base, key: value})
    for base in BASES:
        for key in base:
            if key not in ("name", "kind"):
                found.append({k: v for k, v in base.items() if k != key})
    return found


@pytest.mark.parametrize("alert", cases(), ids=lambda alert: json.dumps(alert, sort_keys=True))
def test_the_catalogue_agrees_with_jsonschema(alert: dict[str, Any], tmp_path: Path) -> None:
    """load() accepts the alert exactly when the JSON Schema of the format does (and its minutes rule)."""
    document = {"notification_channels": {"pager": "projects/p/notificationChannels/1"}, "events": {"x": {
        "value": {"unit": "ms"}, "alerts": [alert],
        "labels": {"type": "object", "properties": {"status": {"type": "integer"}, "method": {"type": "string"}},
                   "additionalProperties": False}}}}
    path = tmp_path / "events.json"
    path.write_text(json.dumps(document))
    expected = VALIDATOR.is_valid(alert) and seconds_ok(alert)
    try:
        load(str(path))
        accepted = True
    except CatalogueError:
        accepted = False
    assert accepted == expected
