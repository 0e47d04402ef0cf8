"""The event catalogue: validation off the caller's thread, strict mode at the call site, patterns,
a bad file that warns once and changes nothing else, and the catalogue's words in the metrics."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest

import gyrinx_tracker
from gyrinx_tracker import TrackerInputError, track
from gyrinx_tracker._catalogue import catalogue as _catalogue
from gyrinx_tracker._catalogue.schema import SchemaError, object_schema, value_check
from gyrinx_tracker.testing import capture_events

EXAMPLE = Path(__file__).parents[2] / "examples" / "events.json"

# (label schema, value, passes?) by the JSON Schema specification.
KEYWORD_CASES: list[tuple[dict[str, Any], Any, bool]] = [
    ({"type": "string"}, "x", True),
    ({"type": "string"}, 1, False),
    ({"type": "integer"}, 3, True),
    ({"type": "integer"}, 3.0, True),  # JSON Schema: a number with no fraction is an integer
    ({"type": "integer"}, 3.5, False),
    ({"type": "integer"}, True, False),  # a boolean is not a number in JSON
    ({"type": "number"}, 2.5, True),
    ({"type": ["string", "null"]}, None, True),
    ({"enum": [1, 2]}, True, False),
    ({"enum": [True]}, 1, False),
    ({"const": "a"}, "a", True),
    ({"pattern": "b"}, "abc", True),  # patterns are not anchored
    ({"pattern": "^b"}, "abc", False),
    ({"pattern": "^b"}, 5, True),  # pattern applies to strings only
    ({"minLength": 2, "maxLength": 3}, "abcd", False),
    ({"minimum": 0, "exclusiveMaximum": 10}, 10, False),
    ({"exclusiveMinimum": 0}, 0, False),
    ({"maximum": 5}, "not a number", True),
]


def catalogue_file(tmp_path: Path, events: dict[str, Any]) -> Path:
    path = tmp_path / "events.json"
    path.write_text(json.dumps({"events": events}), encoding="utf-8")
    return path


def warnings_about(caplog: pytest.LogCaptureFixture, text: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "gyrinx_tracker" and text in r.getMessage()]


class TestProductionValidation:
    def test_an_unknown_event_warns_once_and_is_kept(self, caplog: pytest.LogCaptureFixture) -> None:
        """Outside strict mode an event the catalogue does not know is exported, with one rate-limited warning."""
        with capture_events(strict=False, catalogue=EXAMPLE) as captured:
            for _ in range(20):
                track("page_viewed", page="home")
            assert len(captured.events) == 20
        (warning,) = warnings_about(caplog, "not in the catalogue")
        assert "'page_viewed'" in warning

    @pytest.mark.parametrize(("labels", "complaint"), [
        ({"endpoint": "/api/x", "method": "FETCH", "status": 200}, "label 'method'"),
        ({"endpoint": "/api/x", "method": "GET"}, "label 'status' of event 'api_call': required but missing"),
        ({"endpoint": "/home", "method": "GET", "status": 200}, "does not match '^/api/'"),
        ({"endpoint": "/api/x", "method": "GET", "status": 200, "user": "x"}, "label 'user'"),
        ({"endpoint": "/api/x", "method": "GET", "status": 700}, "must be <= 599"),
        ({"endpoint": "/api/x", "method": "GET", "status": "200"}, "expected integer, got string"),
    ])
    def test_labels_that_break_the_schema_warn_and_the_event_is_kept(
            self, labels: dict[str, Any], complaint: str, caplog: pytest.LogCaptureFixture) -> None:
        """Each broken label rule warns, naming the label and the rule but never the value; the event is exported."""
        with capture_events(strict=False, catalogue=EXAMPLE, sample_rates={"api_call": 1}) as captured:
            track("api_call", **labels)
            assert [event.labels for event in captured.events] == [labels]
        (warning,) = warnings_about(caplog, "label '")
        assert complaint in warning
        assert "FETCH" not in warning and "/home" not in warning

    def test_a_value_on_an_event_that_takes_none_warns(self, caplog: pytest.LogCaptureFixture) -> None:
        """``value`` on an event whose entry says it takes none is reported; a missing required value too."""
        with capture_events(strict=False, catalogue=EXAMPLE) as captured:
            track("user_login", value=3, method="password")
            track("operation_duration", operation="generate_report")
            assert len(captured.events) == 2
        assert warnings_about(caplog, "'user_login' takes no value")
        assert warnings_about(caplog, "'operation_duration' requires a value")

    def test_the_original_trackers_calls_pass_the_example_catalogue(self, caplog: pytest.LogCaptureFixture) -> None:
        """The calls of the original tracker's documentation are valid by examples/events.json."""
        with capture_events(catalogue=EXAMPLE, sample_rates={"*": 1.0, "api_call": 1}) as captured:
            track("user_login")
            track("api_call", n=5, endpoint="/api/v1/fighters", method="GET", status=200)
            track("feature_used", feature="bulk_import", user_type="premium", items_count=50)
            track("feature_used", feature="equipment_upgrade", list_id="42")
            track("error_occurred", error_type="ValidationError", endpoint="/lists/create", code=400)
            track("operation_duration", value=123.45, operation="generate_report")
            track("event_create_list", user_id="123")
            assert len(captured.events) == 7
        assert not warnings_about(caplog, "catalogue")


class TestStrictMode:
    def test_an_unknown_event_raises_at_the_call_site(self) -> None:
        """In strict mode (``capture_events``' default) an event missing from the catalogue raises."""
        with capture_events(catalogue=EXAMPLE), pytest.raises(TrackerInputError, match="'page_viewed' is not in"):
            track("page_viewed")

    def test_a_label_that_breaks_its_schema_raises_at_the_call_site(self) -> None:
        """A bad label raises ``TrackerInputError`` naming the label; a good call passes."""
        with capture_events(catalogue=EXAMPLE) as captured:
            with pytest.raises(TrackerInputError, match="label 'user_type'"):
                track("feature_used", feature="export", user_type="gold")
            track("feature_used", feature="export", user_type="free")
            assert [event.labels["user_type"] for event in captured.events] == ["free"]

    def test_a_deprecated_event_warns_in_strict_mode_but_does_not_raise(self, caplog: pytest.LogCaptureFixture) -> None:
        """Deprecation is news, not an error: strict mode warns and the event is exported."""
        with capture_events(catalogue=EXAMPLE) as captured:
            track("user_event", noun="list", verb="create", user_id="123", username="player1")
            assert len(captured.events) == 1
        (warning,) = warnings_about(caplog, "deprecated")
        assert "'user_event'" in warning

    def test_the_catalogue_path_comes_from_the_environment(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """``GYRINX_TRACKER_CATALOGUE`` names the file as ``configure(catalogue=...)`` does."""
        monkeypatch.setenv("GYRINX_TRACKER_CATALOGUE", str(EXAMPLE))
        with capture_events(), pytest.raises(TrackerInputError):
            track("not_catalogued")


class TestPatterns:
    @pytest.mark.parametrize("name", ["event_create_list", "event_update_fighter_equipment", "event_view_campaign"])
    def test_names_built_at_run_time_match_their_pattern(self, name: str) -> None:
        """``event_{verb}_{noun}`` covers every verb and noun, and its labels are checked."""
        with capture_events(catalogue=EXAMPLE) as captured:
            track(name, user_id="123")
            with pytest.raises(TrackerInputError, match="label 'user_id'"):
                track(name, user_id="player1")
            assert [event.event for event in captured.events] == [name]

    @pytest.mark.parametrize("name", ["event_create", "event__list", "an_event_create_list"])
    def test_a_name_that_does_not_fill_the_pattern_is_unknown(self, name: str) -> None:
        """Each placeholder needs at least one character and the whole name must match."""
        with capture_events(catalogue=EXAMPLE), pytest.raises(TrackerInputError, match="not in the catalogue"):
            track(name)

    def test_an_exact_entry_wins_over_a_pattern(self, tmp_path: Path) -> None:
        """A name listed exactly uses its own entry even when a pattern also matches it."""
        path = catalogue_file(tmp_path, {
            "event_{verb}_{noun}": {"labels": {"additionalProperties": False}},
            "event_login_user": {"labels": {"properties": {"method": {"type": "string"}}}},
        })
        with capture_events(catalogue=path) as captured:
            track("event_login_user", method="password")
            with pytest.raises(TrackerInputError):
                track("event_create_list", method="password")
            assert len(captured.events) == 1


class TestBadCatalogue:
    @pytest.mark.parametrize(("content", "complaint"), [
        (None, "cannot read it"),
        ("{not json", "cannot read it"),
        ('{"event": {}}', '"events" object'),
        ('{"events": {"a": {"status": "retired"}}}', "events.a.status"),
        ('{"events": {"a": {"labels": {"properties": {"k": {"format": "email"}}}}}}', "unsupported keyword(s) format"),
        ('{"events": {"a": {"labels": {"properties": {"k": {"pattern": "("}}}}}}', "bad 'pattern'"),
        ('{"events": {"a": {"sample_rate": 2}}}', "events.a.sample_rate"),
        ('{"events": {"a": {"colour": "red"}}}', "unknown key(s) colour"),
    ])
    def test_one_clear_warning_at_start_up_and_the_tracker_runs(
            self, tmp_path: Path, content: str | None, complaint: str, caplog: pytest.LogCaptureFixture) -> None:
        """A catalogue that cannot be used warns once, at configure(), saying why; events flow unchecked."""
        path = tmp_path / "events.json"
        if content is not None:
            path.write_text(content, encoding="utf-8")
        caplog.set_level(logging.WARNING, logger="gyrinx_tracker")
        with capture_events(catalogue=path) as captured:
            (warning,) = warnings_about(caplog, "cannot be used")
            assert complaint in warning and str(path) in warning
            track("anything_at_all", label="x")
            assert [event.event for event in captured.events] == ["anything_at_all"]
            assert gyrinx_tracker.stats()["dropped"] == 0
        assert len(warnings_about(caplog, "cannot be used")) == 1


    def test_a_bug_in_the_check_is_counted_and_the_event_still_goes_out(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Validation is advice: if it raises, the guard counts it and the event is exported."""
        def broken(self: _catalogue.Catalogue, name: str) -> None:
            raise RuntimeError("bug in the catalogue lookup")

        monkeypatch.setattr(_catalogue.Catalogue, "spec_for", broken)
        with capture_events(strict=False, catalogue=EXAMPLE) as captured:
            track("event_create_list", user_id="1")
            assert [event.event for event in captured.events] == ["event_create_list"]
            stats = gyrinx_tracker.stats()
        assert stats["internal_errors"].get("catalogue", 0) >= 1 and stats["dropped"] == 0


class TestCatalogueInMetricsAndSampling:
    def test_units_and_descriptions_flow_into_the_instruments(self, tmp_path: Path) -> None:
        """The histogram takes the catalogue's unit over the name rule, the counter its description."""
        path = catalogue_file(tmp_path, {"checkout": {"description": "A basket was paid for.",
                                                      "value": {"unit": "ms"}}})
        with capture_events(catalogue=path) as captured:
            track("checkout", value=250.0)
            units = {point.name: point.unit for point in captured.metric_points()}
            data = captured._metrics.latest
        descriptions = {m.name: m.description for rm in data.resource_metrics for sm in rm.scope_metrics
                        for m in sm.metrics} if data else {}
        assert units["tracker.checkout.value"] == "ms"  # the name rule alone would say "1"
        assert descriptions["tracker.checkout"] == "A basket was paid for."

    def test_the_catalogues_rate_applies_unless_the_variable_names_the_event(self) -> None:
        """``api_call`` has ``sample_rate`` 0.1 in the example; ``sample_rates`` overrides it."""
        calls = {"endpoint": "/api/x", "method": "GET", "status": 200}
        with capture_events(catalogue=EXAMPLE) as captured:
            for _ in range(200):
                track("api_call", **calls)
            kept = captured.events
            assert captured.count("api_call") == 200
        assert 0 < len(kept) < 100 and {event.body["sample_rate"] for event in kept} == {0.1}
        with capture_events(catalogue=EXAMPLE, sample_rates="api_call=1") as captured:
            for _ in range(200):
                track("api_call", **calls)
            assert len(captured.events) == 200


class TestSchemaSubset:
    @pytest.mark.parametrize(("schema", "value", "passes"), KEYWORD_CASES)
    def test_keywords_mean_what_json_schema_says(self, schema: dict[str, Any], value: Any, passes: bool) -> None:
        """Each supported keyword accepts and refuses as the JSON Schema specification does."""
        assert (value_check(schema, "x")(value) is None) is passes

    @pytest.mark.parametrize(("schema", "value"), [
        *((schema, value) for schema, value, _ in KEYWORD_CASES),
        ({"enum": ["a", "b"]}, ["a"]),  # unhashable values where a set lookup is made
        ({"type": "string", "enum": ["a"]}, {"a": 1}),
        ({"enum": [[1], "a"]}, [1]),
        ({"type": "integer", "enum": [1, 2]}, True),
        ({"type": ["integer", "boolean"], "enum": [1, True]}, True),
        ({"type": "string", "pattern": "^a", "maxLength": 3}, "abcd"),
        ({"type": ["string", "integer"], "pattern": "^a", "minimum": 3}, 2),
    ])
    def test_the_generated_function_agrees_with_the_per_label_checks(self, schema: dict[str, Any], value: Any) -> None:
        """The fast generated predicate and the checks that give reasons never disagree on pass/fail."""
        compiled = object_schema({"properties": {"k": schema}, "required": ["k"]}, "x")
        for _ in range(2):  # the second call goes through the remembered pattern matches
            assert compiled.passes({"k": value}) is (value_check(schema, "x")(value) is None)

    def test_additional_properties_default_to_allowed_as_in_json_schema(self) -> None:
        """Without ``additionalProperties: false`` unlisted labels pass; the tracker's own keys always do."""
        assert object_schema({"properties": {}}, "x").problems({"a": 1}) == []
        strict = object_schema({"additionalProperties": False}, "x", frozenset({"_dropped_labels"}))
        assert [key for key, _ in strict.problems({"a": 1, "_dropped_labels": 2})] == ["a"]

    def test_an_unsupported_keyword_is_refused_not_ignored(self) -> None:
        """A rule the validator cannot enforce must not look enforced."""
        with pytest.raises(SchemaError, match="format"):
            value_check({"type": "string", "format": "email"}, "x")
