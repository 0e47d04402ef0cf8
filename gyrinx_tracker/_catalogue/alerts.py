"""An entry's ``alerts``: what should page someone about one event, checked when the catalogue loads.

Why in the catalogue: the team that names an event knows when it is wrong (too many, too few, none
at all, too slow, a bad label value). Written next to the event, the alert is generated into Cloud
Monitoring policies and Prometheus rules with the metric names the tracker really writes
(``gyrinx_tracker._monitoring``), and evaluated over local logs by ``gyrinx-tracker alerts check``.

Five kinds, each with the keys it needs (and no other, so a misspelt key is refused, not ignored):

=================  ==========================================  ===========================================
kind               keys                                        fires when
=================  ==========================================  ===========================================
rate_above         ``threshold`` (events), ``window``          more than ``threshold`` events in a window
rate_below         ``threshold`` (events), ``window``          fewer than ``threshold`` events in a window
absent             ``for``                                     no event for that long (a job stopped)
percentile_above   ``percentile`` (50, 95, 99), ``threshold``  that percentile of ``value`` (in the
                   (in the value's unit), ``window``           catalogue's unit) is above ``threshold``
log_match          ``match``: label → ``{"op": value}``        any entry's labels match (e.g. status >= 500)
=================  ==========================================  ===========================================

Every alert also has a ``name`` (unique in the catalogue: it names the policy), a ``severity``
(``critical``, ``error`` or ``warning``), ``documentation`` (default: the event's description) and
``notify``, names of the catalogue's top-level ``notification_channels``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gyrinx_tracker._catalogue.schema import SchemaError

KINDS: dict[str, frozenset[str]] = {
    "rate_above": frozenset({"threshold", "window"}),
    "rate_below": frozenset({"threshold", "window"}),
    "absent": frozenset({"for"}),
    "percentile_above": frozenset({"percentile", "threshold", "window"}),
    "log_match": frozenset({"match"}),
}
COMMON_KEYS = frozenset({"name", "kind", "severity", "documentation", "notify", "$comment"})
SEVERITIES = ("critical", "error", "warning")
PERCENTILES = (50, 95, 99)
OPERATORS = ("=", "!=", ">", ">=", "<", "<=")
MIN_WINDOW = 60  # seconds: Cloud Monitoring's smallest alignment period for alerting
_NAME = re.compile(r"[a-z][a-z0-9-]{0,62}\Z")
_DURATION = re.compile(r"([1-9][0-9]*)([smhd])\Z")
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_CHANNEL = re.compile(r"projects/[^/\s]+/notificationChannels/[^/\s]+\Z")


@dataclass(frozen=True, slots=True)
class Condition:
    """One label comparison of a ``log_match`` alert: ``labels[label] op value``."""

    label: str
    op: str
    value: str | int | float | bool


@dataclass(frozen=True, slots=True)
class AlertSpec:
    """One declared alert of one event, compiled."""

    name: str
    kind: str
    event: str
    severity: str
    documentation: str
    channels: tuple[str, ...]  # notification channel resource names, resolved from ``notify``
    threshold: float | None = None
    window: int | None = None  # seconds (rate and percentile kinds)
    duration: int | None = None  # seconds (absent)
    percentile: int | None = None
    match: tuple[Condition, ...] = ()


def channels(document: Mapping[str, Any]) -> dict[str, str]:
    """The top-level ``notification_channels``: a name → ``projects/P/notificationChannels/ID``."""
    found = document.get("notification_channels", {})
    if not isinstance(found, Mapping):
        raise SchemaError("notification_channels: expected an object of name → channel resource name")
    for name, resource in found.items():
        if not isinstance(resource, str) or not _CHANNEL.match(resource):
            raise SchemaError(f"notification_channels.{name}: expected projects/PROJECT/notificationChannels/ID")
    return dict(found)


def parse(alerts: object, where: str, event: str, description: str | None, value_used: bool,
          labels: frozenset[str] | None, known_channels: Mapping[str, str]) -> tuple[AlertSpec, ...]:
    """The entry's ``alerts`` list compiled; ``SchemaError`` says which alert and key is wrong.

    ``labels`` is the set of declared label names (None when any name is allowed).
    """
    if alerts is None:
        return ()
    if not isinstance(alerts, list):
        raise SchemaError(f"{where}: expected a list of alerts")
    return tuple(_alert(alert, f"{where}[{index}]", event, description, value_used, labels, known_channels)
                 for index, alert in enumerate(alerts))


def _alert(alert: object, where: str, event: str, description: str | None, value_used: bool,
           labels: frozenset[str] | None, known_channels: Mapping[str, str]) -> AlertSpec:
    if not isinstance(alert, Mapping):
        raise SchemaError(f"{where}: an alert must be an object")
    kind = alert.get("kind")
    if kind not in KINDS:
        raise SchemaError(f"{where}.kind: expected one of {', '.join(KINDS)}")
    unknown = sorted(set(alert) - COMMON_KEYS - KINDS[kind])
    missing = sorted(KINDS[kind] - set(alert))
    if unknown or missing:
        raise SchemaError(f"{where}: {kind} takes {', '.join(sorted(KINDS[kind]))}"
                          + (f"; unknown: {', '.join(unknown)}" if unknown else "")
                          + (f"; missing: {', '.join(missing)}" if missing else ""))
    name = alert.get("name")
    if not isinstance(name, str) or not _NAME.match(name):
        raise SchemaError(f"{where}.name: expected lower-case letters, digits and '-', starting with a letter")
    severity = alert.get("severity", "warning")
    if severity not in SEVERITIES:
        raise SchemaError(f"{where}.severity: expected one of {', '.join(SEVERITIES)}")
    if kind == "percentile_above" and not value_used:
        raise SchemaError(f"{where}: percentile_above needs an event with a value (its entry's value is not used)")
    return AlertSpec(
        name=name, kind=kind, event=event, severity=severity,
        documentation=_documentation(alert, where, description, event),
        channels=_notify(alert.get("notify", []), f"{where}.notify", known_channels),
        threshold=_threshold(alert, where) if "threshold" in alert else None,
        window=duration(alert["window"], f"{where}.window") if "window" in alert else None,
        duration=duration(alert["for"], f"{where}.for") if "for" in alert else None,
        percentile=_percentile(alert, where) if "percentile" in alert else None,
        match=_match(alert["match"], f"{where}.match", labels) if "match" in alert else ())


def duration(text: object, where: str) -> int:
    """``"30s"``, ``"5m"``, ``"1h"``, ``"2d"`` as whole seconds, at least ``MIN_WINDOW`` and whole minutes."""
    found = _DURATION.match(text) if isinstance(text, str) else None
    if found is None:
        raise SchemaError(f"{where}: expected a duration such as 5m, 1h or 1d")
    seconds = int(found.group(1)) * _SECONDS[found.group(2)]
    if seconds < MIN_WINDOW or seconds % 60:
        raise SchemaError(f"{where}: expected whole minutes, at least 1m (Cloud Monitoring's alignment)")
    return seconds


def _documentation(alert: Mapping[str, Any], where: str, description: str | None, event: str) -> str:
    text = alert.get("documentation")
    if text is None:
        return description or f"The event {event!r}."
    if not isinstance(text, str) or not text.strip():
        raise SchemaError(f"{where}.documentation: expected text")
    return text


def _notify(refs: object, where: str, known: Mapping[str, str]) -> tuple[str, ...]:
    if not isinstance(refs, list) or not all(isinstance(ref, str) for ref in refs):
        raise SchemaError(f"{where}: expected a list of names from notification_channels")
    unknown = [ref for ref in refs if ref not in known]
    if unknown:
        raise SchemaError(f"{where}: {', '.join(unknown)} not in notification_channels "
                          f"(known: {', '.join(sorted(known)) or 'none'})")
    return tuple(known[ref] for ref in refs)


def _threshold(alert: Mapping[str, Any], where: str) -> float:
    threshold = alert["threshold"]
    if type(threshold) not in (int, float) or not threshold >= 0 or threshold == float("inf"):
        raise SchemaError(f"{where}.threshold: expected a number >= 0")
    return float(threshold)


def _percentile(alert: Mapping[str, Any], where: str) -> int:
    percentile = alert["percentile"]  # 95.0 is the JSON number 95, as JSON Schema's enum has it
    if type(percentile) not in (int, float) or percentile not in PERCENTILES:
        raise SchemaError(f"{where}.percentile: expected one of {', '.join(map(str, PERCENTILES))}")
    return int(percentile)


def _match(match: object, where: str, labels: frozenset[str] | None) -> tuple[Condition, ...]:
    """``{"status": {">=": 500}, "method": "POST"}``: a bare value means ``=``; all must hold."""
    if not isinstance(match, Mapping) or not match:
        raise SchemaError(f"{where}: expected an object of label → value or {{operator: value}}")
    conditions: list[Condition] = []
    for label, test in match.items():
        if labels is not None and label not in labels:
            raise SchemaError(f"{where}.{label}: not a label of this event")
        tests = test.items() if isinstance(test, Mapping) else [("=", test)]
        for op, value in tests:
            if op not in OPERATORS:
                raise SchemaError(f"{where}.{label}: unknown operator {op!r} (known: {' '.join(OPERATORS)})")
            if type(value) not in (str, int, float, bool):
                raise SchemaError(f"{where}.{label}: expected a string, number or boolean to compare with")
            if op not in ("=", "!=") and type(value) not in (int, float):
                raise SchemaError(f"{where}.{label}: {op} compares numbers")
            conditions.append(Condition(label, op, value))
    return tuple(conditions)
