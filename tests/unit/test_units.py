"""The histogram unit: the request event's is ms; the name rule; the catalogue's value.unit wins."""

from __future__ import annotations

from pathlib import Path

import pytest

from gyrinx_tracker import track
from gyrinx_tracker._signals import metrics
from gyrinx_tracker.testing import capture_events
from tests.unit.test_catalogue import catalogue_file


class TestUnits:
    @pytest.mark.parametrize(("event", "unit"), [
        ("http_request", "ms"), ("HTTP_Request", "ms"), ("render_ms", "ms"), ("job_duration", "ms"),
        ("upload_bytes", "By"), ("sleep_seconds", "s"), ("checkout", "1"),
    ])
    def test_the_name_rule(self, event: str, unit: str) -> None:
        """The built-in request event's value is milliseconds; other names by their suffix."""
        assert metrics.unit_for(event) == unit

    def test_a_middleware_may_declare_its_request_event(self) -> None:
        """A request event given another name (request_event="web_hit") gets ms once declared."""
        assert metrics.unit_for("web_hit_probe") == "1"
        metrics.note_request_event("web_hit_probe")
        assert metrics.unit_for("web_hit_probe") == "ms"

    def test_a_middleware_with_a_renamed_request_event_declares_it(self) -> None:
        """The request scope every middleware opens declares its event name (request_event="...")."""
        from gyrinx_tracker._integrations.request import RequestScope

        assert metrics.unit_for("storefront_hit") == "1"
        RequestScope({}, "storefront_hit")
        assert metrics.unit_for("storefront_hit") == "ms"

    def test_the_request_events_histogram_is_in_ms(self) -> None:
        """What the middlewares track (http_request, value=elapsed ms) reaches the instrument as ms."""
        with capture_events() as captured:
            track("http_request", value=12.5, route="/a", method="GET", status=200)
            units = {point.name: point.unit for point in captured.metric_points()}
        assert units["tracker.http_request.value"] == "ms"

    def test_the_catalogues_unit_wins(self, tmp_path: Path) -> None:
        """value.unit in the catalogue overrides the rule, for the request event too."""
        path = catalogue_file(tmp_path, {"http_request": {"description": "A request.", "value": {"unit": "s"}}})
        with capture_events(catalogue=path) as captured:
            track("http_request", value=0.2, route="/a", method="GET", status=200)
            units = {point.name: point.unit for point in captured.metric_points()}
        assert units["tracker.http_request.value"] == "s"
