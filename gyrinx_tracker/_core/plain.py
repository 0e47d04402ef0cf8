"""What a plain value is: the one rule each stage's fast path asks before doing any work.

A call is cheap when its arguments are already what the stages after it want: a count that is a
positive int, a measurement that is a finite float, labels that are scalars of bounded size. The
caller's thread asks whether a call can be queued as given (``queueable``); the worker's cleaning
asks whether a count, a value or a label needs repair (``is_count``, ``is_finite``,
``is_safe_int``). Each question is written here once; the stages differ only in which they ask.

Integers are plain up to 2**53 in magnitude: past it JSON readers (JavaScript's numbers, most
log pipelines) lose digits and OTLP's int64 sums can overflow, so a larger int is a string in a
label and no count at all.
"""

from __future__ import annotations

from typing import Any, TypeGuard

MAX_SAFE_INT = 2**53
# The scalar types a label may hold as it is (a str of bounded length, a safe int, any float, a
# bool, None); anything else is converted before it is queued.
SCALARS = frozenset({str, int, float, bool, type(None)})
# A call queued as given holds at most this many labels, and this many characters of name, keys
# and string values: its memory is then bounded whatever the input (see _pipeline.budget).
QUEUED_LABELS = 16
QUEUED_CHARS = 512
# JSON characters a number, bool or null is charged in a labels budget: the longest safe int,
# "-9007199254740992", with its separator, rounded up.
SCALAR_CHARS = 24
_MIN_SAFE_INT = -MAX_SAFE_INT
_ONE = 1  # ``n is _ONE``: the common count, by identity (CPython keeps one 1); any other n is checked in full
# The scalars whose size does not depend on their value (``bool`` is not an int here: type() is exact).
_FIXED_SIZE = frozenset({float, bool, type(None)})


def is_safe_int(value: object) -> TypeGuard[int]:
    """An exact int JSON readers and int64 sums carry without loss (bool is not one)."""
    return type(value) is int and -MAX_SAFE_INT <= value <= MAX_SAFE_INT


def is_count(value: object) -> TypeGuard[int]:
    """A valid ``n``: an exact, positive, safe int."""
    return type(value) is int and 0 < value <= MAX_SAFE_INT


def is_finite(value: object) -> TypeGuard[float]:
    """An exact float that is neither NaN nor infinite (``x - x`` is 0.0 only for those)."""
    return type(value) is float and value - value == 0.0


def queueable(name: object, n: object, value: object, labels: dict[str, Any]) -> bool:
    """Whether a call may wait in the queue as given: small, immutable scalars only.

    Then what the queue holds is bounded in bytes by ``QUEUED_LABELS`` and ``QUEUED_CHARS``, and
    nothing the caller may change later is kept. A NaN value or a label that needs redaction is
    still plain here: the worker repairs it, at no risk to the caller's memory. What it accepts,
    ``Sanitizer.queued`` relies on: the count is one, the value None, a float or a safe int.

    A key is measured by ``len()``, not checked to be exactly a str: a str subclass whose
    ``__len__`` lies (code written to defeat the bound, not data) could pass; checking every key's
    type would add a quarter to this function's cost for that case alone.

    This runs on the caller's thread for every call and is most of what ``track()`` costs there,
    so it is written for the interpreter (instructions per call measured under callgrind by
    ``benchmarks/caller_floor.py``): the checks of ``is_count`` and ``is_safe_int`` are spelled
    out, the bounds are module constants (``-MAX_SAFE_INT`` would build an int per call), and
    each label costs one loop step. Measured and not faster: checking the keys together with a
    C-level set operation against the keys seen before, ``map(type, ...)`` into a set, and the
    loop written inline in ``Pipeline.submit`` (a call saved, a flag added).
    """
    if type(name) is not str or len(labels) > QUEUED_LABELS:
        return False
    if n is not _ONE and (type(n) is not int or not 0 < n <= MAX_SAFE_INT):  # most calls count one
        return False
    if value is not None and type(value) is not float and (
            type(value) is not int or not _MIN_SAFE_INT <= value <= MAX_SAFE_INT):
        return False
    chars = len(name)
    for key, item in labels.items():
        if type(item) is str:  # type() again rather than a local: most labels are str, and a store costs
            chars += len(key) + len(item)  # a key made from data (**{path: 1}) is held too
        elif type(item) is int:
            if not _MIN_SAFE_INT <= item <= MAX_SAFE_INT:
                return False
            chars += len(key)
        elif type(item) in _FIXED_SIZE:
            chars += len(key)
        else:
            return False
    return chars <= QUEUED_CHARS
