"""Metrics through the SDK's own provider path (``metric_reader=``): real SDK instruments with the
same routing and folding (the exports to a receiver are tests/integration/test_metric_export.py)."""

from __future__ import annotations

from opentelemetry.sdk.metrics.export import InMemoryMetricReader

import gyrinx_tracker
from gyrinx_tracker import _api
from tests.helpers.metric_export import OVERFLOW


class TestSdkProviderPath:
    def test_an_apps_meter_provider_still_gets_exact_instruments(self) -> None:
        """``metric_reader=`` (and the app's own provider) get real SDK instruments with the same routing."""
        reader = InMemoryMetricReader()
        gyrinx_tracker.configure(exporter="console", metric_reader=reader, local_metrics=False,
                                 metric_series_per_event=1)
        for index in range(10):
            gyrinx_tracker.track("api_call", 2, endpoint=f"/{index % 2}")
        assert gyrinx_tracker.flush(10)
        data = reader.get_metrics_data()
        assert data is not None
        (counter,) = [m for rm in data.resource_metrics for sm in rm.scope_metrics for m in sm.metrics
                      if m.name == "tracker.api_call"]
        got = {frozenset(p.attributes.items()): p.value for p in counter.data.data_points}
        assert got == {frozenset({("endpoint", "/0")}): 10, frozenset(OVERFLOW.items()): 10}
        _api.reset()
