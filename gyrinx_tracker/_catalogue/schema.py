"""A small JSON Schema validator for the subset an event catalogue uses to describe labels.

Why not the ``jsonschema`` package: the catalogue describes flat label values (a string from a
list, an integer in a range, a string matching a pattern), which twelve keywords cover; a
validator for them is a few closures, costs a fraction of a microsecond per label on the worker
thread, and adds no dependency to every application that tracks events. The subset keeps
JSON Schema's meaning for every keyword it accepts, so a catalogue's ``labels`` objects stay valid
JSON Schema that ``jsonschema`` (or any other validator) can check in CI; the suite checks both
against ``jsonschema`` itself (``tests/unit/test_schema_reference.py``). A keyword outside the
subset is refused when the catalogue is loaded, never silently ignored: a rule that looks enforced
must be enforced.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from gyrinx_tracker._catalogue.compiled import UNHASHABLE, Rules, compile_passes, in_compound

# A check returns None when the value passes, else why it does not (without echoing the value:
# warnings must never carry label values, which may be personal data).
Check = Callable[[Any], "str | None"]
ANNOTATIONS = frozenset({"description", "title", "examples", "$comment", "deprecated", "default"})
VALUE_KEYWORDS = frozenset({"type", "enum", "const", "pattern", "minLength", "maxLength", "minimum",
                            "maximum", "exclusiveMinimum", "exclusiveMaximum"}) | ANNOTATIONS
OBJECT_KEYWORDS = frozenset({"type", "properties", "required", "additionalProperties"}) | ANNOTATIONS

# JSON Schema's types as the Python types of a sanitized label value.
_TYPES: dict[str, frozenset[type]] = {
    "string": frozenset({str}),
    "integer": frozenset({int}),  # and floats with no fraction, below
    "number": frozenset({int, float}),
    "boolean": frozenset({bool}),
    "null": frozenset({type(None)}),
    "array": frozenset({list}),
    "object": frozenset({dict}),
}
# What the draft's meta-schema allows as each annotation's argument ("default" takes any value):
# a file the tracker takes must stay valid JSON Schema for the tools that check it in CI.
_ANNOTATION_KINDS: dict[str, tuple[type, str]] = {
    "description": (str, "text"), "title": (str, "text"), "$comment": (str, "text"),
    "examples": (list, "a list"), "deprecated": (bool, "true or false")}


class SchemaError(ValueError):
    """The catalogue uses a keyword or value this validator does not support."""


def value_rules(schema: object, where: str) -> Rules:
    """Parse the schema of one label value into its rules, refusing what the subset lacks."""
    schema = _in_subset(schema, where, VALUE_KEYWORDS, "a label schema must be an object")
    rules: Rules = {}
    for keyword, argument in schema.items():
        if keyword in ANNOTATIONS:
            continue
        try:
            rules[keyword] = _ARGUMENTS[keyword](argument)
        except (TypeError, ValueError, re.error) as error:
            raise SchemaError(f"{where}: bad {keyword!r} ({error})") from None
    return rules


def value_check(schema: object, where: str) -> Check:
    """One function saying why a label value breaks ``schema``, or None when it passes."""
    return _fused(value_rules(schema, where))


def _in_subset(schema: object, where: str, keywords: frozenset[str], not_an_object: str) -> Mapping[str, Any]:
    """``schema`` as a mapping whose keywords and annotations the subset takes; else ``SchemaError``."""
    if not isinstance(schema, Mapping):
        raise SchemaError(f"{where}: {not_an_object}")
    unknown = sorted(set(schema) - keywords)
    if unknown:
        raise SchemaError(f"{where}: unsupported keyword(s) {', '.join(unknown)} (supported: "
                          f"{', '.join(sorted(keywords - ANNOTATIONS))})")
    _annotations(schema, where)
    return schema


def _annotations(schema: Mapping[str, Any], where: str) -> None:
    """Refuse an annotation whose argument the meta-schema does not allow (a number as ``description``)."""
    for keyword, (kind, expected) in _ANNOTATION_KINDS.items():
        if keyword in schema and not isinstance(schema[keyword], kind):
            raise SchemaError(f"{where}: bad {keyword!r} (expected {expected})")


def _types(argument: Any) -> tuple[frozenset[type], bool, str]:
    names = [argument] if isinstance(argument, str) else argument
    if (not isinstance(names, list) or not names
            or not all(isinstance(name, str) and name in _TYPES for name in names) or len(set(names)) < len(names)):
        raise ValueError(f"expected one of {', '.join(_TYPES)}, or a list of them without repeats")
    accepted = frozenset().union(*(_TYPES[name] for name in names))
    return accepted, "integer" in names and float not in accepted, " or ".join(names)


def _choices(argument: Any) -> tuple[frozenset[Any], frozenset[Any], list[Any], str]:
    """JSON: true is not 1 but 1.0 is 1, so booleans are looked up apart from numbers; lists and
    dicts (unhashable) are compared one by one, by ``json_equal``."""
    if not isinstance(argument, list) or not argument:
        raise ValueError("expected a non-empty list")
    booleans = frozenset(item for item in argument if type(item) is bool)
    others = frozenset(item for item in argument if type(item) not in (bool, *UNHASHABLE))
    compound = [item for item in argument if type(item) in UNHASHABLE]
    shown = ", ".join(map(repr, argument[:10])) + (", ..." if len(argument) > 10 else "")
    return booleans, others, compound, f"not one of the allowed values ({shown})"


def _count(argument: Any) -> int:
    if type(argument) is not int or argument < 0:
        raise ValueError("expected a non-negative integer")
    return argument


def _number(argument: Any) -> int | float:
    """A bound as written: an int stays exact (``float()`` rounds past 2**53 and overflows past
    1e308) and Python compares an int with a float exactly, as JSON Schema compares numbers. NaN
    and the infinities are no JSON numbers (Python's ``json`` reads them, and 1e400 as infinity)."""
    if type(argument) is int or (type(argument) is float and math.isfinite(argument)):
        return argument
    raise ValueError("expected a finite number")


_ARGUMENTS: dict[str, Callable[[Any], Any]] = {
    "type": _types,
    "enum": _choices,
    "const": lambda argument: _choices([argument]),
    "pattern": lambda argument: (re.compile(argument).search, argument),  # not anchored, as in JSON Schema
    "minLength": _count,
    "maxLength": _count,
    "minimum": _number,
    "maximum": _number,
    "exclusiveMinimum": _number,
    "exclusiveMaximum": _number,
}

_BOUNDS: tuple[tuple[str, Callable[[Any, Any], bool], str], ...] = (
    ("minimum", operator.ge, ">="), ("maximum", operator.le, "<="),
    ("exclusiveMinimum", operator.gt, ">"), ("exclusiveMaximum", operator.lt, "<"))


def _fused(rules: Mapping[str, Any]) -> Check:
    """One function testing every rule, cheapest first; None when the value passes."""
    accepted, whole_floats, expected = rules.get("type", (None, False, ""))
    choices = [rules[key] for key in ("enum", "const") if key in rules]
    search, pattern = rules.get("pattern", (None, ""))
    shortest, longest = rules.get("minLength", 0), rules.get("maxLength")
    bounds = [(rules[key], holds, words) for key, holds, words in _BOUNDS if key in rules]

    def check(v: Any) -> str | None:
        kind = type(v)
        if accepted is not None and kind not in accepted and not (whole_floats and kind is float and v.is_integer()):
            return f"expected {expected}, got {_json_type(v)}"
        for booleans, others, compound, reason in choices:
            if not (v in booleans if kind is bool else in_compound(v, compound) if kind in UNHASHABLE else v in others):
                return str(reason)
        if kind is str:
            if search is not None and not search(v):
                return f"does not match {pattern!r}"
            if len(v) < shortest:
                return f"shorter than {shortest} characters"
            if longest is not None and len(v) > longest:
                return f"longer than {longest} characters"
        elif bounds and (kind is int or kind is float):
            for bound, holds, words in bounds:
                if not holds(v, bound):
                    return f"must be {words} {bound:g}" if type(bound) is float else f"must be {words} {bound}"
        return None

    return check


def _json_type(value: Any) -> str:
    kind = type(value)
    return next((name for name, kinds in _TYPES.items() if name != "integer" and kind in kinds), kind.__name__)


@dataclass(frozen=True)
class ObjectSchema:
    """The compiled ``labels`` schema of one event: ``properties``, ``required``, ``additionalProperties``.

    ``passes`` is one generated function answering "does every label pass?" (see
    ``compiled``): the common case, on the worker thread for every event. Only when it says
    no are the labels checked one by one, for the reasons.
    """

    properties: Mapping[str, Check]
    passes: Callable[[Mapping[str, Any]], bool]
    required: tuple[str, ...] = ()
    additional: bool = True
    skip: frozenset[str] = frozenset()  # keys the tracker itself adds (e.g. ``_dropped_labels``)

    def problems(self, labels: Mapping[str, Any]) -> list[tuple[str, str]]:
        """``(label, reason)`` for each label that breaks the schema; empty when all pass."""
        if self.passes(labels):
            return []
        found: list[tuple[str, str]] = []
        properties = self.properties
        for key, value in labels.items():
            check = properties.get(key)
            if check is None:
                if not self.additional and key not in self.skip:
                    found.append((key, "not in the catalogue (additionalProperties is false)"))
                continue
            reason = check(value)
            if reason is not None:
                found.append((key, reason))
        for key in self.required:
            if key not in labels:
                found.append((key, "required but missing"))
        return found


def object_schema(schema: object, where: str, skip: frozenset[str] = frozenset()) -> ObjectSchema:
    """Compile an event's ``labels`` schema (``{"type": "object", "properties": ...}``)."""
    schema = _in_subset(schema, where, OBJECT_KEYWORDS, "must be an object")
    if schema.get("type", "object") != "object":
        raise SchemaError(f"{where}: labels are an object; 'type' must be \"object\"")
    properties = schema.get("properties", {})
    required = schema.get("required", [])
    additional = schema.get("additionalProperties", True)
    if not isinstance(properties, Mapping):
        raise SchemaError(f"{where}: 'properties' must be an object")
    if (not isinstance(required, list) or not all(isinstance(key, str) for key in required)
            or len(set(required)) < len(required)):
        raise SchemaError(f"{where}: 'required' must be a list of label names without repeats")
    if not isinstance(additional, bool):
        raise SchemaError(f"{where}: 'additionalProperties' must be true or false (schemas are not supported)")
    rules = {str(key): value_rules(rule, f"{where}.properties.{key}") for key, rule in properties.items()}
    checks = {key: _fused(rule) for key, rule in rules.items()}
    return ObjectSchema(checks, compile_passes(rules, tuple(required), additional), tuple(required), additional, skip)
