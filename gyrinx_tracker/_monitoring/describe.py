"""An alert in words and as a log filter: shared by the generated policies and ``alerts check``.

Kept apart from the generators so that ``gyrinx-tracker alerts check`` (and every other command)
starts without importing the OpenTelemetry SDK, which only the metric names need.
"""

from __future__ import annotations

import json

from gyrinx_tracker._catalogue.alerts import AlertSpec, Condition

LOG_SCOPE = '(log_id("tracker") OR log_id("run.googleapis.com/stdout"))'
_FILTER_OPERATORS = {"=": "=", "!=": "!=", ">": ">", ">=": ">=", "<": "<", "<=": "<="}


def describe(alert: AlertSpec, unit: str = "") -> str:
    """The alert in words (for documentation and ``alerts check``)."""
    if alert.kind == "rate_above":
        return f"more than {alert.threshold:g} `{alert.event}` events in {minutes(alert.window)}"
    if alert.kind == "rate_below":
        return f"fewer than {alert.threshold:g} `{alert.event}` events in {minutes(alert.window)}"
    if alert.kind == "absent":
        return f"no `{alert.event}` event for {minutes(alert.duration)}"
    if alert.kind == "percentile_above":
        return (f"p{alert.percentile} of `{alert.event}`'s value above {alert.threshold:g}"
                f"{' ' + unit if unit not in ('', '1') else ''} over {minutes(alert.window)}")
    return f"an entry of `{alert.event}` with {match_filter(alert.match)}"


def minutes(value: int | None) -> str:
    assert value is not None
    return f"{value // 60} min"


def match_filter(match: tuple[Condition, ...]) -> str:
    """The label conditions in the Cloud Logging query language (``gyrinx-tracker query`` reads it too)."""
    return " AND ".join(f"jsonPayload.labels.{c.label}{_FILTER_OPERATORS[c.op]}{_literal(c.value)}" for c in match)


def log_filter(alert: AlertSpec) -> str:
    """The whole log filter of a ``log_match`` alert: the tracker's logs, the event, its labels."""
    return f"{LOG_SCOPE} AND jsonPayload.event={json.dumps(alert.event)} AND {match_filter(alert.match)}"


def _literal(value: str | int | float | bool) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value)
