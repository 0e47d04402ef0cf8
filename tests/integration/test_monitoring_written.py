"""Every metric type the generated dashboard and alert policies name was really written: the tracker
runs against the loopback stand-in for Cloud Monitoring's Telemetry API (an OTLP gRPC receiver,
``GYRINX_TRACKER_CLOUD_MONITORING_ENDPOINT``), and each route's stored names are computed from what
the receiver got (name, unit, kind, attribute keys), not from the catalogue.

The metadata server is a mock (Google's cannot run here), as in test_gcp_metrics.py.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import gyrinx_tracker
from gyrinx_tracker import _api
from gyrinx_tracker._catalogue.catalogue import load
from gyrinx_tracker._monitoring import names
from gyrinx_tracker._monitoring.generate import artefacts
from tests.servers.cloud_logging import CloudLoggingServer
from tests.servers.metadata import MetadataServer
from tests.servers.otlp import OtlpReceiver

pytest_plugins = ("tests.servers.fixtures",)

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "events.json"
CALLS: list[tuple[str, float | None, dict[str, Any]]] = [
    ("user_login", None, {"method": "google"}),
    ("api_call", None, {"endpoint": "/api/lists", "method": "GET", "status": 503}),
    ("operation_duration", 812.5, {"operation": "generate_report"}),
    ("feature_used", None, {"feature": "bulk_import", "user_type": "premium", "list_id": "42"}),
    ("error_occurred", None, {"error_type": "ValidationError", "code": 400}),
    ("event_create_list", None, {"user_id": "7"}),
]


@pytest.fixture
def received(cloud_logging_server: CloudLoggingServer, otlp_receiver: OtlpReceiver, metadata_server: MetadataServer,
             monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[dict[str, dict[str, Any]]]:
    """A Cloud Run revision with the example catalogue: each catalogue event tracked once, then flushed;
    the receiver's metrics by name: unit, kind, monotonic, attribute keys."""
    catalogue = tmp_path / "events.json"
    shutil.copy(EXAMPLES, catalogue)
    for name, value in {"K_SERVICE": "gyrinx", "K_REVISION": "gyrinx-00042-abc",
                        "GYRINX_TRACKER_CLOUD_LOGGING_ENDPOINT": cloud_logging_server.endpoint,
                        "GYRINX_TRACKER_CLOUD_MONITORING_ENDPOINT": otlp_receiver.address,
                        "GYRINX_TRACKER_CATALOGUE": str(catalogue)}.items():
        monkeypatch.setenv(name, value)
    for event, value, labels in CALLS:
        gyrinx_tracker.track(event, value=value, **labels)
    assert gyrinx_tracker.flush(20)
    found: dict[str, dict[str, Any]] = {}
    for name, points in otlp_receiver.metric_points().items():
        if not points:
            continue
        keys = {key for point in points for key in point["attributes"]}
        found[name] = {"unit": points[-1]["unit"], "kind": points[-1]["kind"],
                       "monotonic": points[-1]["is_monotonic"], "keys": keys}
    yield found
    _api.reset()


def stored_types(received: dict[str, dict[str, Any]], route: str) -> dict[str, set[str]]:
    """Metric type → stored label keys, by the route's renaming of what was received."""
    types: dict[str, set[str]] = {}
    for name, metric in received.items():
        if not name.startswith("tracker."):
            continue
        kind = "counter" if metric["kind"] == "sum" and metric["monotonic"] else metric["kind"]
        assert kind in ("counter", "histogram"), (name, metric)
        instrument = names.Instrument(name, metric["unit"], kind, tuple(sorted(metric["keys"])))
        written = names.written(instrument, route)
        types[written.metric_type] = set(written.labels.values())
    return types


def used_types(files: dict[str, str]) -> list[str]:
    """Every metric type a JSON file's filters name (the quotes are escaped inside JSON strings)."""
    return [match for path, text in files.items() if path.endswith(".json")
            for match in re.findall(r'metric\.type=\\"([^"\\]+)\\"', text)]


def filters(document: Any) -> Iterator[str]:
    """Every "filter" string in a JSON document."""
    if isinstance(document, dict):
        for key, value in document.items():
            if key == "filter" and isinstance(value, str):
                yield value
            else:
                yield from filters(value)
    elif isinstance(document, list):
        for item in document:
            yield from filters(item)


@pytest.mark.parametrize("route", names.ROUTES)
def test_every_filter_names_a_written_metric_type_and_label(received: dict[str, dict[str, Any]], route: str,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """Each metric.type in the dashboard and the policies, and each label they group by, was written."""
    written = stored_types(received, route)
    files = artefacts(load(str(EXAMPLES)), route)
    used = used_types(files)
    assert len(set(used)) >= 6  # every active exact event's counter and the histogram
    for metric_type in used:
        assert metric_type in written, (metric_type, sorted(written))
    for text in (text for path, text in files.items() if path.endswith(".json")):
        for chosen in filters(json.loads(text)):
            metric_type = re.search(r'metric\.type="([^"]+)"', chosen)
            if metric_type is None:
                continue  # a log filter
            for label in re.findall(r'metric\.label\."([^"]+)"', chosen):
                assert label in written[metric_type.group(1)], (label, chosen)
    dashboard = json.loads(files["dashboard.json"])
    for tile in dashboard["mosaicLayout"]["tiles"]:
        for data_set in tile["widget"].get("xyChart", {}).get("dataSets", []):
            query = data_set["timeSeriesQuery"]
            if "timeSeriesFilter" in query:
                chosen = re.search(r'metric\.type="([^"]+)"', query["timeSeriesFilter"]["filter"])
                assert chosen is not None
                for field in query["timeSeriesFilter"]["aggregation"].get("groupByFields", []):
                    label = re.fullmatch(r'metric\.label\."([^"]+)"', field)
                    assert label is not None and label.group(1) in written[chosen.group(1)], field


@pytest.mark.parametrize("route", names.ROUTES)
def test_the_pattern_chart_matches_the_written_names(received: dict[str, dict[str, Any]], route: str) -> None:
    """The pattern entry's PromQL name regex matches event_create_list's counter as the route stores it."""
    files = artefacts(load(str(EXAMPLES)), route)
    queries = [data_set["timeSeriesQuery"]["prometheusQuery"]
               for tile in json.loads(files["dashboard.json"])["mosaicLayout"]["tiles"]
               for data_set in tile["widget"].get("xyChart", {}).get("dataSets", [])
               if "prometheusQuery" in data_set["timeSeriesQuery"]]
    assert len(queries) == 1
    regex = json.loads(re.search(r'__name__=~("(?:[^"\\]|\\.)*")', queries[0]).group(1))  # type: ignore[union-attr]
    stored = {metric_type.removeprefix(names.DOMAIN).rsplit("/", 1)[0] for metric_type in stored_types(received, route)}
    assert [name for name in stored if re.fullmatch(regex, name)] == [
        "tracker.event_create_list" if route == "telemetry" else "tracker_event_create_list_total"]
