"""Which catalogue entry an event name from the source means, without guessing.

A literal name is looked up as the tracker looks it up (exact names, then patterns). An f-string
such as ``f"event_{verb}_{noun}"`` is resolved to a pattern entry only when every name it can make
matches that pattern: its literal text lines up with the pattern's and each ``{...}`` of the
f-string falls inside one placeholder (assuming it is filled with name characters, as a
placeholder requires). When no entry can match whatever the holes hold, the name is unknown; in
between (``f"event_{x}"``: some values would match), it is dynamic and not checked.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache, lru_cache

from gyrinx_tracker._catalogue.catalogue import Catalogue, EventSpec, name_parts
from gyrinx_tracker._cli._events_scan import Template

_HOLE = "\ue000"  # a private-use character standing for an f-string's {...}
_NAME_CHAR = r"[A-Za-z0-9_.\-" + _HOLE + "]"


@dataclass(frozen=True)
class Resolved:
    """``spec`` when the name is known; otherwise ``unknown`` (no entry can match) or dynamic (neither)."""

    spec: EventSpec | None
    unknown: bool = False
    shown: str = ""  # the name as written: 'api_call' or f"event_{…}_{…}"


def resolve(catalogue: Catalogue, name: Template | None, written: str = "") -> Resolved:
    """The entry ``name`` means, if the source says enough to know (``written``: the source text)."""
    if name is None:
        return Resolved(None, shown=written or "(no event argument)")
    literal = all(part is not None for part in name)
    shown = show(name) if literal or not written else written
    if literal:
        text = "".join(part for part in name if part is not None)
        spec = catalogue.spec_for(text)
        return Resolved(spec, unknown=spec is None, shown=shown)
    marked = "".join(_HOLE if part is None else part for part in name)
    for spec in catalogue.entries():
        if None in name_parts(spec.name) and _pattern_with_holes(spec.name).fullmatch(marked):
            return Resolved(spec, shown=shown)
    can_match = any(_may_meet(_wild(name), _wild(tuple(name_parts(spec.name)))) for spec in catalogue.entries())
    return Resolved(None, unknown=not can_match, shown=shown)


def could_be(name: Template | None, entry: str) -> bool:
    """Whether a name the check could not resolve might still be ``entry`` at run time."""
    return name is None or _may_meet(_wild(name), _wild(tuple(name_parts(entry))))


def show(name: Template) -> str:
    if len(name) == 1 and name[0] is not None:
        return repr(name[0])
    return 'f"' + "".join("{…}" if part is None else part for part in name) + '"'


@lru_cache(maxsize=1024)
def _pattern_with_holes(entry: str) -> re.Pattern[str]:
    """The catalogue's pattern for ``entry``, whose placeholders also accept the hole marker."""
    return re.compile("".join(_NAME_CHAR + "+?" if part is None else re.escape(part) for part in name_parts(entry)))


def _wild(parts: Template) -> tuple[str | None, ...]:
    """Literal characters one by one and None for each wildcard (a hole or a placeholder)."""
    return tuple(char for part in parts for char in ((None,) if part is None else tuple(part)))


def _may_meet(left: tuple[str | None, ...], right: tuple[str | None, ...]) -> bool:
    """Whether some string matches both wildcard patterns (a wildcard: any text, over-approximating
    a placeholder's "one or more name characters", so "unknown" is only said when certain)."""

    @cache
    def meet(i: int, j: int) -> bool:
        if i == len(left) or j == len(right):
            rest = left[i:] if j == len(right) else right[j:]
            return all(char is None for char in rest)
        if left[i] is None:
            return meet(i + 1, j) or meet(i, j + 1)
        if right[j] is None:
            return meet(i, j + 1) or meet(i + 1, j)
        return left[i] == right[j] and meet(i + 1, j + 1)

    return meet(0, 0)
