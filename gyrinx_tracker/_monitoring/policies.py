"""One Cloud Monitoring alert policy per declared alert, over the metrics the tracker writes.

Counts come from the counters (exact, whatever the log sampling keeps). ``log_match`` reads the
logs (a ``conditionMatchedLog``: it can name any label, ids included, and its notification says
which entry matched), except on a sampled event, whose kept entries may miss the one that
matters: there, when the labels it compares are metric labels (``matchers``), it is a threshold
on the counter's matching series instead (any increase in 5 minutes). A sampled event whose
labels the metrics cannot test keeps the log condition, and its documentation says what it misses.

``absent`` is two conditions: no point at all for the duration (the process stopped: the tracker
exports every series on each interval while it runs, so the counter alone never goes silent
while the app is up), or points whose increase over the duration is below one (the app runs, but
the event stopped).
"""

from __future__ import annotations

import json
import re
from typing import Any

from gyrinx_tracker._catalogue.alerts import AlertSpec
from gyrinx_tracker._monitoring.dashboard import metric_filter
from gyrinx_tracker._monitoring.describe import describe, log_filter, minutes
from gyrinx_tracker._monitoring.matchers import label_tests
from gyrinx_tracker._monitoring.model import Monitored, MonitoringError, seconds

NOTIFICATION_PERIOD = "300s"  # log-match policies must limit notifications; Google's smallest period
AUTO_CLOSE = "1800s"
MATCH_WINDOW = "300s"  # a metric-based log_match: any matching event in 5 minutes


def policy(entry: Monitored, alert: AlertSpec) -> dict[str, Any]:
    """The ``AlertPolicy`` resource of ``alert`` as JSON."""
    conditions = _CONDITIONS[alert.kind](entry, alert)
    found: dict[str, Any] = {
        "displayName": f"{alert.event}: {alert.name}",
        "documentation": {"content": documentation(entry, alert), "mimeType": "text/markdown",
                          "subject": f"{alert.event}: {alert.name}"},
        "userLabels": {"gyrinx-tracker": "generated", "event": _label_value(alert.event), "alert": alert.name},
        "combiner": "OR",
        "conditions": conditions,
        "alertStrategy": {"autoClose": AUTO_CLOSE},
        "severity": alert.severity.upper(),
        "enabled": True,
    }
    if "conditionMatchedLog" in conditions[0]:
        found["alertStrategy"]["notificationRateLimit"] = {"period": NOTIFICATION_PERIOD}
    if alert.channels:
        found["notificationChannels"] = list(alert.channels)
    return found


def documentation(entry: Monitored, alert: AlertSpec) -> str:
    text = f"{alert.documentation}\n\nFires when: {describe(alert, entry.unit)}."
    if alert.kind == "log_match" and _sampled(entry) and _metric_match(entry, alert) is None:
        text += (f"\n\n`{alert.event}` is sampled at {entry.spec.sample_rate:g}: only the kept log entries "
                 "can match, so a rare match may be missed.")
    return text + "\n\nGenerated from the event catalogue by `gyrinx-tracker events monitoring`."


def _label_value(text: str) -> str:
    """User label values: lower-case letters, digits, ``_`` and ``-``, at most 63 characters."""
    return re.sub(r"[^a-z0-9_-]", "_", text.lower())[:63]


def _threshold(entry: Monitored, alert: AlertSpec, comparison: str) -> list[dict[str, Any]]:
    assert alert.window is not None
    return [{"displayName": describe(alert, entry.unit), "conditionThreshold": {
        "filter": metric_filter(entry.counter),
        "aggregations": [{"alignmentPeriod": seconds(alert.window), "perSeriesAligner": "ALIGN_DELTA",
                          "crossSeriesReducer": "REDUCE_SUM"}],
        "comparison": comparison, "thresholdValue": alert.threshold, "duration": "0s", "trigger": {"count": 1}}}]


def _rate_above(entry: Monitored, alert: AlertSpec) -> list[dict[str, Any]]:
    return _threshold(entry, alert, "COMPARISON_GT")


def _rate_below(entry: Monitored, alert: AlertSpec) -> list[dict[str, Any]]:
    return _threshold(entry, alert, "COMPARISON_LT")


def _absent(entry: Monitored, alert: AlertSpec) -> list[dict[str, Any]]:
    assert alert.duration is not None
    period = seconds(min(alert.duration, 300))
    return [
        {"displayName": f"no `{alert.event}` point for {minutes(alert.duration)} (the app stopped writing)",
         "conditionAbsent": {"filter": metric_filter(entry.counter), "duration": seconds(alert.duration),
                             "aggregations": [{"alignmentPeriod": period, "perSeriesAligner": "ALIGN_DELTA",
                                               "crossSeriesReducer": "REDUCE_SUM"}],
                             "trigger": {"count": 1}}},
        {"displayName": f"`{alert.event}` did not increase in {minutes(alert.duration)}",
         "conditionThreshold": {"filter": metric_filter(entry.counter),
                                "aggregations": [{"alignmentPeriod": seconds(alert.duration),
                                                  "perSeriesAligner": "ALIGN_DELTA",
                                                  "crossSeriesReducer": "REDUCE_SUM"}],
                                "comparison": "COMPARISON_LT", "thresholdValue": 1, "duration": "0s",
                                "trigger": {"count": 1}}},
    ]


def _percentile_above(entry: Monitored, alert: AlertSpec) -> list[dict[str, Any]]:
    if entry.histogram is None or alert.window is None:
        raise MonitoringError(f"{alert.name}: the event {alert.event!r} has no histogram")
    return [{"displayName": describe(alert, entry.unit), "conditionThreshold": {
        "filter": metric_filter(entry.histogram),
        "aggregations": [{"alignmentPeriod": seconds(alert.window), "perSeriesAligner": "ALIGN_DELTA",
                          "crossSeriesReducer": f"REDUCE_PERCENTILE_{alert.percentile:02d}"}],
        "comparison": "COMPARISON_GT", "thresholdValue": alert.threshold, "duration": "0s", "trigger": {"count": 1}}}]


def _sampled(entry: Monitored) -> bool:
    return entry.spec.sample_rate is not None and entry.spec.sample_rate < 1


def _metric_match(entry: Monitored, alert: AlertSpec) -> str | None:
    """The match as a Cloud Monitoring filter on the counter's labels; None when metrics cannot say it."""
    tests = label_tests(entry, alert)
    if tests is None:
        return None
    clauses = []
    for test in tests:
        value = f"monitoring.regex.full_match({json.dumps(test.text)})" if test.regex else json.dumps(test.text)
        clause = f'metric.label."{test.key}" = {value}'
        clauses.append(f"NOT {clause}" if test.negated else clause)
    return " AND ".join(clauses)


def _log_match(entry: Monitored, alert: AlertSpec) -> list[dict[str, Any]]:
    labels = _metric_match(entry, alert) if _sampled(entry) else None
    if labels is None:
        return [{"displayName": describe(alert), "conditionMatchedLog": {"filter": log_filter(alert)}}]
    return [{"displayName": f"{describe(alert)} (counted by the exact counter; the event's logs are sampled)",
             "conditionThreshold": {
                 "filter": metric_filter(entry.counter, labels),
                 "aggregations": [{"alignmentPeriod": MATCH_WINDOW, "perSeriesAligner": "ALIGN_DELTA",
                                   "crossSeriesReducer": "REDUCE_SUM"}],
                 "comparison": "COMPARISON_GT", "thresholdValue": 0, "duration": "0s", "trigger": {"count": 1}}}]


_CONDITIONS = {"rate_above": _rate_above, "rate_below": _rate_below, "absent": _absent,
               "percentile_above": _percentile_above, "log_match": _log_match}
