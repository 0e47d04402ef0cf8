"""Evaluating a parsed filter against a LogEntry-shaped dict, with Cloud Logging's comparisons.

The rules, as in Cloud Logging where it defines them: string comparisons ignore case; ``:`` is
"has" (a substring of a string, a key of an object, ``:*`` for "present"); a number field compares
numerically with a numeric value; ``severity`` compares by level (``severity>=WARNING``);
``timestamp`` and ``receiveTimestamp`` compare as instants, whatever their precision or offset;
a list matches when any element does. A comparison on a missing field is false, so ``f != v``
needs the field present while ``-f = v`` (``NOT``) also matches entries without it: ``NOT (f)``
is always exactly the complement of ``f``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from gyrinx_tracker._cli._filter import SEVERITIES, TIME_FIELDS, And, Compare, Everything, Global, Node, Not, Or
from gyrinx_tracker._cli._inputs import Entry, parse_time

_TIME_FIELDS = TIME_FIELDS
_MISSING = object()
_ORDER: dict[str, Callable[[int], bool]] = {
    "=": lambda c: c == 0, "!=": lambda c: c != 0, "<": lambda c: c < 0, "<=": lambda c: c <= 0,
    ">": lambda c: c > 0, ">=": lambda c: c >= 0,
}


def matches(node: Node, entry: Entry) -> bool:
    """True when ``entry`` satisfies the filter ``node``."""
    if isinstance(node, Compare):
        return _compare(node, entry)
    if isinstance(node, And):
        return all(matches(operand, entry) for operand in node.operands)
    if isinstance(node, Or):
        return any(matches(operand, entry) for operand in node.operands)
    if isinstance(node, Not):
        return not matches(node.operand, entry)
    if isinstance(node, Global):
        needle = node.value.casefold()
        return any(needle in str(leaf).casefold() for leaf in _leaves(entry))
    assert isinstance(node, Everything)
    return True


def _compare(node: Compare, entry: Entry) -> bool:
    found = list(_resolve(entry, node.path))
    if not found:
        return False
    if node.op == ":" and node.value == "*" and not node.quoted:
        return True
    if node.op in ("!=", "!~"):  # present, and no element equals / matches
        positive = Compare(node.path, "=" if node.op == "!=" else "=~", node.value, node.quoted,
                           node.pattern)
        return not any(_one(positive, value) for value in found)
    return any(_one(node, value) for value in found)


def _one(node: Compare, value: Any) -> bool:
    """One field value against the comparison (no ``!=``/``!~`` here: those negate ``=``/``=~``)."""
    if node.op == "=~":
        assert node.pattern is not None
        return node.pattern.search(_text(value)) is not None
    if node.op == ":":
        return _has(value, node.value)
    ordering = _ordering(node, value)
    return ordering is not None and _ORDER[node.op](ordering)


def _ordering(node: Compare, value: Any) -> int | None:
    """-1, 0 or 1 comparing the field value with the filter's value, or None if incomparable."""
    if node.path in _TIME_FIELDS:
        left, right = parse_time(value), parse_time(node.value)
        return None if left is None or right is None else _sign(left - right)
    if node.path == ("severity",) and isinstance(value, str):
        left_level, right_level = _level(value), _level(node.value)
        if left_level is not None and right_level is not None:
            return _sign(left_level - right_level)
    number = _number(value)
    wanted = _number(node.value)
    if number is not None and wanted is not None:
        return _sign(number - wanted)
    if isinstance(value, (dict, list)):
        return None
    left_text, right_text = _text(value).casefold(), node.value.casefold()
    return (left_text > right_text) - (left_text < right_text)


def _level(text: str) -> int | None:
    """A severity's number: by name (``WARNING`` is 400) or given as one (``severity>=400``)."""
    return int(text) if text.isdigit() else SEVERITIES.get(text.upper())


def _has(value: Any, needle: str) -> bool:
    if isinstance(value, dict):
        return needle in value
    return needle.casefold() in _text(value).casefold()


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _sign(difference: float) -> int:
    return (difference > 0) - (difference < 0)


def _resolve(value: Any, path: tuple[str, ...]) -> Iterator[Any]:
    """The values at ``path``, descending into every element of lists on the way."""
    if isinstance(value, list):
        for item in value:
            yield from _resolve(item, path)
        return
    if not path:
        if value is not None:
            yield value
        return
    if isinstance(value, dict):
        child = value.get(path[0], _MISSING)
        if child is not _MISSING:
            yield from _resolve(child, path[1:])


def _leaves(value: Any) -> Iterator[Any]:
    if isinstance(value, dict):
        for item in value.values():
            yield from _leaves(item)
    elif isinstance(value, list):
        for item in value:
            yield from _leaves(item)
    elif value is not None:
        yield value
