"""User-supplied key patterns (``GYRINX_TRACKER_REDACT_EXTRA``), checked once and run with a bound.

Python's ``re`` backtracks: ``(a+)+$`` takes 2**n steps on ``"a" * n + "!"``, so one 25-character
key stalled the export thread for seconds and every other event waited behind it. Three guards:

1. **A linear-time engine when there is one**: with ``google-re2`` installed (optional, never a
   dependency) a pattern RE2 accepts runs there, where no input takes more than linear time.
2. **Refusal at start-up** of a pattern ``re`` would run in super-linear time: a quantified group
   holding a quantifier of its own (``(a+)+``, ``(\\w*)*``, ``(x+y?){2,}``), or an alternation
   inside a repeat whose branches may start alike (``(a|a)*``, ``(\\w|\\d)+``). The pattern is read
   with CPython's own parser behind a probe (``re._parser`` on 3.11+, ``sre_parse`` on 3.10);
   where neither is usable a textual check stands in. What passes is then timed on adversarial
   inputs of growing length (runs of each character the pattern names, then one that cannot
   match) and refused if one search takes longer than ``_PROBE_BUDGET`` (polynomial blow-ups such
   as ``a*a*a*a*a*b``). A refused pattern warns once and is not used.
3. **A cap on what a pattern sees**: at most ``MAX_SUBJECT`` characters of a key.
"""

from __future__ import annotations

import functools
import importlib
import re
import sys
import time
import warnings
from collections.abc import Callable, Iterable
from types import ModuleType
from typing import Any

from gyrinx_tracker._diagnostics import warn_limited

Matcher = Callable[[str], bool]
MAX_SUBJECT = 128
_PROBE_LENGTHS = tuple(range(8, MAX_SUBJECT + 1, 8))
_PROBE_BUDGET = 0.005  # seconds one probe search may take; a sane pattern takes microseconds
_PROBES_BUDGET = 0.05  # seconds all the probes of one pattern may take (they run once per process)
_REPEATS = frozenset({"MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"})


def _load(name: str) -> ModuleType | None:
    try:
        with warnings.catch_warnings():  # sre_parse warns that it is deprecated (3.11+ only)
            warnings.simplefilter("ignore", DeprecationWarning)
            return importlib.import_module(name)
    except ImportError:
        return None


@functools.cache
def parser_probe() -> Callable[[str], Any] | None:
    """CPython's regular-expression parser, if it still parses ``(a+)+`` the way we read it."""
    for name in ("re._parser", "sre_parse"):
        module = _load(name)
        parse = getattr(module, "parse", None)
        if parse is None:
            continue
        try:
            (op, (_, _, inner)), = list(parse("(?:a+)+"))
            if str(op) == "MAX_REPEAT" and str(next(iter(inner))[0]) == "MAX_REPEAT":
                return parse  # type: ignore[no-any-return]
        except Exception:  # noqa: BLE001 - a changed private parser: use the textual check
            continue
    return None


@functools.cache
def re2_module() -> ModuleType | None:
    """``google-re2``'s module when installed (loaded only when there are extra patterns)."""
    return _load("re2")


def compile_extra(patterns: Iterable[str], use_re2: bool | None = None) -> tuple[Matcher, ...]:
    """The extra patterns as matchers; a refused or literal one warns (once: rate-limited)."""
    patterns = tuple(patterns)
    if not patterns:
        return ()
    compiled = _compile_all(patterns, re2_module() is not None if use_re2 is None else use_re2)
    for _, warning in compiled:
        if warning is not None:
            warn_limited(*warning)
    return tuple(matcher for matcher, _ in compiled if matcher is not None)


Warning = tuple[str, str, str, str]


@functools.lru_cache(maxsize=16)
def _compile_all(patterns: tuple[str, ...], use_re2: bool) -> tuple[tuple[Matcher | None, Warning | None], ...]:
    """Cached: each thread that cleans events builds its own sanitizer from the same configuration,
    and the probes of a pattern run once per process."""
    return tuple(_compile_one(pattern, use_re2) for pattern in patterns)


def _compile_one(pattern: str, use_re2: bool) -> tuple[Matcher | None, Warning | None]:
    """What ``re`` refuses is matched literally (as before RE2 was an option, so both engines
    agree on what a pattern means); what it accepts runs in RE2 when RE2 accepts it too."""
    try:
        compiled = _compile_strictly(pattern)
    except (re.error, TypeError, ValueError, DeprecationWarning) as error:
        literal = re.compile(re.escape(str(pattern)), re.IGNORECASE)
        return (lambda subject: literal.search(subject[:MAX_SUBJECT]) is not None,
                (f"config:redact_extra:{pattern!r}", "redact_extra pattern %r is not a "
                 "regular expression (%s); it is matched literally", pattern, str(error)))
    if use_re2 and re2_module() is not None:
        matcher = _re2_matcher(pattern)
        if matcher is not None:
            return matcher, None
    reason = pathological(pattern) or _slow_on_probes(compiled, pattern)
    if reason:
        return None, (f"config:redact_extra_unsafe:{pattern!r}", "redact_extra pattern %r is "
                      "refused: %s; such a pattern takes super-linear time on a short key and would stall the "
                      "exporter: rewrite it without nested quantifiers (or install google-re2)", pattern, reason)
    return lambda subject: compiled.search(subject[:MAX_SUBJECT]) is not None, None


def _re2_matcher(pattern: str) -> Matcher | None:
    """The pattern in RE2 (linear time), or None when RE2 does not support it (back-references,
    look-arounds): then ``re`` runs it, under the checks."""
    engine = re2_module()
    try:
        options = engine.Options()  # type: ignore[union-attr]
        options.case_sensitive = False
        options.log_errors = False  # RE2 would print its parse errors to stderr
        compiled = engine.compile(pattern, options)  # type: ignore[union-attr]
    except Exception:  # noqa: BLE001 - re2.error, or a pattern RE2 cannot express
        return None
    return lambda subject: compiled.search(subject[:MAX_SUBJECT]) is not None


def pathological(pattern: str) -> str | None:
    """Why ``re`` may take super-linear time on ``pattern``, or None."""
    parse = parser_probe()
    if parse is None:
        return _textual_check(pattern)
    try:
        return _walk(parse(pattern), inside=False)
    except Exception:  # noqa: BLE001 - the probe passed but this pattern surprised the parser
        return _textual_check(pattern)


def _walk(tree: Any, inside: bool) -> str | None:
    """``inside``: within a repeat of more than two iterations. There, a repeat of variable count
    or an alternation whose branches may start alike gives the engine many ways to split a run."""
    for op, argument in tree:
        name = str(op)
        found: str | None = None
        if name in _REPEATS:
            low, high, body = argument
            if inside and high != low:
                return "a quantifier inside a quantified group"
            found = _walk(body, inside or high > 2)
        elif name == "BRANCH":
            if inside and not _distinct_starts(argument[1]):
                return "an alternation whose branches may start alike inside a quantified group"
            found = next(filter(None, (_walk(branch, inside) for branch in argument[1])), None)
        elif name == "SUBPATTERN":
            found = _walk(argument[-1], inside)
        elif name in ("ASSERT", "ASSERT_NOT"):
            found = _walk(argument[1], inside)
        if found:
            return found
    return None


def _distinct_starts(branches: list[Any]) -> bool:
    starts = []
    for branch in branches:
        items = list(branch)
        if not items or str(items[0][0]) != "LITERAL":
            return False
        starts.append(items[0][1])
    return len(set(starts)) == len(starts)


# A group closed and quantified that holds a quantifier: the textual stand-in for the parser.
_NESTED = re.compile(r"[+*}][^()]*\)[+*{]|\|[^()]*\)[+*]")


def _textual_check(pattern: str) -> str | None:
    return "a quantifier inside a quantified group" if _NESTED.search(pattern) else None


def _slow_on_probes(compiled: re.Pattern[str], pattern: str) -> str | None:
    """Time the pattern on runs of each character it names, growing to ``MAX_SUBJECT``."""
    alphabet = {char for char in pattern.lower() if char.isalnum() or char in "_- ."} | {"a", "0", "_"}
    deadline = time.perf_counter() + _PROBES_BUDGET
    for length in _PROBE_LENGTHS:
        for char in sorted(alphabet):
            subject = char * length + "\x00"
            if _best_of_two(compiled, subject) > _PROBE_BUDGET:
                return f"a search of {length + 1} characters took over {_PROBE_BUDGET * 1000:.0f} ms"
            if time.perf_counter() > deadline:
                return f"its test searches took over {_PROBES_BUDGET * 1000:.0f} ms"
    return None


def _best_of_two(compiled: re.Pattern[str], subject: str) -> float:
    """The faster of up to two searches: one slow run may be another thread holding the GIL."""
    best = float("inf")
    for _ in range(2):
        start = time.perf_counter()
        compiled.search(subject)
        best = min(best, time.perf_counter() - start)
        if best <= _PROBE_BUDGET:
            break
    return best


def _compile_strictly(pattern: str) -> re.Pattern[str]:
    """``re.compile``, failing on 3.10 where 3.11+ fail: a global flag such as ``(?i)`` mid-pattern
    only warns there, and would then apply to the whole pattern instead of being matched literally."""
    if sys.version_info >= (3, 11):
        return re.compile(pattern, re.IGNORECASE)
    with warnings.catch_warnings():  # not thread-safe, but only at configuration, and only on 3.10
        warnings.simplefilter("error", DeprecationWarning)
        return re.compile(pattern, re.IGNORECASE)
