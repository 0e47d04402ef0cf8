"""Validation and salvage of one ``track()`` call's arguments.

The rule is: never raise, never lose the event. A bad event name is repaired, a bad ``n`` is
recorded as 0 and kept out of the counter, a bad ``value`` is left out, bad labels are converted,
truncated, redacted or dropped one by one, and every lossy step is reported under a cause key so
the application hears about it once, not once per request.
"""

from __future__ import annotations

import decimal
import json
import math
import numbers
import re
import sys
from json.encoder import encode_basestring_ascii as _escaped
from threading import Thread
from typing import Any

from opentelemetry.context import Context

from gyrinx_tracker._config import TrackerConfig
from gyrinx_tracker._core.caller_trace import CALLER_SPAN, resolved
from gyrinx_tracker._core.encode import JSON, Encoder
from gyrinx_tracker._core.event import DROPPED_LABELS, Event, Site
from gyrinx_tracker._core.plain import MAX_SAFE_INT, SCALAR_CHARS, SCALARS, is_count, is_safe_int
from gyrinx_tracker._core.problems import Problems
from gyrinx_tracker._core.redact import REDACTED, Redactor

# Bytes of JSON the labels of one event may take. Outputs limit whole entries (Cloud Logging
# rejects entries over 256 KB: see _outputs.limits); keeping labels under this budget makes the
# outputs' own size check a rare path.
LABELS_BUDGET = 200_000
MAX_EVENT_NAME = 100
MAX_KEY = 64
UNNAMED = "unnamed_event"
REDACTED_NAME = "redacted_event_name"
_MAX_FLOAT_INT = int(sys.float_info.max)

_VALID_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_.\-]*\Z")
_INVALID_CHARS = re.compile(r"[^A-Za-z0-9_.\-]+")
_NAME_CACHE_LIMIT = 10_000
# Labels copied as they are (see Sanitizer._all_plain): strings up to this long, keys whose JSON
# (quotes, colon and comma included) is at most this long.
_PLAIN_STRING = 256
_PLAIN_KEY_COST = 72
# Distinct string values remembered as plain (see Sanitizer._all_plain); the set is emptied when
# full, so it follows the values in use and holds at most this many strings of _PLAIN_STRING.
_PLAIN_VALUES_LIMIT = 4_096


class Sanitizer:
    """Cleans events under one configuration; holds the caches that make the common case cheap."""

    def __init__(self, config: TrackerConfig) -> None:
        self._config = config
        self._redactor = Redactor(config.redact_allow, config.redact_extra, config.redact_emails)
        self._may_hide = self._redactor.may_hide
        self._encoder = Encoder(config.max_string, self._redactor.is_secret_key, self._report, self._redactor.hide)
        self.problems: Problems = []  # found by the event being cleaned; the worker reads it before take_problems()
        self._names: dict[object, str] = {}
        self._keys: dict[str, tuple[str, bool, int]] = {}
        # Keys seen before that need nothing done: not secret, not repaired, short plain ASCII.
        self._plain_keys: set[str] = set()
        # String values seen before that passed every check below: a label value repeats (an
        # endpoint, a method, a user's id over their requests), and one set look-up is a fraction
        # of the length, ASCII, printable and credential checks. Exact str only (see _all_plain), and
        # the safe ints, None and bools seen, for the worker's set check (see queued).
        self._plain_values: set[object] = set()
        self._short = min(_PLAIN_STRING, config.max_string)
        worst = config.max_labels * (2 * self._short + 2 + _PLAIN_KEY_COST)  # '"' and '\\' escape to 2
        self._plain_fits = worst <= LABELS_BUDGET
        self._max_labels = config.max_labels
        # The most labels the worker's set check (see queued) may pass; -1 when any set may be too large.
        self._plain_count = config.max_labels if self._plain_fits else -1

    def _report(self, cause: str, detail: str) -> None:
        self.problems.append((cause, detail))

    def take_problems(self) -> Problems:
        """Return the problems found since the last call and start a new list (only if any: this
        runs once per event and almost always finds none)."""
        problems = self.problems
        if problems:
            self.problems = []
        return problems

    def queued(self, name: str, n: int, value: float | None, labels: dict[str, Any], time_ns: int,
               context: Context | None, thread: Thread | None, site: Site | None) -> Event:
        """Clean a call that ``plain.queueable`` accepted (the worker's case): its count is one, its
        value None, a float or a safe int, its labels bounded scalars, so only the name, a float's
        finiteness and the labels are looked at. The problems found are left for ``take_problems``.

        What ``track()`` read on the caller's thread (time, context, thread, call site) is passed to
        the constructor: an event is never changed once made.

        Labels whose keys and values were all seen plain before are kept after two set checks in C
        (``issuperset``), not a loop in Python. Comparing by value is sound here because
        ``queueable`` let only exact str, safe int, float, bool and None through: a str equals only
        a str (and only exact strs seen plain are remembered), and a number equal to a remembered
        safe int (``True``, ``1.0``) is plain too; NaN and infinities equal nothing remembered.
        """
        known = self._names.get(name)
        if type(value) is float and value - value != 0.0:  # not is_finite (inline: once per event): NaN or inf
            value = self.value(value)
        if not labels:
            labels = {}
        elif not (len(labels) <= self._plain_count and self._plain_keys.issuperset(labels)
                  and self._plain_values.issuperset(labels.values())):
            labels = self.labels(labels)
        if context is not None and CALLER_SPAN in context:
            context = resolved(context)
        return Event(known or self.name(name), n, value, labels, time_ns, context, thread, site)

    def event(self, name: object, n: object, value: object, labels: dict[str, Any]) -> Event:
        """Validate any call, with no time, context or caller; for tests and tools."""
        return self.measured_event(name, n, value, labels, 0, None, None, None)[0]

    def measured_event(self, name: object, n: object, value: object, labels: dict[str, Any], time_ns: int,
                       context: Context | None, thread: Thread | None, site: Site | None) -> tuple[Event, int | None]:
        """Validate any call (the caller's thread: a call not queueable as given, or strict mode),
        with the JSON size of the labels it kept, or None when they were kept as given (plain labels
        are not measured): the caller's thread charges large events to the queue's byte budget by
        that size."""
        kept, size = self.measured_labels(labels) if labels else ({}, 0)
        event = Event(self.name(name), self.count(n), self.value(value), kept, time_ns, resolved(context), thread, site)
        return event, size

    def name(self, raw: object) -> str:
        """The event name, repaired into ``[A-Za-z][A-Za-z0-9_.-]*`` of at most 100 characters."""
        exact = type(raw) is str  # a str subclass may override __hash__: no cache, no trust
        cached = self._names.get(raw) if exact else None
        if cached is not None:
            return cached
        name = self._repair_name(raw)
        if exact and len(self._names) < _NAME_CACHE_LIMIT and name == raw:
            self._names[name] = name
        return name

    def _repair_name(self, raw: object) -> str:
        """The name repaired; only its first 200 characters are read, whatever its length.

        A name shaped like a credential (an access key passed as the name by mistake) is recorded
        as ``redacted_event_name``; the warning says what the name was (type and length), never
        its text, and shows the repaired name, which is what the output carries anyway.
        """
        try:
            is_text = isinstance(raw, str)  # may raise: isinstance consults a hostile __class__
            if isinstance(raw, str):
                text = str.__getitem__(raw, slice(0, MAX_EVENT_NAME * 2 + 1))
            else:
                text = "" if raw is None else str(self._encoder.plain(raw))[: MAX_EVENT_NAME * 2]
        except Exception:  # noqa: BLE001 - the name is repaired, the event is kept
            is_text, text = False, ""
        if self._redactor.hides_name(text):
            self._report("secret_value", f"event name ({_preview(raw)}) holds a credential; "
                                         f"recorded as {REDACTED_NAME!r}")
            return REDACTED_NAME
        if is_text and len(text) <= MAX_EVENT_NAME and _VALID_NAME.match(text):
            return text
        cut = text.strip()
        repaired = _INVALID_CHARS.sub("_", cut).strip("_")[:MAX_EVENT_NAME] or UNNAMED
        if not repaired[0].isalpha():
            repaired = ("e_" + repaired)[:MAX_EVENT_NAME]
        self._report("invalid_event_name",
                     f"event name ({_preview(raw)}) is not a snake_case name; recorded as {repaired!r}")
        return repaired

    def count(self, raw: object) -> int:
        """``n`` as a positive int; anything else is recorded as 0 and kept out of the counter.

        Counts above 2**53 are refused too: JSON readers and OTLP's int64 sums cannot carry them.
        """
        if is_count(raw):
            return raw
        integral = _as_integral(raw)  # numpy's integers are ints in all but type
        if is_count(integral):
            return integral
        coerced = _as_number(raw)
        if coerced is not None and 1 <= coerced < MAX_SAFE_INT and coerced.is_integer():  # < : exact
            self._report("n_coerced", f"n ({_preview(raw)}) is not an int; counted as {int(coerced)}")
            return int(coerced)
        self._report("invalid_n", f"n ({_preview(raw)}) is not a positive int up to 2**53; the event is "
                                  "recorded with n=0 and not counted")
        return 0

    def value(self, raw: object) -> int | float | None:
        """``value`` as a finite number, or None (left out of the payload and the histogram)."""
        if raw is None or (type(raw) is float and math.isfinite(raw)):
            return raw
        if type(raw) is int and -_MAX_FLOAT_INT <= raw <= _MAX_FLOAT_INT:  # 10**400 is no float
            return raw
        if _is_real(raw):  # numpy's floats and ints: numbers in all but type, no warning
            number = _as_number(raw)
            if number is not None and math.isfinite(number):
                return number
        coerced = _as_number(raw)
        if coerced is not None and math.isfinite(coerced):
            self._report("value_coerced", f"value ({_preview(raw)}) is not a float; recorded as a float")
            return coerced
        self._report("invalid_value", f"value ({_preview(raw)}) is not a finite number; it was left out")
        return None

    def labels(self, raw: dict[str, Any]) -> dict[str, JSON]:
        """Labels converted, bounded in count and bytes, and redacted where they look secret.

        Labels that need nothing done are kept as the very dict given, not copied: ``raw`` is
        ``track()``'s ``**labels``, a dict Python makes for each call, which nothing else holds.
        """
        return raw if self._all_plain(raw) else self._converted(raw)[0]

    def measured_labels(self, raw: dict[str, Any]) -> tuple[dict[str, JSON], int | None]:
        """``labels``, with the JSON size of the converted ones (None: kept as given, not measured)."""
        return (raw, None) if self._all_plain(raw) else self._converted(raw)

    def _all_plain(self, raw: dict[str, Any]) -> bool:
        """True when every label is already what ``_converted`` would make of it: a known, safe key
        with None, a bool, a finite float, a safe int, or a short printable ASCII string that is no
        credential (printable: only ``"`` and ``\\`` need escaping, to two characters each).

        Then the labels are kept as they are. ``_plain_fits`` guarantees that any such set of at
        most ``max_labels`` labels is within the byte budget, so no size check is needed.
        """
        if not self._plain_fits or len(raw) > self._max_labels:
            return False
        safe = self._plain_keys
        short = self._short
        plain = self._plain_values
        may_hide = self._may_hide
        for key, item in raw.items():
            if key not in safe:
                return False
            kind = type(item)
            if kind is str:  # exactly str: its hash and equality are str's, so the set decides
                if item in plain:
                    continue
                if not (len(item) <= short and item.isascii() and item.isprintable()
                        and not may_hide(item)):
                    return False
                if len(plain) >= _PLAIN_VALUES_LIMIT:
                    plain.clear()
                plain.add(item)
            elif kind is int:
                if not -MAX_SAFE_INT <= item <= MAX_SAFE_INT:
                    return False
                if item not in plain:  # remembered for queued's set check: an exact, safe int
                    if len(plain) >= _PLAIN_VALUES_LIMIT:
                        plain.clear()
                    plain.add(item)
            elif kind is float:
                if item - item != 0.0:  # NaN or infinite (is_finite, inline)
                    return False
            elif item is None or kind is bool:
                if item not in plain:
                    plain.add(item)  # at most three such: the bound above still holds within three
            else:
                return False
        return True

    def _converted(self, raw: dict[str, Any]) -> tuple[dict[str, JSON], int]:
        """Labels converted, bounded in count and bytes, and redacted where they look secret, with
        the JSON size of what was kept.

        This runs once per label per event, so the per-key work (cleaning, the redaction verdict,
        its JSON size) is cached by key, and str/int values take a path without calls.
        """
        limit = self._config.max_labels
        max_string = self._config.max_string
        budget = LABELS_BUDGET
        result: dict[str, JSON] = {}
        dropped = 0
        keys = self._keys
        may_hide = self._may_hide
        for key, item in raw.items():
            if len(result) >= limit or budget <= 0:
                dropped += 1
                continue
            known = keys.get(key) if type(key) is str else None
            if known is None:
                known = self._known_key(key)
            key, secret, key_cost = known
            if secret:
                result[key] = REDACTED
                continue
            budget -= key_cost
            kind = type(item)
            if kind is str and len(item) <= max_string and item.isascii() and not may_hide(item):
                cleaned: JSON = item  # what Encoder.string returns for it, without the calls
                budget -= len(_escaped(item))
            elif is_safe_int(item):
                cleaned = item
                budget -= SCALAR_CHARS
            else:
                cleaned = self._encoder.string(item) if kind is str else self._encoder.plain(item, budget)
                budget -= _estimate(cleaned)
            if budget < 0:
                dropped += 1
                continue
            result[key] = cleaned
        if dropped:
            result[DROPPED_LABELS] = dropped
            self._report("too_many_labels", f"{dropped} labels were dropped to keep the entry within "
                                            f"{limit} labels and {LABELS_BUDGET} bytes")
        return result, LABELS_BUDGET - max(budget, 0)

    def _known_key(self, key: object) -> tuple[str, bool, int]:
        """(cleaned key, is it a secret, its JSON cost), cached for str keys."""
        problems = len(self.problems)
        clean = self._key(key)
        hidden = self._redactor.hidden_key(key, clean)
        if hidden is not clean:  # a credential used as a key: an access key, a URL with its password
            clean = hidden
            self._report("secret_value", "a label key that looks like a credential was redacted")
        known = (clean, self._redactor.is_secret_key(clean), len(_escaped(clean)) + 4)  # '"key": ' ', '
        if type(key) is str and len(self._keys) < _NAME_CACHE_LIMIT:
            self._keys[key] = known
            plain = clean == key and not known[1] and len(self.problems) == problems
            if plain and known[2] <= _PLAIN_KEY_COST and len(self._plain_keys) < _NAME_CACHE_LIMIT:
                self._plain_keys.add(key)
        return known

    def _key(self, key: object) -> str:
        try:
            text = (str.__getitem__(key, slice(0, MAX_KEY + 1)) if isinstance(key, str)
                    else str(self._encoder.plain(key))[: MAX_KEY + 1])
        except Exception:  # noqa: BLE001 - a hostile key object: keep the value under a stand-in
            text = ""
        if not text.isascii():
            text = self._encoder.unicode(text)
        if 0 < len(text) <= MAX_KEY:
            return text
        self._report("invalid_label_key", f"label key ({_preview(key)}) is empty or too long")
        return text[:MAX_KEY] or "_empty"


def _estimate(value: JSON) -> int:
    """An upper bound of a cleaned value's size in JSON, whether escaped to ASCII or not.

    ASCII escaping is the larger form (``\u0000`` is 6 bytes either way, an emoji 12 escaped and
    4 in UTF-8), so bounding it bounds both; the encoder is the C one and costs little more than
    ``len``. Characters are not bytes: counting them let 120 labels of emoji reach 2 MB.
    """
    if type(value) is str:
        return len(_escaped(value))
    if type(value) in SCALARS:
        return SCALAR_CHARS
    return len(json.dumps(value, separators=(", ", ": ")))


# Numeric text longer than this is no count or measurement: it is not parsed (float() of a
# megabyte of digits is work on the caller's thread for nothing).
_MAX_NUMERIC_TEXT = 64
# Numbers short enough to quote in a warning: -1, 2.5, nan, 1e308. Longer ones might be a card
# number or a PIN passed by mistake, and are described by their type and number of digits.
_MAX_QUOTED_NUMBER = 6


def _as_number(raw: object) -> float | None:
    """A float for numeric-looking input (bool excluded: ``True`` is not a count), else None.

    Only numbers (``numbers.Real``: numpy's too, registered by numpy), Decimal and short numeric
    text are read: an arbitrary object's ``__float__`` is its own code, not run on the caller.
    """
    try:
        if isinstance(raw, bool):
            return None
        if isinstance(raw, (int, float, decimal.Decimal)):
            return float(raw)
        if isinstance(raw, str):
            return float(raw.strip()) if str.__len__(raw) <= _MAX_NUMERIC_TEXT else None
        if _is_real(raw):
            return float(raw)  # type: ignore[arg-type]
    except Exception:  # noqa: BLE001 - a hostile __float__ or strip() must not lose the event
        return None
    return None


def _is_real(raw: object) -> bool:
    """A registered real number that is not a bool (numpy's bool_ is registered with neither)."""
    try:
        return isinstance(raw, numbers.Real) and not isinstance(raw, bool)
    except Exception:  # noqa: BLE001 - isinstance consults a hostile __class__
        return False


def _as_integral(raw: object) -> int | None:
    try:
        if isinstance(raw, numbers.Integral) and not isinstance(raw, bool):
            return int(raw)
    except Exception:  # noqa: BLE001 - a hostile __class__ or __int__ must not lose the event
        return None
    return None


def _preview(raw: object) -> str:
    """What a warning may say about bad input: its type and size, never its text.

    A secret passed by mistake as the name, ``n`` or ``value`` must not reach the logs, so only
    None, booleans and short numbers are quoted. ``type()`` and the base types' own ``__len__``
    are used: no code of the object runs (a hostile ``__class__``, ``__repr__`` or ``__len__``).
    """
    kind = type(raw)
    name = kind.__name__
    if raw is None or kind is bool:
        return repr(raw)
    try:
        if kind is int or kind is float:
            text = repr(raw)
            return text if len(text) <= _MAX_QUOTED_NUMBER else f"an {name} of {len(text)} characters"
        if issubclass(kind, str):
            return f"a {name} of {str.__len__(raw)} characters"  # type: ignore[arg-type]
        if issubclass(kind, (bytes, bytearray, memoryview)):
            return f"a {name} of {memoryview(raw).nbytes} bytes"  # type: ignore[arg-type]
    except Exception:  # noqa: BLE001 - int's repr beyond 4300 digits raises
        return f"an {name} too long to show"
    return f"a {name}"
