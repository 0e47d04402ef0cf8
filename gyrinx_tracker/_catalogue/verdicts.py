"""Remembered verdicts: an event's labels check as one set test when its label values were seen before.

Why: the catalogue is checked for every event on the worker thread and issue 12 allows it at most
+10% CPU per event. Label values repeat (an endpoint, a method, a status), and under one schema a
value's verdict never changes, so the ``(label, value)`` pairs that passed are kept in a set per
event. ``labels.items() <= passed`` then answers the common case inside the interpreter's C code,
without a Python-level step per label. Only pairs not seen before (a request id, a new endpoint)
are checked, one by one, by the label's own check from ``schema``.

Exactness: a set finds equal values, and in Python ``True == 1 == 1.0``, while JSON Schema tells
booleans from numbers. So booleans, and the numbers equal to them (0 and 1), are never remembered
and always checked; other numbers equal across int and float get the same verdict from every
keyword of the subset (1.0 is an integer in JSON Schema). Label values reach the catalogue
sanitized (exact ``str``, ``int``, ``float``, ``bool``, ``None``, lists and dicts), so no subclass
with its own ``__eq__`` can stand in for a remembered value; lists and dicts are unhashable and go
to the schema's generated function. The memory is bounded: ``PER_LABEL`` values per label (an id
label fills its share and is then checked every time) and ``LIMIT`` pairs per check (one check is
shared by the events with the same label schema).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gyrinx_tracker._catalogue.schema import ObjectSchema

PER_LABEL = 256
LIMIT = 4_096
MISSES = 16  # label sets checked in full before an event can be found volatile
# (labels, value of the event) -> True when both pass; False sends the event to the full review.
Accepts = Callable[[dict[str, Any], object], bool]


def _rememberable(value: object) -> bool:
    """Whether a passing value may stand for every value equal to it (see the module docstring)."""
    kind = type(value)
    return kind is str or value is None or ((kind is int or kind is float) and value != 0 and value != 1)


def accepting(schema: ObjectSchema, value_used: bool, value_required: bool) -> Accepts:
    """The fast check of one event: True when its labels and its value pass, else False.

    Label sets made of remembered pairs are one set test. The pairs of a label set seen for the
    first time are checked by the schema's generated function and remembered when it passes. An
    event whose labels bring values that cannot be remembered (an id past its label's share, a
    boolean), or whose label sets are mostly new (more than ``MISSES`` misses, and more misses
    than hits: an id among the labels), is *volatile*: from then on the generated function checks it every time, without the
    set test that would miss anyway.
    """
    passed: set[tuple[str, Any]] = set()
    room: dict[str, int] = {}
    generated, required = schema.passes, schema.required
    volatile, hits, misses = False, 0, 0

    def remember(labels: dict[str, Any]) -> None:
        nonlocal volatile, misses
        misses += 1
        if misses > MISSES and misses > hits:  # most label sets are new: ids, not a few values
            volatile = True
            return
        for pair in labels.items():
            key, label = pair
            if not _rememberable(label):  # before the lookup: a list or dict cannot even be looked up
                volatile = True
                return
            if pair not in passed:
                left = room.get(key, PER_LABEL)
                if not left or len(passed) >= LIMIT:
                    volatile = True
                    return
                room[key] = left - 1
                passed.add(pair)

    def accepts(labels: dict[str, Any], value: object) -> bool:
        nonlocal hits
        if not (value_used if value is not None else not value_required):
            return False
        if volatile:
            return generated(labels)
        try:
            if labels.items() <= passed:  # every pair passed before: the common case, in C
                hits += 1
                for key in required:  # noqa: SIM110 - a loop: all() of a generator costs more than the set test
                    if key not in labels:
                        return False
                return True
        except TypeError:  # a list or dict among the values: not hashable, so not remembered
            return generated(labels)
        if not generated(labels):
            return False
        remember(labels)
        return True

    return accepts
