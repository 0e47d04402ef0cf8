"""The catalogue's JSON Schema subset against a reference validator: ``jsonschema``, Draft 2020-12.

Hypothesis draws label schemas made only of what ``_schema`` accepts (every keyword and annotation
of the subset) and label dicts of the kinds the sanitizer hands the catalogue: str, int within
±2**53, finite float, bool, None, and lists and dicts of those (NaN, the infinities and larger ints
reach it as strings, which ``TestWhatReachesTheValidator`` pins). Every labels dict must get
``jsonschema``'s verdict from the catalogue's real path (a file read by ``_catalogue.load``, then
``Catalogue.review``: remembered verdicts, the generated function, the per-label checks), and from
the generated function and the per-label checks each on their own. The catalogue names no
``$schema``; its keywords are those of draft 6 and later (``exclusiveMinimum`` is a number), so the
reference is the current draft, 2020-12. Schemas outside the subset must be refused when loaded,
and every schema the subset accepts must be valid by the draft's meta-schema.

What this comparison cannot see: both validators run ``pattern`` with Python's ``re``, so where
Python's dialect differs from ECMA-262, which JSON Schema names (``$`` before a final newline,
``\\d`` matching non-ASCII digits), they agree with each other, not with the specification.

Deliberate differences are tests of their own (``TestDeliberateDifferences``), not exceptions
hidden in the comparison.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from gyrinx_tracker import _guard
from gyrinx_tracker._catalogue import catalogue as _catalogue
from gyrinx_tracker._catalogue.schema import (
    ANNOTATIONS,
    OBJECT_KEYWORDS,
    VALUE_KEYWORDS,
    SchemaError,
    object_schema,
    value_check,
    value_rules,
)
from gyrinx_tracker._config import TrackerConfig
from gyrinx_tracker._core.event import DROPPED_LABELS, Event
from gyrinx_tracker._core.plain import MAX_SAFE_INT
from gyrinx_tracker._core.sanitize import Sanitizer

# The file runs in the fast unit suite: its tests take about 3.5 s on this 2-core machine, shared.
REFERENCE = settings(max_examples=120, deadline=None, database=None)
QUICK = settings(REFERENCE, max_examples=80)

TYPE_NAMES = ["string", "integer", "number", "boolean", "null", "array", "object"]
# Label names: a few, so that properties, required names and the labels given overlap.
NAMES = ["a", "b", "é", "a b"]

# -- label values, as the sanitizer leaves them --------------------------------------------------

INTS = st.integers(-MAX_SAFE_INT, MAX_SAFE_INT) | st.sampled_from([0, 1, -1, 2, 3, MAX_SAFE_INT, -MAX_SAFE_INT])
FLOATS = st.floats(allow_nan=False, allow_infinity=False) | st.sampled_from(
    [0.0, -0.0, 1.0, 2.0, 2.5, 3.0, 1e20, float(MAX_SAFE_INT), 1.7976931348623157e308, 5e-324])
STRINGS = st.text(max_size=6) | st.sampled_from(["", "a", "ab", "abc", "b", "é", "😀", "a😀", "😀😀😀", "12", "٣", "\n"])
# Values Python and JSON compare differently (True == 1 == 1.0 in Python): drawn often, so they meet.
CONFUSABLE = st.sampled_from([0, 1, -1, 2, True, False, 0.0, -0.0, 1.0, 2.0, None, "", "a", "1"])
SCALARS = CONFUSABLE | st.none() | st.booleans() | INTS | FLOATS | STRINGS
KEYS = st.sampled_from(["a", "b", ""]) | STRINGS
VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(KEYS, inner, max_size=3),
                      max_leaves=4)

# -- label schemas of the subset -------------------------------------------------------------------

# Patterns with strings around them (matching or not): drawn at random, few strings would decide.
PATTERNS: dict[str, list[str]] = {
    "^a": ["a", "ab", "ba", ""],
    "b": ["abc", "a", "B"],
    "^[0-9]+$": ["12", "12\n", "", "٣", "1a"],
    "^\\d+$": ["٣", "3", "x"],
    "^.$": ["😀", "é", "ab", "\n", ""],
    "é": ["café", "cafe"],
    "^$": ["", "\n", "a"],
    "^[a-z_]{2,4}$": ["ab", "a", "abcde", "a_b"],
}
# Bounds past 2**53 too: a catalogue may write any JSON number, and most such ints are no float.
# Hypothesis draws round numbers, so ints between two floats are made (a float plus a small int);
# ints past the float range, which no label reaches, are among the fixed ones.
BETWEEN_FLOATS = st.builds(lambda near, offset: int(near) + offset, st.floats(2.0**53, 1e300), st.integers(-(2**20), 2**20))
BIG = st.integers(MAX_SAFE_INT, 2**80) | BETWEEN_FLOATS
BOUNDS = (INTS | FLOATS | BIG | BIG.map(lambda bound: -bound)
          | st.sampled_from([MAX_SAFE_INT + 1, 10**20, 10**20 + 1, 10**20 - 1, -(10**20 + 1), 10**400, -(10**400)]))
# Allowed values: often lists and dicts of confusable values, where Python's == is not JSON's.
COMPOUNDS = st.lists(CONFUSABLE, min_size=1, max_size=2) | st.dictionaries(KEYS, CONFUSABLE, min_size=1, max_size=2)
CONSTANTS = VALUES | COMPOUNDS | st.lists(COMPOUNDS, min_size=1, max_size=2)
ARGUMENTS: dict[str, st.SearchStrategy[Any]] = {
    "type": st.sampled_from(TYPE_NAMES) | st.lists(st.sampled_from(TYPE_NAMES), min_size=1, max_size=3, unique=True),
    "enum": st.lists(CONSTANTS, min_size=1, max_size=3),
    "const": CONSTANTS,
    "pattern": st.sampled_from(sorted(PATTERNS)),
    "minLength": st.integers(0, 4),
    "maxLength": st.integers(0, 4),
    "minimum": BOUNDS,
    "maximum": BOUNDS,
    "exclusiveMinimum": BOUNDS,
    "exclusiveMaximum": BOUNDS,
    "description": st.text(max_size=4),
    "title": st.text(max_size=4),
    "$comment": st.text(max_size=4),
    "examples": st.lists(VALUES, max_size=2),
    "default": VALUES,
    "deprecated": st.booleans(),
}
# A few keywords per label: with all of them almost nothing would pass, and passing is half the test.
# The keywords that decide are drawn twice as often as the annotations, which must only change nothing.
KEYWORD_DRAWS = sorted(ARGUMENTS) + sorted(set(ARGUMENTS) - ANNOTATIONS)
VALUE_SCHEMAS = st.lists(st.sampled_from(KEYWORD_DRAWS), max_size=3, unique=True).flatmap(
    lambda keywords: st.fixed_dictionaries({keyword: ARGUMENTS[keyword] for keyword in keywords}))
OBJECT_ARGUMENTS: dict[str, st.SearchStrategy[Any]] = {
    "type": st.just("object"),
    "required": st.lists(st.sampled_from(NAMES), max_size=2, unique=True),
    "additionalProperties": st.booleans(),
    **{keyword: ARGUMENTS[keyword] for keyword in ANNOTATIONS},
}
OBJECT_SCHEMAS = st.fixed_dictionaries({"properties": st.dictionaries(st.sampled_from(NAMES), VALUE_SCHEMAS, max_size=3)},
                                       optional=OBJECT_ARGUMENTS)


def reachable(value: Any) -> bool:
    """Whether the sanitizer can hand the catalogue this number (an int within 2**53, a finite float)."""
    if type(value) is int:
        return -MAX_SAFE_INT <= value <= MAX_SAFE_INT
    return type(value) is not float or math.isfinite(value)


def twins(value: Any) -> list[Any]:
    """Values equal to ``value`` in Python: the first equal in JSON too (1 and 1.0), the second not (1 and True)."""
    kind = type(value)
    if kind is bool:
        return [int(value), float(value)]
    if kind is int:
        return [float(value), *([bool(value)] if value in (0, 1) else [])]
    if kind is float and value.is_integer() and abs(value) <= MAX_SAFE_INT:
        return [int(value), *([bool(value)] if value in (0, 1) else [])]
    if kind is list or kind is dict:  # every member replaced by its first twin, then by its last
        items = value.items() if kind is dict else enumerate(value)
        pairs = [(key, twins(item) or [item]) for key, item in items]
        made = [{key: options[which] for key, options in pairs} for which in (0, -1)]
        return made if kind is dict else [list(each.values()) for each in made]
    return []


def around(bound: int | float) -> list[Any]:
    """Numbers at, just inside and just outside a bound: as int, and as the nearest floats (an int
    past 2**53 lies between two floats, and is neither)."""
    near: list[Any] = [bound]
    if type(bound) is int:
        near += [bound - 1, bound + 1]
    if -sys.float_info.max <= bound <= sys.float_info.max:
        nearest = float(bound)
        near += [nearest, math.nextafter(nearest, -math.inf), math.nextafter(nearest, math.inf)]
    return [value for value in near if reachable(value)]


def candidates(rule: dict[str, Any]) -> list[Any]:
    """Label values likely to sit on the edge of ``rule``: its own constants, their twins, its bounds,
    and the numbers a boolean equals in Python."""
    found: list[Any] = [0, 1, 0.0, 1.0]
    for item in [*rule.get("enum", []), *([rule["const"]] if "const" in rule else [])]:
        found += [item, *twins(item)]
    for key in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        if key in rule:
            found += around(rule[key])
    for key in ("minLength", "maxLength"):
        if key in rule:
            found += [text * count for text in ("a", "😀") for count in range(max(rule[key] - 1, 0), rule[key] + 2)]
    found += PATTERNS.get(rule.get("pattern", ""), [])
    return [value for value in found if reachable(value)]


# A value of each JSON type, and the numbers a boolean equals in Python (0.0 and 1.0: integers too).
ONE_OF_EACH = ["x", 0, 1, 3, 0.0, 1.0, 2.5, True, False, None, [1], {"a": 1}]


def edge_values(rule: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Values for a label under ``rule``: on its edges, one of each JSON type, or any value."""
    edges = candidates(rule)
    return (st.sampled_from(edges) if edges else st.nothing()) | st.sampled_from(ONE_OF_EACH) | SCALARS | VALUES


def values_and_twins(rule: dict[str, Any]) -> st.SearchStrategy[list[Any]]:
    """A few values for ``rule``, each followed by itself and its twins (what remembered verdicts must tell apart)."""
    return st.lists(edge_values(rule), min_size=1, max_size=3).map(
        lambda values: [each for value in values for each in (value, value, *twins(value))])


@st.composite
def schema_and_label_sets(draw: st.DrawFn) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """An object schema and a few labels dicts for it, checked in order: each dict is followed by its
    values' twins (1.0 for 1, then True for 1), which meet the verdicts remembered from the first."""
    schema = draw(OBJECT_SCHEMAS)
    properties: dict[str, Any] = schema.get("properties", {})
    values = {name: edge_values(properties.get(name, {})) for name in NAMES}
    label_sets = []
    for _ in range(draw(st.integers(1, 3))):
        first = {name: draw(values[name]) for name in draw(st.lists(st.sampled_from(NAMES), min_size=1, unique=True))}
        label_sets += [first, *({name: (twins(value) or [value])[which] for name, value in first.items()} for which in (0, -1))]
    return schema, label_sets


# -- the paths a verdict takes --------------------------------------------------------------------


@pytest.fixture(scope="module")
def catalogue_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One folder for the module's catalogue files (Hypothesis runs many examples in one test)."""
    return tmp_path_factory.mktemp("catalogue")


def load_entry(directory: Path, labels_schema: dict[str, Any]) -> _catalogue.Catalogue:
    """The schema as one entry, ``e``, of a catalogue file read as the tracker reads it."""
    path = directory / "events.json"
    path.write_text(json.dumps({"events": {"e": {"labels": labels_schema}}}), encoding="utf-8")
    return _catalogue.load(str(path))


def reviewed_valid(catalogue: _catalogue.Catalogue, labels: dict[str, Any]) -> bool:
    """The verdict of ``Catalogue.review``, the check the pipeline runs on each event (strict mode too)."""
    problems = catalogue.review(Event("e", 1, None, labels))
    assert {cause for cause, _ in problems} <= {"catalogue_label"}, problems
    assert _guard.counts().get("catalogue", 0) == 0  # review() answers "valid" when the check raises: it must not
    return not problems


def reference(schema: dict[str, Any]) -> Draft202012Validator:
    """jsonschema's validator for ``schema``, which must be valid by the draft's meta-schema."""
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def reference_valid(schema: dict[str, Any], labels: Any) -> bool:
    return bool(reference(schema).is_valid(labels))


def verdicts(catalogue: _catalogue.Catalogue, labels: dict[str, Any]) -> dict[str, bool]:
    """Each path's verdict on one labels dict: ``review`` (at first sight, then from what it remembered),
    the generated function alone and the per-label checks alone."""
    spec = catalogue.spec_for("e")
    assert spec is not None
    by_rules = dataclasses.replace(spec.labels, passes=lambda labels: False)  # problems() then runs every check
    return {"review": reviewed_valid(catalogue, labels), "review again": reviewed_valid(catalogue, labels),
            "generated": spec.labels.passes(labels), "per label": not by_rules.problems(labels)}


def assert_rule_agrees(rule: dict[str, Any], values: list[Any]) -> None:
    """The per-label check and the generated function of ``rule`` give jsonschema's verdict on each value."""
    validator = Draft202012Validator(rule)  # rules of these generators meet the meta-schema in test_every_path_...
    check = value_check(rule, "x")
    passes = object_schema({"properties": {"k": rule}}, "x").passes
    for value in values:  # twice through the generated function: the second meets remembered pattern matches
        expected = validator.is_valid(value)
        assert (check(value) is None, passes({"k": value}), passes({"k": value})) == (expected,) * 3, value


def agreeing(valid: bool) -> dict[str, bool]:
    return dict.fromkeys(("review", "review again", "generated", "per label"), valid)


# Divergences the comparison found, kept as they were found: (labels schema, labels, valid by JSON Schema).
FOUND: list[tuple[dict[str, Any], dict[str, Any], bool]] = [
    # enum and const compared lists and dicts with Python's ==, where True == 1 at any depth.
    ({"properties": {"a": {"enum": [[True]]}}}, {"a": [1]}, False),
    ({"properties": {"a": {"const": {"b": 1}}}}, {"a": {"b": True}}, False),
    ({"properties": {"a": {"enum": [[0, {"b": [False]}]]}}}, {"a": [0.0, {"b": [0]}]}, False),
    ({"properties": {"a": {"enum": [[1]]}}}, {"a": [1.0]}, True),  # 1.0 is 1 in JSON, also inside a list
    # Bounds were converted to float, rounding ints past 2**53: exact in JSON Schema, and in Python.
    ({"properties": {"a": {"exclusiveMaximum": MAX_SAFE_INT + 1}}}, {"a": MAX_SAFE_INT}, True),
    ({"properties": {"a": {"exclusiveMaximum": 10**20 + 1}}}, {"a": 1e20}, True),
    ({"properties": {"a": {"maximum": 10**20 - 1}}}, {"a": 1e20}, False),
    ({"properties": {"a": {"minimum": 10**20 + 1}}}, {"a": 1e20}, False),
    # A bound past the float range made loading fail with OverflowError instead of working.
    ({"properties": {"a": {"maximum": 10**400}}}, {"a": 1.7976931348623157e308}, True),
    ({"properties": {"a": {"exclusiveMinimum": -(10**400)}}}, {"a": -MAX_SAFE_INT}, True),
]


class TestSameVerdictAsJsonSchema:
    @REFERENCE
    @given(schema_and_label_sets())
    @example(({"properties": {"a": {"enum": [[True]]}}}, [{"a": [1]}, {"a": [True]}]))
    @example(({"properties": {"a": {"exclusiveMaximum": 10**20 + 1}}}, [{"a": 1e20}, {"a": math.nextafter(1e20, math.inf)}]))
    @example(({"properties": {"a": {"type": "integer"}}, "required": ["a"], "additionalProperties": False},
              [{"a": 1}, {"a": True}, {"a": 1.0}, {"a": 1, "b": 1}, {}]))
    def test_every_path_gives_the_reference_verdict(self, catalogue_dir: Path,
                                                    case: tuple[dict[str, Any], list[dict[str, Any]]]) -> None:
        """Review (first sight, then remembered), the generated function and the per-label checks give jsonschema's verdict."""
        schema, label_sets = case
        validator = reference(schema)
        catalogue = load_entry(catalogue_dir, schema)
        for labels in label_sets:  # one catalogue: each labels dict meets what the ones before left remembered
            assert verdicts(catalogue, labels) == agreeing(validator.is_valid(labels)), labels

    @REFERENCE
    @given(VALUE_SCHEMAS.flatmap(lambda rule: st.tuples(st.just(rule), values_and_twins(rule))))
    def test_each_label_rule_gives_the_reference_verdict(self, catalogue_dir: Path, case: tuple[dict[str, Any], list[Any]]) -> None:
        """One label's rule: every path gives jsonschema's verdict on each value in turn, twins after the values they equal in Python."""
        rule, values = case
        assert_rule_agrees(rule, values)
        validator = Draft202012Validator(rule)
        catalogue = load_entry(catalogue_dir, {"properties": {"k": rule}})
        for value in values:
            assert verdicts(catalogue, {"k": value}) == agreeing(validator.is_valid(value)), value

    @QUICK
    @given(st.sampled_from(["minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"]),
           BOUNDS.flatmap(lambda bound: st.tuples(st.just(bound), st.lists(st.sampled_from([*around(bound), 0, -1.5, 2]),
                                                                                min_size=1, max_size=4))))
    def test_numbers_meet_their_bounds_exactly(self, keyword: str, case: tuple[int | float, list[Any]]) -> None:
        """A number at, just past or short of a bound, int or float, gets jsonschema's verdict, however large the bound."""
        bound, values = case
        assert_rule_agrees({keyword: bound}, values)

    @QUICK
    @given(st.sampled_from(["enum", "const"]),
           CONSTANTS.flatmap(lambda item: st.tuples(st.just(item), st.lists(st.sampled_from([item, *twins(item)]) | VALUES,
                                                                              min_size=1, max_size=4))))
    def test_allowed_values_compare_as_json(self, keyword: str, case: tuple[Any, list[Any]]) -> None:
        """A value equal to an allowed one in Python but not in JSON (True and 1, also inside lists and dicts) gets jsonschema's verdict."""
        item, values = case
        assert_rule_agrees({keyword: [item] if keyword == "enum" else item}, values)

    @pytest.mark.parametrize(("schema", "labels", "valid"), FOUND)
    def test_the_divergences_found_stay_fixed(self, catalogue_dir: Path, schema: dict[str, Any],
                                             labels: dict[str, Any], valid: bool) -> None:
        """Each divergence the comparison found gets jsonschema's verdict, now from every path."""
        assert reference_valid(schema, labels) is valid
        assert verdicts(load_entry(catalogue_dir, schema), labels) == agreeing(valid)

    def test_a_reason_names_an_exact_bound(self) -> None:
        """A bound past 2**53 is shown as given in the reason, not rounded to the float that was compared."""
        problems = object_schema({"properties": {"a": {"maximum": 10**20 - 1}}}, "x").problems({"a": 1e20})
        assert problems == [("a", f"must be <= {10**20 - 1}")]


class TestWhatReachesTheValidator:
    def test_nan_infinities_and_big_ints_reach_the_catalogue_as_strings(self) -> None:
        """The sanitizer turns NaN, the infinities and ints past 2**53 into strings, so the value strategies leave them out."""
        raw = {"nan": math.nan, "inf": math.inf, "ninf": -math.inf, "big": MAX_SAFE_INT + 1, "small": -MAX_SAFE_INT - 1,
               "inside": [math.nan, {"k": 2**60}], "edge": MAX_SAFE_INT}
        labels = Sanitizer(TrackerConfig()).event("e", 1, None, raw).labels
        assert labels == {"nan": "nan", "inf": "inf", "ninf": "-inf", "big": str(MAX_SAFE_INT + 1),
                          "small": str(-MAX_SAFE_INT - 1), "inside": ["nan", {"k": str(2**60)}], "edge": MAX_SAFE_INT}


class TestDeliberateDifferences:
    def test_the_trackers_own_label_passes_a_closed_schema(self, catalogue_dir: Path) -> None:
        """``_dropped_labels``, added by the tracker when it drops labels, passes ``additionalProperties: false``; jsonschema refuses it."""
        schema = {"properties": {"a": {"type": "string"}}, "additionalProperties": False}
        labels = {"a": "x", DROPPED_LABELS: 3}
        assert not reference_valid(schema, labels)
        catalogue = load_entry(catalogue_dir, schema)
        assert reviewed_valid(catalogue, labels) and reviewed_valid(catalogue, labels)
        assert not reviewed_valid(catalogue, {"a": "x", "b": 3})  # any other extra label is refused, as by jsonschema

    @pytest.mark.parametrize("schema", [
        {"minLength": 2.0},  # an integer in JSON Schema; the subset takes counts only as JSON integers
        {"maxLength": 0.0},
        {"enum": []},  # valid since draft 6, and nothing passes it: refused as a mistake
    ])
    def test_valid_json_schema_outside_the_subset_is_refused(self, schema: dict[str, Any]) -> None:
        """These label schemas are valid Draft 2020-12 but not the subset: refused when loaded, never given other verdicts."""
        Draft202012Validator.check_schema(schema)
        with pytest.raises(SchemaError):
            value_rules(schema, "x")

    @pytest.mark.parametrize("schema", [
        {"properties": {"a": True}},  # boolean schemas
        {"additionalProperties": {"type": "string"}},
        {"type": ["object"]},
        {"type": "object", "minProperties": 1},
    ])
    def test_valid_labels_schemas_outside_the_subset_are_refused(self, schema: dict[str, Any]) -> None:
        """These labels schemas are valid Draft 2020-12 but not the subset: refused when loaded."""
        Draft202012Validator.check_schema(schema)
        with pytest.raises(SchemaError):
            object_schema(schema, "x")


# Arguments to try for each keyword: right and wrong types, edge numbers, NaN and the infinities
# (Python's json module reads NaN and Infinity, and 1e400 as infinity), bad regular expressions.
ANY_ARGUMENT = (VALUES | st.floats() | st.integers() | st.text(max_size=4)
                | st.sampled_from(["(", "[a-", "\\p{L}", "a{2,1}", "str", "int", "", [], {}, ["string", "string"],
                                   {"string": 1}, ["string", 1], 1.5, -1, 2.0, True, math.nan, math.inf])
                | st.lists(st.sampled_from([*TYPE_NAMES, "str", "int"]), max_size=3))
VALUE_KEYWORD_NAMES = sorted(VALUE_KEYWORDS)
OBJECT_KEYWORD_NAMES = sorted(OBJECT_KEYWORDS)
# Keywords of Draft 2020-12 the subset does not take.
OTHER_KEYWORDS = ["format", "multipleOf", "items", "prefixItems", "contains", "minItems", "uniqueItems", "allOf", "anyOf",
                  "oneOf", "not", "if", "$ref", "$defs", "dependentRequired", "minProperties", "patternProperties",
                  "propertyNames", "unevaluatedProperties", "contentEncoding", "readOnly", "$id", "$schema"]


def refused(check: Callable[[Any, str], object], schema: Any) -> bool:
    """True when loading refuses ``schema`` with SchemaError; any other exception fails the test."""
    try:
        check(schema, "x")
    except SchemaError:
        return True
    return False


class TestOutsideTheSubset:
    @pytest.mark.parametrize("keyword", OTHER_KEYWORDS)
    def test_a_keyword_outside_the_subset_is_refused_when_loaded(self, tmp_path: Path, keyword: str) -> None:
        """Each other keyword of the draft is refused, in a label's schema and in the labels schema, by name."""
        refusal = re.escape(f"unsupported keyword(s) {keyword} ")
        with pytest.raises(SchemaError, match=refusal):
            value_rules({keyword: {}}, "x")
        with pytest.raises(SchemaError, match=refusal):
            object_schema({keyword: {}}, "x")
        with pytest.raises(_catalogue.CatalogueError, match=refusal):
            load_entry(tmp_path, {"properties": {"a": {keyword: {}}}})

    @pytest.mark.parametrize("schema", [
        {"type": {"string": 1}}, {"type": ["string", "string"]}, {"type": []}, {"type": "str"}, {"type": ["string", None]},
        {"enum": "a"}, {"minLength": -1}, {"minLength": True}, {"maxLength": 1.5}, {"maximum": "1"}, {"minimum": True},
        {"maximum": math.nan}, {"exclusiveMinimum": math.inf}, {"minimum": -math.inf}, {"pattern": "("}, {"pattern": 5},
        {"description": 5}, {"title": None}, {"$comment": []}, {"examples": "a"}, {"deprecated": "yes"},
    ])
    def test_a_bad_argument_is_refused_when_loaded(self, schema: dict[str, Any]) -> None:
        """An argument JSON Schema does not allow (or a non-finite bound, which JSON cannot write) is refused, not half-enforced."""
        with pytest.raises(SchemaError):
            value_rules(schema, "x")

    @pytest.mark.parametrize("schema", [
        {"required": ["a", "a"]}, {"required": "a"}, {"required": [1]}, {"properties": []}, {"type": "array"},
        {"additionalProperties": 0}, {"description": 1}, {"properties": {"a": {"type": "text"}}},
    ])
    def test_a_bad_labels_schema_is_refused_when_loaded(self, schema: dict[str, Any]) -> None:
        """A labels schema with a bad ``required``, ``properties``, ``type``, ``additionalProperties`` or annotation is refused."""
        with pytest.raises(SchemaError):
            object_schema(schema, "x")

    @QUICK
    @given(st.sampled_from(VALUE_KEYWORD_NAMES), ANY_ARGUMENT)
    def test_every_label_schema_the_subset_takes_is_valid_json_schema(self, keyword: str, argument: Any) -> None:
        """A label schema is refused with SchemaError or valid by the draft's meta-schema: never taken when jsonschema would not."""
        schema = {keyword: argument}
        if not refused(value_rules, schema):
            Draft202012Validator.check_schema(schema)

    @QUICK
    @given(st.sampled_from(OBJECT_KEYWORD_NAMES), ANY_ARGUMENT | st.dictionaries(st.sampled_from(NAMES), ANY_ARGUMENT, max_size=2))
    def test_every_labels_schema_the_subset_takes_is_valid_json_schema(self, keyword: str, argument: Any) -> None:
        """A labels schema is refused with SchemaError or valid by the draft's meta-schema."""
        schema = {keyword: argument}
        if not refused(object_schema, schema):
            Draft202012Validator.check_schema(schema)


class TestTheStrategies:
    def test_they_draw_every_keyword_of_the_subset(self) -> None:
        """The schema strategies draw every keyword and annotation ``_schema`` accepts, so none escapes the comparison."""
        assert set(ARGUMENTS) == VALUE_KEYWORDS
        assert {"properties", *OBJECT_ARGUMENTS} == OBJECT_KEYWORDS
