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
_UNBOUNDED = 1 << 62


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

    This runs on the caller's thread for every call, so the checks of ``is_count`` and
    ``is_safe_int`` are written out here rather than called.
    """
    if len(labels) > QUEUED_LABELS or type(n) is not int or not 0 < n <= MAX_SAFE_INT:
        return False
    if not (value is None or type(value) is float
            or (type(value) is int and -MAX_SAFE_INT <= value <= MAX_SAFE_INT)):
        return False
    chars = len(name) if type(name) is str else _UNBOUNDED
    for key, item in labels.items():
        kind = type(item)
        chars += len(key)  # a key made from data (**{path: 1}) is held too
        if kind is str:
            chars += len(item)
        elif kind is int:
            if not -MAX_SAFE_INT <= item <= MAX_SAFE_INT:
                return False
        elif kind not in SCALARS:
            return False
    return chars <= QUEUED_CHARS
