"""Prometheus recording and alerting rules for the collector route, over the names the collector's
``googlemanagedprometheus`` exporter writes (``names.prometheus_name``, ``names.label_key``).

Recording rules: each active event's rate (and by its ``group_by`` labels), and p50/p95/p99 of
its value. Alerting rules: one per declared alert, over the counters and histograms (exact, not
sampled). ``log_match`` becomes a rule over the counter when every label it compares is one the
metrics carry (``status >= 500`` as a regular expression over the label's digits: see
``matchers``); otherwise the rule file says why it has none (the Cloud Monitoring log-match
policy covers it). Over metrics, a match counts the events whose labels match, whatever the log
sampling keeps; but a label folded for cardinality is no longer on new series.

Written as YAML by hand (each scalar a JSON string, which YAML reads the same): no YAML library
is needed to generate, and Prometheus's own ``rulefmt`` parses the file in the tests.
"""

from __future__ import annotations

import json
import re
from typing import Any

from gyrinx_tracker._catalogue.alerts import AlertSpec
from gyrinx_tracker._monitoring.describe import describe
from gyrinx_tracker._monitoring.matchers import label_tests
from gyrinx_tracker._monitoring.model import Monitored, by_owner, promql_duration

RATE_WINDOW = "5m"
PERCENTILES = (50, 95, 99)


def rules(entries: list[Monitored]) -> tuple[dict[str, Any], list[str]]:
    """The rule file's document, and a note for each alert PromQL cannot express."""
    recording: list[dict[str, Any]] = []
    alerting: list[dict[str, Any]] = []
    skipped: list[str] = []
    for group in by_owner(entries).values():
        for entry in group:
            if not entry.is_pattern:
                recording += _recording(entry)
    for entry in entries:
        for alert in entry.spec.alerts:
            rule = _alert(entry, alert)
            if rule is None:
                skipped.append(f"{alert.name}: {describe(alert)} (a label the metrics do not carry, or a "
                               "comparison PromQL cannot express; the Cloud Monitoring log-match policy covers it)")
            else:
                alerting.append(rule)
    return {"groups": [{"name": "gyrinx-tracker-recording", "rules": recording},
                       {"name": "gyrinx-tracker-alerts", "rules": alerting}]}, skipped


def _record_name(event: str, what: str) -> str:
    return "tracker:" + re.sub(r"[^a-zA-Z0-9_]", "_", event.lower()) + ":" + what


def _recording(entry: Monitored) -> list[dict[str, Any]]:
    counter = entry.counter.promql_name
    found = [{"record": _record_name(entry.spec.name, f"rate{RATE_WINDOW}"),
              "expr": f"sum(rate({counter}[{RATE_WINDOW}]))"}]
    if entry.spec.group_by:
        keys = ", ".join(entry.counter.labels[key] for key in entry.spec.group_by)
        found.append({"record": _record_name(entry.spec.name, f"rate{RATE_WINDOW}_by_" + "_".join(
            entry.counter.labels[key] for key in entry.spec.group_by)),
            "expr": f"sum by ({keys}) (rate({counter}[{RATE_WINDOW}]))"})
    if entry.histogram is not None:
        for p in PERCENTILES:
            found.append({"record": _record_name(entry.spec.name, f"value_p{p}_{RATE_WINDOW}"),
                          "expr": _quantile(entry, p, RATE_WINDOW)})
    return found


def _quantile(entry: Monitored, percentile: int | None, window: str) -> str:
    assert entry.histogram is not None and percentile is not None
    return (f"histogram_quantile({percentile / 100:g}, sum by (le) "
            f"(rate({entry.histogram.promql_name}_bucket[{window}])))")


def _alert(entry: Monitored, alert: AlertSpec) -> dict[str, Any] | None:
    counter = entry.counter.promql_name
    if alert.kind in ("rate_above", "rate_below"):
        assert alert.window is not None
        op = ">" if alert.kind == "rate_above" else "<"
        expr = f"sum(increase({counter}[{promql_duration(alert.window)}])) {op} {alert.threshold:g}"
    elif alert.kind == "absent":
        assert alert.duration is not None
        window = promql_duration(alert.duration)
        expr = f"absent_over_time({counter}[{window}]) or sum(increase({counter}[{window}])) < 1"
    elif alert.kind == "percentile_above":
        assert alert.window is not None
        expr = f"{_quantile(entry, alert.percentile, promql_duration(alert.window))} > {alert.threshold:g}"
    else:
        selector = _selector(entry, alert)
        if selector is None:
            return None
        expr = f"sum(increase({counter}{{{selector}}}[5m])) > 0"
    return {"alert": alert.name, "expr": expr, "labels": {"severity": alert.severity, "event": alert.event},
            "annotations": {"summary": describe(alert, entry.unit), "description": alert.documentation}}


def _selector(entry: Monitored, alert: AlertSpec) -> str | None:
    """PromQL label matchers for a ``log_match`` (``matchers``); None when metrics cannot say it."""
    tests = label_tests(entry, alert)
    if tests is None:
        return None
    operators = {(False, False): "=", (False, True): "!=", (True, False): "=~", (True, True): "!~"}
    return ", ".join(f"{t.key}{operators[t.regex, t.negated]}{json.dumps(t.text)}" for t in tests)


def to_yaml(document: dict[str, Any], notes: list[str]) -> str:
    """The rule file: comments first, then groups of rules, every scalar a JSON (so YAML) string."""
    lines = ["# Prometheus rules for gyrinx_tracker's events, generated from the event catalogue by",
             "# `gyrinx-tracker events monitoring`: do not edit, regenerate. Metric names are those the",
             "# collector's googlemanagedprometheus exporter writes (see the README beside this file)."]
    lines += [f"# not generated: {note}" for note in notes]
    lines.append("groups:")
    for group in document["groups"]:
        lines.append(f"  - name: {json.dumps(group['name'])}")
        lines.append("    rules:" + ("" if group["rules"] else " []"))
        for rule in group["rules"]:
            first = True
            for key, value in rule.items():
                lead = "      - " if first else "        "
                first = False
                if isinstance(value, dict):
                    lines.append(f"{lead}{key}:")
                    lines += [f"          {k}: {json.dumps(v)}" for k, v in value.items()]
                else:
                    lines.append(f"{lead}{key}: {json.dumps(value)}")
    return "\n".join(lines) + "\n"


