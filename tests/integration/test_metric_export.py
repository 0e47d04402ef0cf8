"""Metrics aggregated on the worker and exported as the SDK's own MetricsData: exact, cumulative,
on an interval, at flush and at exit, checked at a real OTLP gRPC receiver on loopback.

The expected totals are computed here from what was tracked, independently of the package: the
counter of each event summed over its series is the sum of n, and its histogram's count, sum,
min, max and buckets (``bisect_left`` over the SDK's default boundaries, the specification's
upper-inclusive rule) are those of the non-negative values, whatever cardinality folding did to
the attributes. The export at exit is checked from a child in tests/process/test_metric_export.py,
the SDK provider path (no receiver) in tests/unit/test_metric_export.py.
"""

from __future__ import annotations

import random
from bisect import bisect_left
from collections import Counter
from collections.abc import Iterator
from typing import Any

import grpc
import pytest
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

import gyrinx_tracker
from gyrinx_tracker import _api
from tests.helpers.metric_export import OVERFLOW
from tests.servers.otlp import OtlpReceiver

pytest_plugins = ("tests.servers.fixtures",)

SDK_BOUNDARIES = [0.0, 5.0, 10.0, 25.0, 50.0, 75.0, 100.0, 250.0, 500.0, 750.0, 1000.0, 2500.0, 5000.0,
                  7500.0, 10000.0]


@pytest.fixture
def otlp(otlp_receiver: OtlpReceiver, monkeypatch: pytest.MonkeyPatch) -> Iterator[OtlpReceiver]:
    """The OTLP output pointed at the receiver through the standard variables."""
    monkeypatch.setenv("GYRINX_TRACKER_EXPORTER", "otlp")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", otlp_receiver.endpoint)
    yield otlp_receiver
    _api.reset()


def expected_buckets(values: list[float]) -> list[int]:
    counts = [0] * (len(SDK_BOUNDARIES) + 1)
    for value in values:
        counts[bisect_left(SDK_BOUNDARIES, value)] += 1
    return counts


def merged_histogram(points: list[dict[str, Any]]) -> tuple[int, float, float, float, list[int]]:
    """Count, sum, min, max and buckets of a histogram's series taken together."""
    buckets = [sum(column) for column in zip(*(p["bucket_counts"] for p in points), strict=True)]
    return (sum(p["count"] for p in points), sum(p["sum"] for p in points), min(p["min"] for p in points),
            max(p["max"] for p in points), buckets)


class TestExactAtTheReceiver:
    def test_counters_and_histograms_equal_what_was_tracked(self, otlp: OtlpReceiver) -> None:
        """Per series, the counter is the sum of n and the histogram's count/sum/min/max/buckets are exact."""
        rng = random.Random(7)
        counts: Counter[tuple[str, int]] = Counter()
        values: dict[str, list[float]] = {}
        for _ in range(3_000):
            endpoint, status, n = rng.choice(["/a", "/b", "/c"]), rng.choice([200, 500]), rng.randint(0, 4)
            gyrinx_tracker.track("api_call", n, endpoint=endpoint, status=status, user_id=str(rng.random()))
            counts[(endpoint, status)] += n
            operation, value = rng.choice(["report", "export"]), round(rng.uniform(0, 12_000), 3)
            gyrinx_tracker.track("operation_duration", value=value, operation=operation)
            values.setdefault(operation, []).append(value)
        assert gyrinx_tracker.flush(30)
        got = {(dict(k)["endpoint"], dict(k)["status"]): p["value"] for k, p in otlp.latest("tracker.api_call").items()}
        assert got == {key: total for key, total in counts.items() if total}
        histograms = otlp.latest("tracker.operation_duration.value")
        for operation, tracked in values.items():
            point = histograms[frozenset({("operation", operation)})]
            assert (point["count"], point["min"], point["max"]) == (len(tracked), min(tracked), max(tracked))
            assert point["sum"] == pytest.approx(sum(tracked), rel=1e-12)
            assert point["bucket_counts"] == expected_buckets(tracked)
            assert point["bounds"] == SDK_BOUNDARIES
            assert (point["temporality"], point["unit"]) == ("cumulative", "ms")

    def test_totals_stay_exact_under_cardinality_folding(self, otlp: OtlpReceiver) -> None:
        """With tiny budgets (keys folded, series overflowing), every event still counts exactly once."""
        gyrinx_tracker.configure(metric_label_values=4, metric_series_per_event=6)
        rng = random.Random(11)
        total_n, tracked = 0, []
        for index in range(2_000):
            n, value = rng.randint(1, 3), rng.choice([None, round(rng.uniform(0, 900), 2)])
            gyrinx_tracker.track("job_seconds", n, value=value, path=f"/p{index % 9}", kind=rng.choice("abcdefg"),
                                 region=rng.choice(["eu", "us"]))
            total_n += n
            if value is not None:
                tracked.append(value)
        assert gyrinx_tracker.flush(30)
        counters = otlp.latest("tracker.job_seconds")
        assert sum(p["value"] for p in counters.values()) == total_n
        assert frozenset(OVERFLOW.items()) in counters
        assert len(counters) <= 7  # six series and the overflow series
        count, summed, low, high, buckets = merged_histogram(list(otlp.latest("tracker.job_seconds.value").values()))
        assert (count, low, high, buckets) == (len(tracked), min(tracked), max(tracked), expected_buckets(tracked))
        assert summed == pytest.approx(sum(tracked), rel=1e-12)
        books = gyrinx_tracker.stats()
        assert books["folded_metric_labels"] >= 2 and books["folded_metric_series"] > 0
        folded = {dict(k)["kind"]: p["value"] for k, p in otlp.latest("gyrinx_tracker.folded").items()}
        assert folded == {"label": books["folded_metric_labels"], "series": books["folded_metric_series"]}

    def test_our_aggregates_equal_the_sdks_own_for_the_same_events(self, otlp: OtlpReceiver) -> None:
        """The same events through the SDK's instruments (``metric_reader=``) give the same points."""
        def workload() -> None:
            for index in range(500):
                gyrinx_tracker.track("render_ms", index % 3, value=(index * 37) % 1_200 / 7, page=f"p{index % 4}")

        workload()
        assert gyrinx_tracker.flush(30)
        ours = otlp.latest("tracker.render_ms.value")
        reader = InMemoryMetricReader()
        gyrinx_tracker.configure(exporter="console", metric_reader=reader, local_metrics=False)
        workload()
        assert gyrinx_tracker.flush(30)
        data = reader.get_metrics_data()
        assert data is not None
        (sdk,) = [m for rm in data.resource_metrics for sm in rm.scope_metrics for m in sm.metrics
                  if m.name == "tracker.render_ms.value"]
        assert len(sdk.data.data_points) == len(ours) == 4
        for point in sdk.data.data_points:
            mine = ours[frozenset(point.attributes.items())]
            assert (mine["count"], mine["sum"], mine["min"], mine["max"], mine["bucket_counts"]) == (
                point.count, point.sum, point.min, point.max, list(point.bucket_counts))


class TestCumulativeExports:
    def test_each_export_carries_the_running_totals_from_one_start_time(self, otlp: OtlpReceiver) -> None:
        """Two flushes: the second point holds both batches' total, with the same start time, later end time."""
        gyrinx_tracker.track("user_login", 2)
        assert gyrinx_tracker.flush(10)
        gyrinx_tracker.track("user_login", 3)
        assert gyrinx_tracker.flush(10)
        first, second = otlp.metric_points()["tracker.user_login"]
        assert (first["value"], second["value"]) == (2, 5)
        assert first["start_time_unix_nano"] == second["start_time_unix_nano"] < first["time_unix_nano"]
        assert second["time_unix_nano"] > first["time_unix_nano"]
        assert second["is_monotonic"] and second["temporality"] == "cumulative"

    def test_exports_happen_on_the_interval_without_a_flush(self, otlp: OtlpReceiver) -> None:
        """With metric_interval set, the worker exports on its own; no flush() is called."""
        gyrinx_tracker.configure(metric_interval=0.3)
        gyrinx_tracker.track("heartbeat", 4)
        assert otlp.wait_for_metric("tracker.heartbeat", timeout=20)
        assert [p["value"] for p in otlp.metric_points()["tracker.heartbeat"]][-1] == 4

    def test_a_failed_export_is_counted_and_the_next_one_carries_the_totals(self, otlp: OtlpReceiver) -> None:
        """A refused export counts in stats(); totals are cumulative, so the next export loses nothing."""
        gyrinx_tracker.configure(log_exporter=_NullLogs())  # only metric exports reach the receiver
        gyrinx_tracker.track("checkout", 7)
        assert gyrinx_tracker.flush(10)
        otlp.fail_next(1, grpc.StatusCode.INVALID_ARGUMENT)
        gyrinx_tracker.track("checkout", 5)
        gyrinx_tracker.flush(10)  # the failure is not the queue's: it shows in the books
        assert (otlp.failures, gyrinx_tracker.stats()["metric_exports_failed"]) == (1, 1)
        gyrinx_tracker.track("checkout", 1)
        assert gyrinx_tracker.flush(10)
        assert [p["value"] for p in otlp.metric_points()["tracker.checkout"]] == [7, 13]


class _NullLogs:
    """A log exporter that accepts everything (the test is about metric exports)."""

    def export(self, batch: Any) -> Any:
        from opentelemetry.sdk._logs.export import LogExportResult

        return LogExportResult.SUCCESS

    def force_flush(self, timeout_millis: int = 0) -> bool:
        return True

    def shutdown(self) -> None:
        return None
