"""Remembered verdicts (``_verdicts``): the catalogue's fast check gives the same answer as the full
review, for values remembered before, values equal to them under Python but not under JSON Schema,
values that cannot be remembered, and events that turn volatile."""

from __future__ import annotations

from typing import Any

import pytest

from gyrinx_tracker._catalogue import verdicts as _verdicts
from gyrinx_tracker._catalogue.schema import object_schema, value_check
from tests.unit.test_catalogue import KEYWORD_CASES

# (label schema, a value that passes and is remembered, a value equal to it in Python to try next)
LOOKALIKES: list[tuple[dict[str, Any], Any, Any]] = [
    ({"type": "integer"}, 1, True),  # True == 1, but a boolean is not an integer in JSON
    ({"type": "number"}, 0.0, False),
    ({"enum": [1, 2]}, 1, True),
    ({"type": "boolean"}, True, 1),
    ({"enum": [True, "x"]}, True, 1.0),
    ({"type": "integer", "minimum": 2}, 2, 2.0),  # both pass: 2.0 is an integer in JSON Schema
    ({"type": "string"}, "a", "a"),
]


def fast_check(schema: dict[str, Any], **options: Any) -> _verdicts.Accepts:
    compiled = object_schema({"properties": {"k": schema}, "required": ["k"], "additionalProperties": False}, "x")
    return _verdicts.accepting(compiled, **{"value_used": False, "value_required": False, **options})


def closed_over(accepts: _verdicts.Accepts) -> dict[str, Any]:
    """The fast check's state, read from its closure (the test looks at what it keeps)."""
    cells = [cell.cell_contents for cell in getattr(accepts, "__closure__", None) or ()]
    return dict(zip(accepts.__code__.co_freevars, cells, strict=True))


def by_rules(schema: dict[str, Any], value: Any) -> bool:
    return value_check(schema, "x")(value) is None


class TestSameAnswerAsTheFullCheck:
    @pytest.mark.parametrize(("schema", "value", "passes"), KEYWORD_CASES)
    def test_first_and_remembered_calls_agree_with_the_rules(self, schema: dict[str, Any], value: Any,
                                                              passes: bool) -> None:
        """A value's verdict is the rules' verdict on the first call and on every call after it."""
        accepts = fast_check(schema)
        assert [accepts({"k": value}, None) for _ in range(3)] == [passes] * 3

    @pytest.mark.parametrize(("schema", "remembered", "lookalike"), LOOKALIKES)
    def test_an_equal_value_of_another_json_type_is_checked_not_looked_up(
            self, schema: dict[str, Any], remembered: Any, lookalike: Any) -> None:
        """A value equal in Python to one that passed (True and 1, False and 0.0) gets its own JSON Schema verdict."""
        accepts = fast_check(schema)
        assert accepts({"k": remembered}, None)
        assert accepts({"k": remembered}, None)
        assert accepts({"k": lookalike}, None) is by_rules(schema, lookalike)

    def test_unhashable_values_are_checked_by_the_generated_function(self) -> None:
        """Lists and dicts cannot be remembered in a set; they still get the rules' verdict."""
        accepts = fast_check({"enum": [[1], "a"]})
        assert accepts({"k": [1]}, None) and accepts({"k": [1]}, None)
        assert not accepts({"k": [2]}, None)
        assert not accepts({"k": {"a": 1}}, None)

    def test_labels_and_value_rules_of_the_entry_both_apply(self) -> None:
        """Remembered labels do not excuse a missing required label, an extra label or a value the entry refuses."""
        accepts = fast_check({"type": "string"}, value_used=True, value_required=True)
        assert accepts({"k": "a"}, 1.0) and accepts({"k": "a"}, 1.0)
        assert not accepts({"k": "a"}, None)  # value required
        assert not accepts({}, 1.0)  # k required
        assert not accepts({"k": "a", "other": "a"}, 1.0)  # additionalProperties false
        takes_none = fast_check({"type": "string"})
        assert takes_none({"k": "a"}, None) and not takes_none({"k": "a"}, 2.0)


class TestBoundedMemory:
    def test_an_id_label_makes_the_event_volatile_and_answers_stay_exact(self) -> None:
        """Label sets that are mostly new stop being remembered; passing and failing ids keep their verdicts."""
        accepts = fast_check({"type": "string", "pattern": "^r[0-9]+$"})
        assert all(accepts({"k": f"r{i}"}, None) for i in range(3 * _verdicts.MISSES))
        state = closed_over(accepts)
        assert state["volatile"] is True
        assert len(state["passed"]) <= _verdicts.MISSES + 1
        assert accepts({"k": "r5"}, None) and not accepts({"k": "x5"}, None)

    def test_a_label_keeps_at_most_its_share_of_remembered_values(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Past ``PER_LABEL`` values of one label nothing more is remembered, and the answers stay exact."""
        monkeypatch.setattr(_verdicts, "PER_LABEL", 4)
        monkeypatch.setattr(_verdicts, "MISSES", 1_000)
        accepts = fast_check({"type": "string", "maxLength": 2})
        for _ in range(2):
            assert all(accepts({"k": f"{i}"}, None) for i in range(20))
            assert not accepts({"k": "abc"}, None)
        state = closed_over(accepts)
        assert len(state["passed"]) == 4
