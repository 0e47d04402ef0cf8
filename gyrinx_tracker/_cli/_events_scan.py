"""Find the ``track()`` calls in Python sources, by reading them with ``ast``: nothing scanned is imported.

Why ``ast`` and not importing the app: ``events check`` runs in CI on a checkout, where importing
a Django app needs its settings, database and secrets. The price is that names are followed only
as far as the source says them: ``track`` imported from ``gyrinx_tracker`` (under any alias),
``gyrinx_tracker.track`` and ``import gyrinx_tracker as g; g.track``. Imports anywhere in a file
count for the whole file (shadowing a name is not followed). An event name is a string literal,
a concatenation or an f-string (a :class:`Template`); anything else is dynamic and left unchecked.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PACKAGE = "gyrinx_tracker"
SKIPPED_DIRS = frozenset({"__pycache__", "node_modules", "site-packages"})  # and every dot-directory
LITERALS = (str, int, float, bool, type(None))
_NOT_LITERAL = object()

# An event name as literal text and None for each run-time hole: f"event_{verb}_{noun}" is
# ("event_", None, "_", None); a plain literal is one string; None: nothing known (a variable).
Template = tuple[str | None, ...]


@dataclass(frozen=True)
class Label:
    """One keyword label: its literal value when the source gives one."""

    name: str
    literal: bool
    value: Any = None


@dataclass(frozen=True)
class TrackCall:
    """What the source says about one ``track()`` call; ``column`` counts from 1, as compilers print."""

    path: str
    line: int
    column: int
    name: Template | None
    labels: tuple[Label, ...] = ()
    spread: bool = False  # ``**labels`` or ``*args``: labels (and the value) may come from there
    value_given: bool = False
    problems: tuple[str, ...] = field(default=())  # the call itself is wrong (too many positionals)
    written: str = ""  # the event argument's source text, for a name the check cannot read


@dataclass(frozen=True)
class Unreadable:
    """A source that could not be parsed: its calls are unknown."""

    path: str
    line: int
    column: int
    reason: str


def sources(paths: Iterable[str]) -> Iterator[Path]:
    """The ``.py`` files under ``paths``, each once (a file named on the command line is read whatever its suffix)."""
    seen: set[Path] = set()
    for given in paths:
        root = Path(given)
        if not root.exists():
            raise FileNotFoundError(f"no such file or directory: {given}")
        found = sorted(path for path in root.rglob("*.py") if _wanted(path.relative_to(root))) if root.is_dir() else [root]
        for path in found:
            if path.resolve() not in seen:
                seen.add(path.resolve())
                yield path


def _wanted(relative: Path) -> bool:
    folders = relative.parts[:-1]
    return not any(part.startswith(".") or part in SKIPPED_DIRS for part in folders)


def scan(path: Path) -> list[TrackCall] | Unreadable:
    """Every ``track()`` call in one file, in source order."""
    try:
        tree = ast.parse(path.read_bytes(), filename=str(path))
    except SyntaxError as error:
        return Unreadable(str(path), error.lineno or 1, error.offset or 1, f"cannot parse: {error.msg}")
    except (OSError, ValueError) as error:
        return Unreadable(str(path), 1, 1, f"cannot read: {error}")
    functions, modules = _aliases(tree)
    return [_call(str(path), node) for node in ast.walk(tree)
            if isinstance(node, ast.Call) and _is_track(node.func, functions, modules)]


def _aliases(tree: ast.AST) -> tuple[set[str], set[str]]:
    """Names bound to ``gyrinx_tracker.track`` and to the ``gyrinx_tracker`` module."""
    functions: set[str] = set()
    modules: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == PACKAGE and node.level == 0:
            functions.update(alias.asname or alias.name for alias in node.names if alias.name == "track")
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == PACKAGE or (alias.asname is None and alias.name.startswith(PACKAGE + ".")):
                    modules.add(alias.asname or PACKAGE)
    return functions, modules


def _is_track(func: ast.expr, functions: set[str], modules: set[str]) -> bool:
    if isinstance(func, ast.Name):
        return func.id in functions
    return (isinstance(func, ast.Attribute) and func.attr == "track"
            and isinstance(func.value, ast.Name) and func.value.id in modules)


def _call(path: str, node: ast.Call) -> TrackCall:
    """``track(event, /, n=1, value=None, **labels)``, bound as Python would bind the arguments:
    ``event`` is positional-only, so ``event=`` is a label (and without a positional name, a bad call)."""
    spread = any(isinstance(arg, ast.Starred) for arg in node.args)
    positional = [arg for arg in node.args if not isinstance(arg, ast.Starred)]
    keywords = {kw.arg: kw.value for kw in node.keywords if kw.arg is not None}
    event = positional[0] if positional and not isinstance(node.args[0], ast.Starred) else None
    value = positional[2] if len(positional) >= 3 and not spread else keywords.get("value")
    labels: list[Label] = []
    for kw in node.keywords:
        if kw.arg is None:
            expanded = _literal_dict(kw.value)
            spread = spread or expanded is None
            labels += expanded or []
        elif kw.arg not in ("n", "value"):
            labels.append(_label(kw.arg, kw.value))
    problems: tuple[str, ...] = ("track() takes at most 3 positional arguments (event, n, value); labels are keywords",) \
        if len(positional) > 3 else ()
    if not node.args:
        problems += ("track() takes the event name positionally (track(\"name\", ...)); event= is a label",)
    return TrackCall(path, node.lineno, node.col_offset + 1, None if event is None else template(event),
                     tuple(labels), spread, value is not None and not _is_none(value), problems,
                     "" if event is None else ast.unparse(event)[:60])


def template(node: ast.expr) -> Template | None:
    """An event name expression as a :data:`Template`, or None when the source does not say it."""
    if isinstance(node, ast.Constant):
        return (node.value,) if isinstance(node.value, str) else None
    if isinstance(node, ast.JoinedStr):
        return tuple(part.value if isinstance(part, ast.Constant) and isinstance(part.value, str) else None
                     for part in node.values)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = template(node.left), template(node.right)
        left, right = (None,) if left is None else left, (None,) if right is None else right
        joined = (*left, *right)
        return joined if any(part is not None for part in joined) else None
    return None


def _label(name: str, node: ast.expr) -> Label:
    value = _literal(node)
    return Label(name, False) if value is _NOT_LITERAL else Label(name, True, value)


def _literal(node: ast.expr) -> object:
    if isinstance(node, ast.Constant) and isinstance(node.value, LITERALS):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        inner = _literal(node.operand)
        if type(inner) in (int, float):
            return -inner  # type: ignore[operator]
    return _NOT_LITERAL


def _literal_dict(node: ast.expr) -> list[Label] | None:
    """``**{"key": value}`` as labels; None for any other spread (its keys are unknown)."""
    if not isinstance(node, ast.Dict):
        return None
    labels = []
    for key, value in zip(node.keys, node.values, strict=True):
        if not (isinstance(key, ast.Constant) and isinstance(key.value, str)):
            return None
        if key.value not in ("event", "n", "value"):
            labels.append(_label(key.value, value))
    return labels


def _is_none(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and node.value is None
