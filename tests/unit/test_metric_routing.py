"""Which labels become metric attributes, and how cardinality stays bounded whatever the labels.

Every label always reaches the log record; these tests pin only the metric side: the counter
``tracker.<event>`` (sum of n), the histogram ``tracker.<event>.value``, the id-like deny rule,
per-key folding, the per-event series cap with its overflow series, allowlists, and the counts
of every fold in ``stats()``.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

import gyrinx_tracker
from gyrinx_tracker import track
from gyrinx_tracker.testing import Capture, MetricPoint, capture_events

OVERFLOW = {"otel.metric.overflow": True}


@pytest.fixture
def captured() -> Iterator[Capture]:
    """The real pipeline and metric routing, into the in-memory metric exporter of capture_events."""
    with capture_events(strict=False) as capture:
        yield capture


def points(capture: Capture, name: str) -> list[MetricPoint]:
    return [point for point in capture.metric_points() if point.name == name]


def series(capture: Capture, event: str) -> dict[frozenset[tuple[str, Any]], float]:
    """The counter of ``event``: attributes of each series → its value."""
    return {frozenset(p.attributes.items()): p.value or 0 for p in points(capture, f"tracker.{event}")}


def attrs(**attributes: Any) -> frozenset[tuple[str, Any]]:
    return frozenset(attributes.items())


class TestCounter:
    def test_counter_sums_n_per_series_exactly(self, captured: Capture) -> None:
        """``tracker.<event>`` adds n per distinct attribute set; each series is exact."""
        track("api_call", endpoint="/a", method="GET", status=200)
        track("api_call", 5, endpoint="/a", method="GET", status=200)
        track("api_call", endpoint="/b", method="POST", status=201)
        assert series(captured, "api_call") == {
            attrs(endpoint="/a", method="GET", status=200): 6,
            attrs(endpoint="/b", method="POST", status=201): 1,
        }
        (point, _) = points(captured, "tracker.api_call")
        assert point.unit == "{event}"

    def test_sums_are_exact_across_batches(self) -> None:
        """Events split over many export batches still sum exactly (the counter is cumulative)."""
        with capture_events(strict=False, batch_size=7) as capture:
            for index in range(100):
                track("tick", index % 3 + 1, shard=index % 2)
            assert series(capture, "tick") == {
                attrs(shard=0): sum(i % 3 + 1 for i in range(0, 100, 2)),
                attrs(shard=1): sum(i % 3 + 1 for i in range(1, 100, 2)),
            }

    def test_event_without_labels_has_one_series_without_attributes(self, captured: Capture) -> None:
        """``track("user_login")`` counts into a single series with no attributes."""
        track("user_login")
        track("user_login")
        assert series(captured, "user_login") == {frozenset(): 2}

    def test_invalid_n_is_logged_but_not_counted(self, captured: Capture) -> None:
        """An event whose n was refused (recorded as 0) adds nothing to its counter."""
        track("api_call", -1, status=200)
        track("api_call", 2, status=200)
        assert series(captured, "api_call") == {attrs(status=200): 2}
        assert [e.n for e in captured.events] == [0, 2]

    def test_names_differing_only_in_case_share_one_stream(self, captured: Capture) -> None:
        """OpenTelemetry instrument names ignore case, so ``Login`` and ``login`` must not make two streams."""
        track("Login", method="password")
        track("login", method="password")
        track("LOGIN_duration", value=1.0)
        track("login_duration", value=2.0)
        assert [(p.attributes, p.value) for p in points(captured, "tracker.login")] == [({"method": "password"}, 2)]
        (histogram,) = points(captured, "tracker.login_duration.value")
        assert (histogram.count, histogram.sum, histogram.unit) == (2, 3.0, "ms")
        assert [e.event for e in captured.events] == ["Login", "login", "LOGIN_duration", "login_duration"]

    def test_only_scalar_labels_become_attributes(self, captured: Capture) -> None:
        """Lists, dicts, None and strings over 128 characters stay in the log, not in metrics."""
        track("api_call", status=200, ok=True, ratio=0.5, tags=["a"], meta={"k": 1}, nothing=None,
              long="x" * 129, short="x" * 128)
        assert series(captured, "api_call") == {attrs(status=200, ok=True, ratio=0.5, short="x" * 128): 1}
        assert captured.events[0].labels["long"] == "x" * 129

    @pytest.mark.parametrize("key", ["my-key", "with space", "ünïcode", "9lives", "a/b", "k:v"])
    def test_keys_cloud_monitoring_would_reject_stay_in_the_log_only(self, captured: Capture, key: str) -> None:
        """Label keys outside ``[A-Za-z][A-Za-z0-9_.]*`` are not metric attributes (the Telemetry API rejects them)."""
        labels: dict[str, Any] = {key: "x", "method": "GET", "http.route": "/a"}
        track("api_call", **labels)
        assert series(captured, "api_call") == {attrs(method="GET", **{"http.route": "/a"}): 1}
        assert captured.events[0].labels[key] == "x"

    def test_repaired_labels_are_what_metrics_see(self, captured: Capture) -> None:
        """Metric attributes come from validated labels: a NaN is "nan", a secret is redacted."""
        track("api_call", ratio=float("nan"), password="hunter2")
        (key,) = series(captured, "api_call")
        assert ("ratio", "nan") in key
        assert all(value != "hunter2" for _, value in key)


class TestHistogram:
    def test_values_are_recorded_per_series(self, captured: Capture) -> None:
        """``tracker.<event>.value`` gets one record per event with a value, under the same attributes."""
        track("operation_duration", value=100.0, operation="generate_report")
        track("operation_duration", value=50.0, operation="generate_report")
        track("operation_duration", value=7.0, operation="export")
        track("operation_duration", operation="export")
        got = {frozenset(p.attributes.items()): (p.count, p.sum)
               for p in points(captured, "tracker.operation_duration.value")}
        assert got == {attrs(operation="generate_report"): (2, 150.0), attrs(operation="export"): (1, 7.0)}
        assert series(captured, "operation_duration") == {attrs(operation="generate_report"): 2,
                                                          attrs(operation="export"): 2}

    def test_no_histogram_until_a_value_is_seen(self, captured: Capture) -> None:
        """An event tracked without values has only its counter."""
        track("user_login")
        assert points(captured, "tracker.user_login.value") == []

    @pytest.mark.parametrize(("event", "unit"), [
        ("operation_duration", "ms"),
        ("render_ms", "ms"),
        ("job_seconds", "s"),
        ("upload_bytes", "By"),
        ("response_time", "1"),
        ("items_count", "1"),
        ("duration_total", "1"),
        ("EXPORT_DURATION", "ms"),
    ])
    def test_unit_follows_the_naming_convention(self, captured: Capture, event: str, unit: str) -> None:
        """The histogram unit comes from the event name's suffix, after the original tracker's conventions."""
        track(event, value=1.0)
        (point,) = points(captured, f"tracker.{event.lower()}.value")  # the SDK lower-cases names
        assert point.unit == unit


class TestIdLikeKeys:
    @pytest.mark.parametrize("key", ["id", "user_id", "list_id", "list_ids", "userId", "listID", "uuid",
                                     "request_uuid", "guid", "pk", "user", "username", "email", "ip",
                                     "ip_address", "phone", "url", "_private"])
    def test_id_like_keys_are_logged_but_not_metric_attributes(self, captured: Capture, key: str) -> None:
        """Keys that identify one thing never become attributes; the log record keeps them."""
        labels: dict[str, Any] = {key: "42", "noun": "list", "verb": "create"}
        track("user_event", **labels)
        assert series(captured, "user_event") == {attrs(noun="list", verb="create"): 1}
        assert captured.events[0].labels[key] == "42"

    @pytest.mark.parametrize("key", ["valid", "paid", "android", "status", "method", "endpoint", "kind",
                                     "grid", "identity", "user_type"])
    def test_keys_that_merely_end_in_id_letters_are_kept(self, captured: Capture, key: str) -> None:
        """``valid`` or ``android`` are not ids: they stay attributes."""
        labels: dict[str, Any] = {key: "x"}
        track("user_event", **labels)
        assert series(captured, "user_event") == {attrs(**{key: "x"}): 1}

    def test_denied_keys_are_not_counted_as_folds(self, captured: Capture) -> None:
        """Denying an id-like key is the rule, not a fold: stats() stays at zero folds."""
        for index in range(200):
            track("user_event", user_id=str(index), noun="list")
        assert series(captured, "user_event") == {attrs(noun="list"): 200}
        snapshot = gyrinx_tracker.stats()
        assert (snapshot["folded_metric_labels"], snapshot["folded_metric_series"]) == (0, 0)


class TestFolding:
    def test_a_key_over_its_value_budget_is_folded(self) -> None:
        """After metric_label_values distinct values a key leaves the metrics; earlier series stay exact."""
        with capture_events(strict=False, metric_label_values=3) as capture:
            for path in ["/a", "/b", "/c", "/a", "/d", "/e", "/a"]:
                track("page_view", path=path, method="GET")
            assert series(capture, "page_view") == {
                attrs(path="/a", method="GET"): 2,
                attrs(path="/b", method="GET"): 1,
                attrs(path="/c", method="GET"): 1,
                attrs(method="GET"): 3,
            }
            assert capture.count("page_view", method="GET") == 7
            assert len(capture.events) == 7
            assert [e.labels["path"] for e in capture.events][-1] == "/a"

    def test_folds_are_counted_in_stats_and_as_a_metric(self) -> None:
        """Each folded key counts once in stats() and in the ``gyrinx_tracker.folded`` counter."""
        with capture_events(strict=False, metric_label_values=3) as capture:
            for index in range(10):
                track("page_view", path=f"/p{index}", query=f"q{index}", method="GET")
            track("search", term="x")
            assert capture.count("page_view", method="GET") == 10
            snapshot = gyrinx_tracker.stats()
            assert snapshot["folded_metric_labels"] == 2
            folded = {p.attributes["kind"]: p.value for p in points(capture, "gyrinx_tracker.folded")}
            assert folded.get("label") == 2

    def test_a_folded_key_stays_folded_in_later_batches(self) -> None:
        """A folded key does not come back when later events repeat its earlier values."""
        with capture_events(strict=False, metric_label_values=2) as capture:
            for path in ["/a", "/b", "/c"]:
                track("page_view", path=path)
            gyrinx_tracker.flush()
            track("page_view", path="/a")
            assert series(capture, "page_view") == {attrs(path="/a"): 1, attrs(path="/b"): 1, frozenset(): 2}

    def test_budgets_are_per_event(self) -> None:
        """Folding ``path`` for one event leaves ``path`` on another event alone."""
        with capture_events(strict=False, metric_label_values=2) as capture:
            for path in ["/a", "/b", "/c"]:
                track("noisy", path=path)
            track("quiet", path="/z")
            assert series(capture, "quiet") == {attrs(path="/z"): 1}


class TestSeriesCap:
    def test_combinations_past_the_cap_go_to_the_overflow_series(self) -> None:
        """Past metric_series_per_event, new combinations count under ``otel.metric.overflow``."""
        with capture_events(strict=False, metric_series_per_event=3) as capture:
            for endpoint in ["/a", "/b", "/c", "/d", "/e", "/a", "/e"]:
                track("api_call", endpoint=endpoint)
            assert series(capture, "api_call") == {
                attrs(endpoint="/a"): 2, attrs(endpoint="/b"): 1, attrs(endpoint="/c"): 1,
                frozenset(OVERFLOW.items()): 3,
            }
            assert capture.count("api_call") == 7
            assert gyrinx_tracker.stats()["folded_metric_series"] == 3  # events counted into overflow

    def test_histogram_values_past_the_cap_go_to_overflow_too(self) -> None:
        """The histogram shares the counter's routing: no unbounded series there either."""
        with capture_events(strict=False, metric_series_per_event=1) as capture:
            track("job_seconds", value=1.0, job="a")
            track("job_seconds", value=2.0, job="b")
            got = {frozenset(p.attributes.items()): p.sum for p in points(capture, "tracker.job_seconds.value")}
            assert got == {attrs(job="a"): 1.0, frozenset(OVERFLOW.items()): 2.0}

    def test_events_past_the_instrument_cap_are_counted_unmetered(self) -> None:
        """Past metric_events distinct names, events are logged and summed in ``gyrinx_tracker.unmetered``."""
        with capture_events(strict=False, metric_events=2) as capture:
            track("first")
            track("second")
            track("third", 4)
            track("fourth")
            names = {p.name for p in capture.metric_points()}
            assert {"tracker.first", "tracker.second"} <= names
            assert not {"tracker.third", "tracker.fourth"} & names
            (unmetered,) = points(capture, "gyrinx_tracker.unmetered")
            assert unmetered.value == 5
            assert [e.event for e in capture.events] == ["first", "second", "third", "fourth"]


class TestAllowlist:
    def test_only_allowlisted_keys_become_attributes(self) -> None:
        """``metric_labels`` names the attribute keys of an event; the rest stay in the log only."""
        with capture_events(strict=False, metric_labels={"api_call": ["endpoint", "method"]}) as capture:
            track("api_call", endpoint="/a", method="GET", status=200, feature="x")
            track("other", status=200, feature="x")
            assert series(capture, "api_call") == {attrs(endpoint="/a", method="GET"): 1}
            assert series(capture, "other") == {attrs(status=200, feature="x"): 1}
            assert capture.events[0].labels == {"endpoint": "/a", "method": "GET", "status": 200, "feature": "x"}

    def test_an_allowlist_can_admit_an_id_like_key_within_its_budget(self) -> None:
        """Naming ``user_id`` explicitly admits it, but the value budget still folds it."""
        with capture_events(strict=False, metric_labels={"login": ["user_id"]}, metric_label_values=2) as capture:
            for user in ["1", "2", "3"]:
                track("login", user_id=user)
            assert series(capture, "login") == {attrs(user_id="1"): 1, attrs(user_id="2"): 1, frozenset(): 1}

    def test_an_empty_allowlist_means_no_attributes(self) -> None:
        """``metric_labels={"e": []}`` keeps the counter but with no attributes at all."""
        with capture_events(strict=False, metric_labels={"api_call": []}) as capture:
            track("api_call", endpoint="/a")
            assert series(capture, "api_call") == {frozenset(): 1}

    def test_the_environment_variable_sets_allowlists(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """GYRINX_TRACKER_METRIC_LABELS is ``event=key,key;event=key``."""
        monkeypatch.setenv("GYRINX_TRACKER_METRIC_LABELS", "api_call=endpoint,method; login=method")
        with capture_events(strict=False) as capture:
            track("api_call", endpoint="/a", method="GET", status=200)
            track("login", method="password", status=200)
            assert series(capture, "api_call") == {attrs(endpoint="/a", method="GET"): 1}
            assert series(capture, "login") == {attrs(method="password"): 1}


class TestScale:
    def test_unique_ids_never_blow_up_the_series_and_low_cardinality_stays_exact(self) -> None:
        """20,000 events with unique ids and queries: every endpoint/method/status total is exact, series bounded."""
        endpoints = ["/api/v1/fighters", "/api/v1/lists", "/lists/create", "/login", "/"]
        methods = ["GET", "POST", "DELETE"]
        statuses = [200, 201, 400, 500]
        combos = list(itertools.product(endpoints, methods, statuses))
        expected: Counter[tuple[str, str, int]] = Counter()
        with capture_events(strict=False, max_queue=50_000, batch_size=2_000) as capture:
            for index in range(20_000):
                endpoint, method, status = combos[(index * 7) % len(combos)]
                expected[(endpoint, method, status)] += 1
                track("api_call", endpoint=endpoint, method=method, status=status,
                      user_id=f"u{index}", list_id=f"l{index}", query=f"q={index}")
            assert gyrinx_tracker.flush(30)
            got = series(capture, "api_call")
            snapshot = gyrinx_tracker.stats()
        assert snapshot["exported"] == 20_000 and snapshot["dropped"] == 0
        assert len(got) <= len(combos) + 50 < 500
        assert frozenset(OVERFLOW.items()) not in got
        for (endpoint, method, status), count in expected.items():
            total = sum(value for key, value in got.items()
                        if {("endpoint", endpoint), ("method", method), ("status", status)} <= key)
            assert total == count, (endpoint, method, status)
        assert not any(name in ("user_id", "list_id") for key in got for name, _ in key)
        assert snapshot["folded_metric_labels"] == 1  # query, after 50 distinct values
        assert snapshot["folded_metric_series"] == 0
