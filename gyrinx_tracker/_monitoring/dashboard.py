"""The Cloud Monitoring dashboard of a catalogue: per owner, each active event's rate (split by its
``group_by`` labels) and, for events with a value, p50/p95/p99 in the catalogue's unit.

Rates come from the counters, which count every event whatever the log sampling keeps: the
dashboard never counts log entries. A pattern entry (``event_{verb}_{noun}``) names many metric
types, and a Cloud Monitoring filter names one, so its chart is one PromQL query over the names
the pattern matches, one line per event.
"""

from __future__ import annotations

import json
from typing import Any

from gyrinx_tracker._monitoring import names
from gyrinx_tracker._monitoring.model import Monitored, by_owner

COLUMNS = 48
WIDTH = 24
HEIGHT = 16
HEADER = 4
ALIGNMENT = "60s"
PERCENTILES = (50, 95, 99)


def dashboard(entries: list[Monitored], title: str) -> dict[str, Any]:
    """The ``Dashboard`` resource as JSON."""
    tiles: list[dict[str, Any]] = []
    y = 0
    for owner, group in by_owner(entries).items():
        tiles.append(_tile(0, y, COLUMNS, HEADER, {"title": f"Owner: {owner}", "sectionHeader": {"dividerBelow": True}}))
        y += HEADER
        charts = [chart for entry in group for chart in _charts(entry)]
        for index, chart in enumerate(charts):
            tiles.append(_tile((index % 2) * WIDTH, y + (index // 2) * HEIGHT, WIDTH, HEIGHT, chart))
        y += -(-len(charts) // 2) * HEIGHT
    return {"displayName": title, "labels": {"gyrinx-tracker": ""},
            "mosaicLayout": {"columns": COLUMNS, "tiles": tiles}}


def _tile(x: int, y: int, width: int, height: int, widget: dict[str, Any]) -> dict[str, Any]:
    return {"xPos": x, "yPos": y, "width": width, "height": height, "widget": widget}


def _charts(entry: Monitored) -> list[dict[str, Any]]:
    if entry.is_pattern:
        return [_pattern_chart(entry)]
    charts = [_rate_chart(entry)]
    if entry.histogram is not None:
        charts.append(_percentile_chart(entry))
    return charts


def metric_filter(written: names.Written, extra: str = "") -> str:
    """A Cloud Monitoring filter naming exactly one of the tracker's metric types."""
    clauses = [f'metric.type="{written.metric_type}"', f'resource.type="{names.RESOURCE}"']
    return " AND ".join([*clauses, extra] if extra else clauses)


def _rate_chart(entry: Monitored) -> dict[str, Any]:
    counter = entry.counter
    group = [f'metric.label."{counter.labels[key]}"' for key in entry.spec.group_by]
    aggregation: dict[str, Any] = {"alignmentPeriod": ALIGNMENT, "perSeriesAligner": "ALIGN_RATE",
                                   "crossSeriesReducer": "REDUCE_SUM"}
    if group:
        aggregation["groupByFields"] = group
    data_set: dict[str, Any] = {
        "timeSeriesQuery": {"timeSeriesFilter": {"filter": metric_filter(counter), "aggregation": aggregation}},
        "plotType": "STACKED_AREA" if group else "LINE", "minAlignmentPeriod": ALIGNMENT}
    if group:
        data_set["legendTemplate"] = " ".join(f"${{metric.labels.{counter.labels[key]}}}" for key in entry.spec.group_by)
    split = f", by {', '.join(entry.spec.group_by)}" if group else ""
    return {"title": f"{entry.spec.name}: events/s{split}",
            "xyChart": {"dataSets": [data_set], "yAxis": {"label": "events/s", "scale": "LINEAR"}}}


def _percentile_chart(entry: Monitored) -> dict[str, Any]:
    assert entry.histogram is not None
    data_sets = [{
        "timeSeriesQuery": {"timeSeriesFilter": {"filter": metric_filter(entry.histogram), "aggregation": {
            "alignmentPeriod": ALIGNMENT, "perSeriesAligner": "ALIGN_DELTA",
            "crossSeriesReducer": f"REDUCE_PERCENTILE_{p:02d}"}}},
        "plotType": "LINE", "legendTemplate": f"p{p}", "minAlignmentPeriod": ALIGNMENT} for p in PERCENTILES]
    unit = entry.unit if entry.unit not in ("", "1") else "value"
    return {"title": f"{entry.spec.name}: value p50 / p95 / p99 ({unit})",
            "xyChart": {"dataSets": data_sets, "yAxis": {"label": unit, "scale": "LINEAR"}}}


def promql_name_regex(written: names.Written) -> str:
    """The PromQL ``__name__`` regular expression matching every name of a pattern entry."""
    return names.pattern(written.promql_name.strip('{}"'))


def _pattern_chart(entry: Monitored) -> dict[str, Any]:
    query = f"sum by (__name__) (rate({{__name__=~{json.dumps(promql_name_regex(entry.counter))}}}[5m]))"
    return {"title": f"{entry.spec.name}: events/s, one line per event",
            "xyChart": {"dataSets": [{"timeSeriesQuery": {"prometheusQuery": query}, "plotType": "STACKED_AREA",
                                      "minAlignmentPeriod": ALIGNMENT}],
                        "yAxis": {"label": "events/s", "scale": "LINEAR"}}}
