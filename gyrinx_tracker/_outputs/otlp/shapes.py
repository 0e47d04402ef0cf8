"""The wire encoder's cache of record shapes: the bytes of a log record that an (event, labels) pair fixes.

Most of a record repeats from one call to the next: an endpoint's requests carry the same event
name and the same few labels, so the body's ``event`` pair and its ``labels`` list, the
attributes and the ``event_name`` are the same bytes each time; only the time, the trace, ``n``
and ``value`` change. Writing them label by label (a cache look-up, two appends and two sums per
label) was most of the worker's time in OTLP mode; a shape is those bytes already joined, found
with one look-up per record (``wire.WireEncoder.encode``).

A shape's key is the event name, the label keys and their values, flat in one tuple (``shape_key``).
``1``, ``True`` and ``1.0`` are equal and hash alike but encode differently, so a shape says where its
key holds a value that is not a str (``Shape.checks``) and the encoder checks those values' exact
types on a hit (most shapes hold one or none: a status); putting every value's type into the key
instead cost as much again as the rest of the look-up. Only shapes whose values are exact ``str``
(short), ``int`` or ``bool`` are kept: a float's ``-0.0`` equals ``0.0`` and would pass the type
check, a list is unhashable, a long string is seldom repeated. A str in a key equals only a str,
and an event's labels hold exact types (the sanitizer makes them so; ``_core.plain``).

The cache is bounded twice, in entries and in bytes (what it holds, estimated), and forgets
everything when either bound would be passed: labels that never repeat (a user id) would
otherwise fill it for good at start-up and leave no room for the shapes that do repeat; cleared,
those come back at their next miss. The per-label caches of ``wire`` stay as they were, so a
miss costs what a record cost before there were shapes.
"""

from __future__ import annotations

from typing import Any

# Strings longer than this are never cached (here or in wire's per-pair caches): a repeated value (an
# endpoint, a status) is short; a long one is seldom repeated, and costs its encoding anyway. 10,000
# fresh 16 KB strings (a label cut to MAX_STRING) held three copies each, about 480 MB, outside every
# bound (benchmarks/soak.py, issue 26).
CACHE_CHARS = 256

MAX_SHAPES = 4_096  # entries; the benchmark's pool of 1,000 label sets (and its warm-up's) fits
MAX_SHAPE_BYTES = 4 * 1024 * 1024  # what the entries hold, estimated (see ShapeCache.add; a shape
# replacing one of an equal key but other types is counted twice, which errs on the safe side)
_ENTRY_OVERHEAD = 400  # bytes of a shape beyond its encoded bytes and strings: the tuples, the dict slot
_ITEM_OVERHEAD = 120  # per label: its key, value and type in the key tuple, and their objects


def cacheable(kind: type, value: Any) -> bool:
    """Whether a value of this exact type may be kept in a cache (see ``CACHE_CHARS``)."""
    return kind is int or kind is bool or (kind is str and len(value) <= CACHE_CHARS)


def shape_key(name: str, labels: dict[str, Any]) -> tuple[Any, ...]:
    """The key ``encode`` looks a shape up with (it builds the same tuple inline, as here)."""
    return (name, *labels, *labels.values())


def checks_of(labels: dict[str, Any]) -> tuple[tuple[int, type], ...]:
    """Where ``shape_key(name, labels)`` holds a value that is not a str, with that value's type."""
    first = 1 + len(labels)
    return tuple((first + index, type(value)) for index, value in enumerate(labels.values()) if type(value) is not str)


def keeps(name: str, labels: dict[str, Any]) -> bool:
    """Whether the shape of ``name`` with ``labels`` may be cached: a short name, exact str keys,
    and only values that ``cacheable`` takes (so the key is hashable and equal keys mean equal bytes)."""
    if type(name) is not str or len(name) > CACHE_CHARS:
        return False
    return all(type(key) is str and len(key) <= CACHE_CHARS and cacheable(type(value), value)
               for key, value in labels.items())


class ShapeCache:
    """Shapes by key, within ``max_entries`` and ``max_bytes``; cleared whole when a bound would be passed."""

    __slots__ = ("entries", "max_bytes", "max_entries", "size")

    def __init__(self, max_entries: int = MAX_SHAPES, max_bytes: int = MAX_SHAPE_BYTES) -> None:
        self.entries: dict[tuple[Any, ...], Any] = {}  # read directly by encode: one look-up
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.size = 0  # bytes held, estimated

    def add(self, name: str, labels: dict[str, Any], shape: Any, encoded: int) -> None:
        """Keep ``shape`` (whose byte strings total ``encoded``) for ``name`` with ``labels``, if
        ``keeps`` allows it and it fits in a cache of its bounds at all; clears the cache first when
        it would pass one of them. ``entries`` stays the same dict, so a reader's alias stays valid."""
        if not keeps(name, labels):
            return
        size = (_ENTRY_OVERHEAD + encoded + len(name)
                + sum(_ITEM_OVERHEAD + len(key) + (len(value) if type(value) is str else 0)
                      for key, value in labels.items()))
        if size > self.max_bytes // 16 or not self.max_entries:  # a few shapes must not fill it
            return
        if len(self.entries) >= self.max_entries or self.size + size > self.max_bytes:
            self.entries.clear()
            self.size = 0
        self.entries[shape_key(name, labels)] = shape
        self.size += size
