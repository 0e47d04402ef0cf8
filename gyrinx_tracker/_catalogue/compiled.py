"""One generated Python function per event that answers "does every label pass its schema?".

Why generate code: the catalogue is checked for every event on the worker thread, and with a
function per label rule the calls themselves (a lookup and a call per label, a call per keyword)
cost more than the comparisons; issue 12 allows validation at most +10% CPU per event. The
generated function does one subscription per described label and inline comparisons, as
``fastjsonschema`` does for full JSON Schema. Only our own templates become source text: label
names, patterns and allowed values are passed in as constants (``K0``, ``E0``, ...), never
written into the code, so a catalogue cannot inject anything. The reasons for a failure are found
by the slower per-label checks of ``schema``, which this function only has to agree with on
pass/fail (a test compares them over a table of cases).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

# A label's parsed rules, as ``schema`` prepares them: keyword -> its argument (see its _ARGUMENTS).
# Defined here, where they are compiled, so that the parser imports the compiler and not the reverse.
Rules = dict[str, Any]
UNHASHABLE = (list, dict)  # the JSON value types whose members are compared by equality, not hashed
_NUMBERS = (int, float)
_MISSING = object()
MATCHED_LIMIT = 1_000  # strings remembered per pattern as matching (label values repeat, or never)
_OPERATORS = {"minimum": ">=", "maximum": "<=", "exclusiveMinimum": ">", "exclusiveMaximum": "<"}


def json_equal(one: Any, two: Any) -> bool:
    """Equality as JSON Schema's ``enum`` and ``const`` mean it: a boolean is no number, inside lists
    and dicts too (in Python ``[True] == [1]``), and 1.0 is the number 1."""
    kind, other = type(one), type(two)
    if kind is list:
        return other is list and len(one) == len(two) and all(map(json_equal, one, two))
    if kind is dict:
        return (other is dict and len(one) == len(two)
                and all(key in two and json_equal(item, two[key]) for key, item in one.items()))
    if kind is bool or other is bool:
        return kind is other and one == two
    return bool(one == two)


def in_compound(value: Any, compound: list[Any]) -> bool:
    """Whether a list or dict label value is one of the allowed lists and dicts."""
    return any(json_equal(value, item) for item in compound)


class _Source:
    """Lines of the function being generated and the constants it refers to."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.constants: dict[str, Any] = {"MISSING": _MISSING, "NUMBERS": _NUMBERS, "UNHASHABLE": UNHASHABLE,
                                          "IN_COMPOUND": in_compound}

    def constant(self, value: Any) -> str:
        name = f"C{len(self.constants)}"
        self.constants[name] = value
        return name


def compile_passes(rules: Mapping[str, Rules], required: tuple[str, ...],
                   additional: bool) -> Callable[[Mapping[str, Any]], bool]:
    """A function of a labels dict: True when every label passes and every required one is there.

    A label value that is not hashable (a list or dict) where a set lookup is made raises
    ``TypeError`` inside, a missing required label ``KeyError``; the function then answers False
    and the per-label checks decide (and give the reasons).
    """
    source = _Source()
    body = ["missing = 0"]  # optional labels absent, so that a closed schema can count the rest
    for key, rule in rules.items():
        name = source.constant(key)
        if key in required:  # absent: KeyError, answered False below
            body.append(f"v = labels[{name}]")
            body += _statements(rule, source)
        else:
            statements = _statements(rule, source)
            body += [f"if {name} not in labels:", "    missing += 1"]
            if statements:
                body += ["else:", f"    v = labels[{name}]", *("    " + line for line in statements)]
    body += [f"if {source.constant(key)} not in labels: return False" for key in required if key not in rules]
    if not additional:
        body.append(f"if len(labels) != {len(rules)} - missing: return False")
    body.append("return True")
    lines = ["def passes(labels):", "    try:", *("        " + line for line in body),
             "    except (TypeError, KeyError):", "        return False"]
    namespace = dict(source.constants)
    exec(compile("\n".join(lines), "<gyrinx_tracker catalogue>", "exec"), namespace)  # our templates only: see the module docstring
    passes: Callable[[Mapping[str, Any]], bool] = namespace["passes"]
    return passes


def _statements(rule: Rules, source: _Source) -> list[str]:
    """Statements over ``v`` that return False on the first broken rule, skipping tests implied
    by earlier ones (a value in a set of strings is a string)."""
    lines = []
    accepted: frozenset[type] | None = rule["type"][0] if "type" in rule else None
    choices = [rule[key] for key in ("enum", "const") if key in rule]
    only_strings = [others for booleans, others, compound, _ in choices
                    if not booleans and not compound and all(type(item) is str for item in others)]
    if accepted is not None and not (only_strings and str in accepted):
        _, whole_floats, _ = rule["type"]
        test = (f"type(v) is {source.constant(next(iter(accepted)))}" if len(accepted) == 1
                else f"type(v) in {source.constant(accepted)}")
        if whole_floats:
            test += " or (type(v) is float and v.is_integer())"
        lines.append(f"if not ({test}): return False")
    for booleans, others, compound, _ in choices:
        if all(type(item) is str for item in others) and not booleans and not compound:
            lines.append(f"if v not in {source.constant(others)}: return False")
        else:
            lines.append(f"if not (v in {source.constant(booleans)} if type(v) is bool else IN_COMPOUND(v, "
                         f"{source.constant(compound)}) if type(v) in UNHASHABLE else v in {source.constant(others)}): "
                         "return False")
    is_string = "" if only_strings or accepted == frozenset({str}) else "type(v) is str and "
    if "pattern" in rule:  # strings that matched are remembered: a regex search costs more than a set lookup
        search, _ = rule["pattern"]
        # Once the set is full the label is an id (a new value per call): searched without the
        # set lookup that would miss anyway, and without hashing a string seen once.
        matched, test = source.constant(set()), f"{source.constant(search)}(v) is None"
        lines += [f"if {is_string}len({matched}) >= {MATCHED_LIMIT}:",
                  f"    if {test}: return False",
                  f"elif {is_string}v not in {matched}:",
                  f"    if {test}: return False",
                  f"    {matched}.add(v)"]
    if "minLength" in rule:
        lines.append(f"if {is_string}len(v) < {source.constant(rule['minLength'])}: return False")
    if "maxLength" in rule:
        lines.append(f"if {is_string}len(v) > {source.constant(rule['maxLength'])}: return False")
    is_number = "" if accepted is not None and accepted <= {int, float} else "type(v) in NUMBERS and "
    for key, operator in _OPERATORS.items():
        if key in rule:
            lines.append(f"if {is_number}not (v {operator} {source.constant(_bound(rule[key]))}): return False")
    return lines


def _bound(bound: int | float) -> int | float:
    """A whole bound as an int: an int label compared with an int skips the interpreter's mixed
    int/float comparison; the answer is the same, as Python compares int and float exactly."""
    return int(bound) if type(bound) is float and bound.is_integer() else bound
