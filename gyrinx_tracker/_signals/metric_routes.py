"""Where ``Metrics.record`` finds an event's series: one ``Plan`` per set of label names.

The routing rule (``_signals.metrics``) decides, for a set of label names, which may become
attributes; a plan remembers that decision and, per combination of those names' values, the series
it was routed to. ``Plan.route`` is the fast path every metered event takes, the rule itself only
runs for names or values not seen before.
"""

from __future__ import annotations

from collections.abc import Callable
from operator import itemgetter
from typing import Any, Generic, TypeVar

ROUTE_LIMIT = 4_096  # value combinations remembered per plan; cleared when full
# Routes are remembered only for values of up to this many characters: 4,096 combinations holding a
# fresh label cut to 8 KB (16 KB in memory) each were 64 MB outside every memory bound, let go at
# once when the cache was cleared (benchmarks/soak.py's RSS sawtooth). A long value is an id or a
# text, not a metric attribute: routing it again costs its event, which is rare and large anyway.
CACHED_CHARS = 256

S = TypeVar("S")  # the series type (``metrics.Series``, which imports this module)
Router = Callable[[dict[str, Any]], S | None]


class Plan(Generic[S]):
    """For one set of label names: the names that may become attributes (sorted), a C-speed picker
    of their values, the series each combination of values was routed to, and ``route``.

    ``route(labels)`` is the fast path of ``Metrics.record``: the series of ``labels`` if they have
    this plan's names and their values were routed before, None if they have other names, and
    ``KeyError``/``TypeError`` for new values, an unhashable value or another name set of the same
    size. Why generated code: the generic way (``tuple(labels)``, a look-up of the plan, then
    ``itemgetter`` and a tuple key) costs about twice the size check, membership tests and one
    subscription per level written out for these names (benchmarks: 6,448 -> 3,597 instructions per
    event for all of ``record``). Only ``_router_source``'s template becomes source text; the label
    names are passed in as constants (``P0``, ``O0``, ...), so no label can inject anything.
    """

    __slots__ = ("count", "names", "pick", "route", "routes")

    def __init__(self, names: tuple[str, ...], others: tuple[str, ...] = ()) -> None:
        self.names = names
        self.pick: Callable[[dict[str, Any]], Any] = itemgetter(*names) if names else _no_values
        # The values of the names, in order, to their series: one dict level per name (a tuple key
        # would cost a tuple's making and hashing per event); the key ``()`` for no names.
        self.routes: dict[Any, Any] = {}
        self.count = 0  # series remembered in ``routes``
        self.route: Router[S] = _router(names, others, self.routes)

    def values(self, labels: dict[str, Any]) -> tuple[Any, ...]:
        picked = self.pick(labels)
        return picked if len(self.names) != 1 else (picked,)

    def remember(self, values: tuple[Any, ...], series: S) -> None:
        """Route ``values`` to ``series`` from now on (not for a value over ``CACHED_CHARS``: routed
        each time); ``TypeError`` for an unhashable value."""
        if any(type(value) is str and len(value) > CACHED_CHARS for value in values):
            return
        if self.count >= ROUTE_LIMIT:
            self.routes.clear()
            self.count = 0
        node = self.routes
        for value in values[:-1]:
            node = node.setdefault(value, {})
        node[values[-1] if values else ()] = series
        self.count += 1


def _no_values(labels: dict[str, Any]) -> tuple[()]:
    return ()


def no_route(labels: dict[str, Any]) -> None:
    """The router of no plan: an event's first labels, or its first after a fold, take the slow path."""
    return None


def _router(names: tuple[str, ...], others: tuple[str, ...], routes: dict[Any, Any]) -> Router[Any]:
    """``Plan.route`` for the attribute names ``names`` and the other label names ``others``."""
    namespace: dict[str, Any] = {"ROUTES": routes, "EMPTY": ()}
    namespace.update((f"P{index}", name) for index, name in enumerate(names))
    namespace.update((f"O{index}", name) for index, name in enumerate(others))
    source = _router_source(len(names), len(others))
    exec(compile(source, "<gyrinx_tracker router>", "exec"), namespace)  # our template only: see Plan
    route: Router[Any] = namespace["route"]
    return route


def _router_source(picked: int, others: int) -> str:
    """``route``'s source for ``picked`` attribute names and ``others`` other names: the routes are
    looked up one level per attribute name (``()`` for none)."""
    checks = " or ".join([f"len(labels) != {picked + others}", *(f"O{i} not in labels" for i in range(others))])
    levels = "".join(f"[labels[P{i}]]" for i in range(picked)) or "[EMPTY]"
    return f"def route(labels):\n    if {checks}:\n        return None\n    return ROUTES{levels}\n"
