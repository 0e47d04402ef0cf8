"""Entries of one catalogue that describe their labels alike share one compiled schema and fast check,
with every answer still the entry's own; and a pattern label past its remembered matches stays exact."""

from __future__ import annotations

import gc
import json
from pathlib import Path
from typing import Any

import pytest

from gyrinx_tracker._catalogue import catalogue as _catalogue
from gyrinx_tracker._catalogue import compiled as _schema_compile
from gyrinx_tracker._catalogue.schema import object_schema

LABELS: dict[str, Any] = {
    "type": "object",
    "properties": {"method": {"enum": ["GET", "POST"]}, "id": {"type": "string", "pattern": "^r[0-9]+$"}},
    "required": ["method"],
    "additionalProperties": False,
}


def write(tmp_path: Path, events: dict[str, Any]) -> str:
    path = tmp_path / "events.json"
    path.write_text(json.dumps({"events": events}), encoding="utf-8")
    return str(path)


class TestSharedChecks:
    def test_entries_with_the_same_labels_and_value_rules_share_one_check(self, tmp_path: Path) -> None:
        """Same labels and value rules: one compiled schema and one fast check; other value rules: their own check."""
        catalogue = _catalogue.load(write(tmp_path, {
            "a": {"labels": LABELS, "value": True}, "b": {"labels": dict(reversed(LABELS.items())), "value": True},
            "c": {"labels": LABELS}, "d": {"labels": {**LABELS, "required": []}, "value": True}}))
        a, b, c, d = (catalogue.spec_for(name) for name in "abcd")
        assert a is not None and b is not None and c is not None and d is not None
        assert a.labels is b.labels is c.labels and a.accepts is b.accepts
        assert c.accepts is not a.accepts and d.labels is not a.labels

    def test_a_shared_check_keeps_each_entrys_value_rule(self, tmp_path: Path) -> None:
        """An entry that takes no value refuses one even when an entry with the same labels takes it."""
        catalogue = _catalogue.load(write(tmp_path, {"a": {"labels": LABELS, "value": True}, "c": {"labels": LABELS}}))
        a, c = catalogue.spec_for("a"), catalogue.spec_for("c")
        assert a is not None and c is not None
        for _ in range(3):  # the second and third calls answer from remembered verdicts
            assert a.accepts({"method": "GET"}, 1.0) and not c.accepts({"method": "GET"}, 1.0)
            assert c.accepts({"method": "GET"}, None)

    def test_a_hundred_alike_entries_add_few_objects_for_the_garbage_collector(self, tmp_path: Path) -> None:
        """The collector walks what a catalogue keeps: alike entries add about one tracked object each, not one copy of the checks each."""
        path = write(tmp_path, {f"event_{i}": {"labels": LABELS, "value": True} for i in range(100)})
        _catalogue.load(path)  # imports and caches warmed outside the count
        gc.collect()
        before = len(gc.get_objects())
        catalogue = _catalogue.load(path)
        gc.collect()
        assert len(gc.get_objects()) - before < 3 * len(catalogue)


class TestRememberedMatches:
    def test_a_pattern_label_past_its_remembered_matches_is_still_searched(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Once a pattern's remembered matches are full, each value is searched: passing and failing ids keep their verdicts."""
        monkeypatch.setattr(_schema_compile, "MATCHED_LIMIT", 4)
        compiled = object_schema({"properties": {"k": {"pattern": "^r[0-9]+$"}}}, "x")
        assert all(compiled.passes({"k": f"r{i}"}) for i in range(10))
        assert compiled.passes({"k": "r1"}) and compiled.passes({"k": "r99"})
        assert not compiled.passes({"k": "x1"}) and not compiled.passes({"k": 5 * "x"})
        assert compiled.passes({"k": 5})  # a pattern applies to strings only

    def test_a_whole_bound_compares_as_json_schema_says(self) -> None:
        """Bounds given as whole numbers (kept as ints by the generated function) hold for ints and floats alike."""
        compiled = object_schema({"properties": {"k": {"minimum": 100, "exclusiveMaximum": 599.0}}}, "x")
        assert [compiled.passes({"k": value}) for value in (100, 99.5, 100.0, 598.9, 599, 599.0, 99)] == [
            True, False, True, True, False, False, False]
