"""The tracker's warnings: one prefix and one voice (the variable or option, the bad value, the default
used), no Python wording, rate limits per (cause, event, detail), and the suppressed ones counted."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest

import gyrinx_tracker
from gyrinx_tracker import _diagnostics
from gyrinx_tracker._config import VARIABLES, TrackerConfig, from_env, shown_default, with_overrides
from gyrinx_tracker._outputs.choice import metric_interval

PYTHON_WORDING = ("invalid literal", "could not convert", "with base 10", "Error(", "Traceback")


def ours(caplog: pytest.LogCaptureFixture, text: str = "") -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "gyrinx_tracker" and text in r.getMessage()]


# A value each parser refuses; variables that take any text are left out (nothing is bad for them).
BAD: dict[str, str] = {}
for _variable in VARIABLES:
    _name = _variable.parse.__name__
    if _name == "_positive_int" or _name == "_positive_float":
        BAD[_variable.name] = "abc"
    elif _name == "_boolean":
        BAD[_variable.name] = "maybe"
    elif _name == "parse" and _variable.field not in ("sample_rates", "sample_caps"):
        BAD[_variable.name] = "bogus"  # a choice
    elif _name == "_metric_labels":
        BAD[_variable.name] = "no_equals_sign"
    elif _variable.field in ("sample_rates", "sample_caps"):
        BAD[_variable.name] = "api_call=-5"


class TestOneVoice:
    @pytest.mark.parametrize("name", sorted(BAD))
    def test_a_bad_variable_names_itself_its_value_and_the_default(self, name: str,
                                                                   caplog: pytest.LogCaptureFixture) -> None:
        """Each bad variable: one warning with the prefix, the variable, the value, and the default kept."""
        caplog.set_level(logging.WARNING, logger="gyrinx_tracker")
        from_env({name: BAD[name]})
        (message,) = ours(caplog)
        assert message.startswith("gyrinx_tracker: ") and name in message and repr(BAD[name]) in message
        field = next(variable.field for variable in VARIABLES if variable.name == name)
        assert "default" in message and (shown_default(field) in message or field in ("sample_rates", "sample_caps"))
        assert not any(words in message for words in PYTHON_WORDING), message

    def test_a_bad_configure_value_names_the_option_and_what_is_kept(self, caplog: pytest.LogCaptureFixture) -> None:
        """configure(max_queue='abc') says so and keeps 20000, without Python's int() wording."""
        with_overrides(TrackerConfig(), {"max_queue": "abc"})
        (message,) = ours(caplog)
        assert message == ("gyrinx_tracker: ignoring configure(max_queue='abc') (expected a positive integer); "
                           "keeping 20000")

    def test_a_bad_standard_metric_interval_warns(self, caplog: pytest.LogCaptureFixture) -> None:
        """OTEL_METRIC_EXPORT_INTERVAL=abc is no longer ignored silently: it warns and 60 s is used."""
        assert metric_interval(TrackerConfig(), {"OTEL_METRIC_EXPORT_INTERVAL": "abc"}) == 60.0
        (message,) = ours(caplog)
        assert "OTEL_METRIC_EXPORT_INTERVAL='abc'" in message and "60 s" in message
        assert metric_interval(TrackerConfig(), {"OTEL_METRIC_EXPORT_INTERVAL": "250"}) == 0.25

    def test_every_warning_of_a_bad_run_has_the_one_prefix(self, caplog: pytest.LogCaptureFixture) -> None:
        """Input repairs, a bad variable and a drop all speak with the prefix 'gyrinx_tracker: '."""
        gyrinx_tracker.configure(exporter="console", global_providers="never", max_queue="x", local_metrics=False)
        gyrinx_tracker.track(None)  # type: ignore[arg-type]  # the bad input under test
        gyrinx_tracker.track("ok", n=-1)
        assert gyrinx_tracker.flush(5)
        messages = ours(caplog)
        assert len(messages) >= 3 and all(message.startswith("gyrinx_tracker: ") for message in messages), messages


class TestEachRepairVisible:
    @pytest.mark.parametrize(("calls", "expected"), [
        ([((None,), {}), ((123,), {})], ["event name (None)", "event name (123)"]),
        ([(("bad name!",), {}), (("other bad!",), {})], ["recorded as 'bad_name'", "recorded as 'other_bad'"]),
        ([(("a",), {"n": -1}), (("b",), {"n": -1})], ["(event 'a')", "(event 'b')"]),
    ])
    def test_different_repairs_of_one_cause_are_each_shown(self, calls: list[tuple[tuple[Any, ...], dict[str, Any]]],
                                                           expected: list[str], caplog: pytest.LogCaptureFixture) -> None:
        """track(None) then track(123), two bad names, n=-1 of two events: every one warns."""
        gyrinx_tracker.configure(exporter="console", global_providers="never", local_metrics=False)
        for args, kwargs in calls:
            gyrinx_tracker.track(*args, **kwargs)
        assert gyrinx_tracker.flush(5)
        messages = ours(caplog)
        for text in expected:
            assert any(text in message for message in messages), (text, messages)

    def test_a_second_events_catalogue_violation_is_shown(self, tmp_path: Path,
                                                          caplog: pytest.LogCaptureFixture) -> None:
        """Violations of two events (and two labels of one) each warn; only exact repeats are held back."""
        path = tmp_path / "events.json"
        schema = {"labels": {"properties": {"status": {"type": "integer"}, "method": {"type": "string"}}}}
        path.write_text(json.dumps({"events": {"api_call": schema, "page_view": schema}}), encoding="utf-8")
        gyrinx_tracker.configure(exporter="console", global_providers="never", local_metrics=False, catalogue=path)
        gyrinx_tracker.track("api_call", status="x")
        gyrinx_tracker.track("api_call", method=3)
        gyrinx_tracker.track("page_view", status="y")
        gyrinx_tracker.track("page_view", status="y")  # the same violation again: held back, counted
        assert gyrinx_tracker.flush(5)
        labels = ours(caplog, "label ")
        assert any("'status' of event 'api_call'" in m for m in labels)
        assert any("'method' of event 'api_call'" in m for m in labels)
        assert any("'status' of event 'page_view'" in m for m in labels)
        assert len(labels) == 3, labels
        assert gyrinx_tracker.stats()["warnings_suppressed"] == 1


class TestSuppressed:
    def test_repeats_are_counted_in_stats_and_reported(self, caplog: pytest.LogCaptureFixture) -> None:
        """Five track(None): one warning, four suppressed in stats(), and the exit report says four."""
        gyrinx_tracker.configure(exporter="console", global_providers="never", local_metrics=False)
        for _ in range(5):
            gyrinx_tracker.track(None)  # type: ignore[arg-type]  # the bad input under test
        assert gyrinx_tracker.flush(5)
        assert len(ours(caplog, "event name (None)")) == 1
        assert gyrinx_tracker.stats()["warnings_suppressed"] == 4
        _diagnostics.report_suppressed()
        (report,) = ours(caplog, "suppressed since")
        assert report == ("gyrinx_tracker: 4 similar warnings suppressed since their last report "
                          "(by cause: input:invalid_event_name 4)")
        _diagnostics.report_suppressed()
        assert len(ours(caplog, "suppressed since")) == 1  # reported once

    def test_a_flood_of_distinct_bad_names_stays_bounded(self, caplog: pytest.LogCaptureFixture) -> None:
        """200 different bad names: at most KEYS_PER_CAUSE warnings of their own and one shared; the rest counted."""
        gyrinx_tracker.configure(exporter="console", global_providers="never", local_metrics=False)
        for index in range(200):
            gyrinx_tracker.track(f"bad name {index}!")
        assert gyrinx_tracker.flush(5)
        shown = len(ours(caplog, "is not a snake_case name"))
        assert shown == _diagnostics.KEYS_PER_CAUSE + 1
        assert gyrinx_tracker.stats()["warnings_suppressed"] == 200 - shown
