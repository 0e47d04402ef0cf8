"""Reading the app's output, whatever its kind, as a stream of LogEntry-shaped dicts.

Three kinds of input reach the command line: local JSON lines written through the
``gyrinx.tracker`` logger (often behind the app's log prefix, ``2026-11-29 10:00:01 INFO ...``),
Cloud Run structured stdout lines (the payload at the top level beside ``severity``, ``time`` and
``logging.googleapis.com/*``), and ``gcloud logging read --format=json`` output (one JSON array of
LogEntry objects). Each becomes the dict Cloud Logging would store, so a single filter evaluator and
a single formatter serve all three, and Cloud Logging queries run on local files unchanged.

Everything streams: lines are read one at a time, and the array is decoded element by element
from a bounded buffer, so memory stays flat however long the input is.
"""

from __future__ import annotations

import json
import re
import sys
import time
from collections.abc import Iterable, Iterator
from datetime import datetime, timezone
from typing import Any, TextIO

from gyrinx_tracker._cli._tally import Tally

Entry = dict[str, Any]

GOOGLE = "logging.googleapis.com/"
_ENTRY_KEYS = frozenset({"jsonPayload", "logName", "insertId", "textPayload", "protoPayload"})
# Keys of a flat line that are entry metadata, not payload (local lines and Cloud Run stdout).
_FLAT_META = {"severity": "severity", "time": "timestamp", "timestamp": "timestamp",
              "trace_id": "trace", "span_id": "spanId", GOOGLE + "trace": "trace",
              GOOGLE + "spanId": "spanId", GOOGLE + "trace_sampled": "traceSampled",
              GOOGLE + "labels": "labels", GOOGLE + "insertId": "insertId"}
_DECODER = json.JSONDecoder()
_CHUNK = 64 * 1024


# The time an app's format puts first: ``%(asctime)s`` (``2026-11-29 10:00:01,123``), or an RFC 3339
# time; then the writer's zone if the format states it (a datefmt with ``%z``, ``Z``, `` UTC``).
_TIME_PATTERN = (r"(\d{4}-\d\d-\d\d)[ T](\d\d:\d\d:\d\d)(?:[,.](\d{1,9}))?"
                 r"(?:(Z|[+-]\d\d:?\d\d)\b| (UTC|GMT)\b)?")
_LEVELS = r"(DEBUG|INFO|NOTICE|WARN|WARNING|ERROR|CRITICAL)"
_ASCTIME = re.compile(_TIME_PATTERN)
# The common layout, ``%(asctime)s %(levelname)s ...``, read by one anchored match instead of two searches.
_HEAD = re.compile(_TIME_PATTERN + r"\s+" + _LEVELS + r"\b")
NO_ZONE_NOTE = ("the log's times carry no time zone (%(asctime)s without %z); they are read as UTC. "
                "If the app ran in another zone, give its format a datefmt ending in %z")
# Deeper than this is not a log entry but an attack or a bug; Python's recursion would fail near 1,000.
MAX_DEPTH = 200
DEEP = f"nested deeper than {MAX_DEPTH} levels"
# How the local output's metric lines begin (``_outputs/local/metric_lines.head``; a unit test holds the
# two together). They are cumulative series, not events: a query for ``jsonPayload.value > 10`` or an
# event count must not see them, and since the README's format now prints them beside the events
# (they carry ``otelTraceID`` too), the reader leaves them out and says so once.
METRIC_LINE = '{"metric":"tracker.'
METRIC_NOTE = ("the tracker's own metric lines (logger gyrinx.tracker.metrics) are series, not events: "
               "left out")
_STRUCTURE = re.compile(r'"(?:[^"\\]|\\.)*"?|[{}\[\]]')
_LEVEL = re.compile(r"\b" + _LEVELS + r"\b")
_LEVEL_NAMES = frozenset({"DEBUG", "INFO", "NOTICE", "WARN", "WARNING", "ERROR", "CRITICAL"})
_HEX32 = re.compile(r"[0-9a-f]{32}")
_TRACE_ID = re.compile(r"\b(?:otelTraceID|trace_id|trace)=([0-9a-f]{32})\b")


def open_input(path: str | None) -> TextIO:
    """The named file, or standard input for ``-`` or no name."""
    if path in (None, "-"):
        return sys.stdin
    return open(path, encoding="utf-8", errors="replace")


def entries(stream: TextIO, follow: bool = False, tally: Tally | None = None) -> Iterator[Entry]:
    """Every JSON entry in ``stream``, normalised; the input's kind is told by its first character.

    ``follow`` keeps reading a file as it grows (line inputs only: an array has an end). Lines or
    elements that cannot be read safely are counted in ``tally`` and skipped.
    """
    tally = tally if tally is not None else Tally()
    first = _first_char(stream)
    if first == "[":
        yield from (normalise(item) for item in _array_items(stream, tally) if isinstance(item, dict))
        return
    source = _followed_lines(stream) if follow else stream
    reader = _LineReader(tally)
    for line in _prepend(first, source):
        entry = reader.parse(line)
        if entry is not None:
            yield entry


def available(stream: TextIO, tally: Tally | None = None) -> Iterator[Entry]:
    """The entries already in a file, stopping before a partial last line (it is left to follow).

    For ``tail -n``: the backlog is read once, then ``followed`` continues from where this stopped.
    A stream that cannot seek (stdin) is read to its end.
    """
    tally = tally if tally is not None else Tally()
    if not stream.seekable():
        yield from entries(stream, tally=tally)
        return
    start = stream.tell()
    if _first_char(stream) == "[":
        yield from (normalise(item) for item in _array_items(stream, tally) if isinstance(item, dict))
        return
    stream.seek(start)
    reader = _LineReader(tally)
    while True:
        position = stream.tell()
        line = stream.readline()
        if not line.endswith("\n"):
            stream.seek(position)
            return
        entry = reader.parse(line)
        if entry is not None:
            yield entry


def followed(stream: TextIO, tally: Tally | None = None) -> Iterator[Entry]:
    """Entries from lines appended to the file from its current position on, as they complete."""
    reader = _LineReader(tally if tally is not None else Tally())
    for line in _followed_lines(stream):
        entry = reader.parse(line)
        if entry is not None:
            yield entry


def parse_line(line: str, tally: Tally | None = None) -> Entry | None:
    """The entry in one line: the JSON object in it, behind whatever prefix the app's log format added."""
    return _LineReader(tally if tally is not None else Tally()).parse(line)


def depth(text: str, start: int = 0) -> tuple[int, int | None]:
    """The deepest nesting of the JSON value at ``start``, and the index after it (None if it does not end).

    Iterative and string-aware (braces inside strings do not count), so any depth is safe to measure.
    """
    level = deepest = 0
    for token in _STRUCTURE.finditer(text, start):
        char = token.group()
        if char in "{[":
            level += 1
            deepest = max(deepest, level)
        elif char in "}]":
            level -= 1
            if level <= 0:
                return deepest, token.end()
    return deepest, None


def _too_deep(text: str, start: int = 0, end: int | None = None) -> bool:
    """Whether the value at ``start`` nests deeper than MAX_DEPTH; counting brackets first keeps it cheap."""
    if text.count("{", start, end) + text.count("[", start, end) <= MAX_DEPTH:
        return False
    return depth(text[start:end] if end is not None else text, 0 if end is not None else start)[0] > MAX_DEPTH


class _LineReader:
    """Line inputs, one line at a time: the JSON in it, the prefix's time (cached per second), level, trace."""

    def __init__(self, tally: Tally) -> None:
        self.tally = tally
        self._second: tuple[str, str, str | None] | None = None
        self._utc = ""
        self._fast_second = ""
        self._fast_utc = ""

    def parse(self, line: str) -> Entry | None:
        start = line.find("{")
        if start != -1 and line.startswith(METRIC_LINE, start):
            self.tally.note(METRIC_NOTE)
            return None
        if start != -1 and _too_deep(line, start):
            self.tally.skip(DEEP)
            return None
        while start != -1:
            try:
                value, _ = _DECODER.raw_decode(line, start)
            except ValueError:
                start = line.find("{", start + 1)
                continue
            except RecursionError:  # the depth check above should make this unreachable; stay safe
                self.tally.skip(DEEP)
                return None
            return self._with_prefix(normalise(value), line[:start]) if isinstance(value, dict) else None
        return None

    def _with_prefix(self, entry: Entry, prefix: str) -> Entry:
        """What an app's log format put before the message: the time, the level and a trace id.

        Through the ``gyrinx.tracker`` logger the message is the original payload alone, as the
        original tracker logged it; the time, level and trace are the record's, shown by the app's
        formatter (``%(asctime)s``, ``%(levelname)s``, ``%(otelTraceID)s``; see docs/outputs.md).
        """
        if not prefix.strip():
            return entry
        if self._fast(entry, prefix):
            _prefix_level_and_trace(entry, prefix)
            return entry
        head = _HEAD.match(prefix)
        if head is not None and "severity" not in entry:
            level = head.group(6)
            entry["severity"] = "WARNING" if level == "WARN" else level
        if "timestamp" not in entry:
            moment = head or _ASCTIME.search(prefix)
            if moment is not None:
                stamp = self._timestamp(moment)
                if stamp is not None:
                    entry["timestamp"] = stamp
        _prefix_level_and_trace(entry, prefix)
        return entry

    def _fast(self, entry: Entry, prefix: str) -> bool:
        """``%(asctime)s %(levelname)s `` read at fixed positions, the common case; False to use the regexes.

        ``2026-11-29 10:00:01,123 INFO ...``: the time is the first 23 characters and has no zone,
        so slicing replaces two regex matches (a tenth of the per-line cost of the local format).
        """
        if not (len(prefix) > 24 and prefix[23] == " " and prefix[19] == "," and prefix[10] == " "
                and prefix[4] == "-" and prefix[20:23].isdigit()):
            return False
        level = prefix[24:prefix.find(" ", 24)]
        if level not in _LEVEL_NAMES:  # `` UTC`` or another layout after the time: the regexes decide
            return False
        if "timestamp" not in entry:
            second = prefix[:19]
            if second != self._fast_second:
                utc = _utc_second(prefix[:10], prefix[11:19], None)
                if utc is None:
                    return False
                self.tally.note(NO_ZONE_NOTE)
                self._fast_second, self._fast_utc = second, utc
            entry["timestamp"] = f"{self._fast_utc}.{prefix[20:23]}Z"
        if "severity" not in entry:
            entry["severity"] = "WARNING" if level == "WARN" else level
        return True

    def _timestamp(self, moment: re.Match[str]) -> str | None:
        """RFC 3339 UTC for the prefix's time: the writer's zone if stated, else UTC (and a note).

        One line per millisecond still shares its second with many others, so the conversion is
        done once per distinct second and zone: ``strptime`` per line was most of the CPU.
        """
        date, clock, fraction, offset, word = moment.group(1, 2, 3, 4, 5)
        zone = offset or word
        key = (date, clock, zone)
        if key != self._second:
            utc = _utc_second(date, clock, zone)
            if utc is None:
                return None
            if zone is None:
                self.tally.note(NO_ZONE_NOTE)
            self._second, self._utc = key, utc
        return f"{self._utc}.{(fraction or '0')[:3].ljust(3, '0')}Z"


def _utc_second(date: str, clock: str, zone: str | None) -> str | None:
    """``YYYY-MM-DDTHH:MM:SS`` in UTC for a wall-clock second in ``zone`` (None, Z, UTC, GMT: UTC)."""
    offset = "+00:00" if zone in (None, "Z", "UTC", "GMT") else zone
    if len(offset) == 5:  # +0100: Python 3.10's fromisoformat takes only +01:00
        offset = f"{offset[:3]}:{offset[3:]}"
    try:
        moment = datetime.fromisoformat(f"{date}T{clock}{offset}")
    except ValueError:
        return None
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")


def has_zone(text: str) -> bool:
    """Whether an RFC 3339 time states its zone (a date alone, or a time without an offset, does not)."""
    tail = text.strip()[10:]
    return tail.upper().endswith("Z") or bool(re.search(r"[+-]\d\d:?\d\d$", tail))


def _prefix_level_and_trace(entry: Entry, prefix: str) -> None:
    """The level and trace id a log format put in the prefix; ``str.find`` first, a regex only if needed.

    A regex search tries every position of the prefix; the recommended format's ``trace_id=`` is
    found with one ``find``, which keeps a million-line file at C speed for this step.
    """
    if "severity" not in entry:
        level = _LEVEL.search(prefix)
        if level is not None:
            entry["severity"] = "WARNING" if level.group(1) == "WARN" else level.group(1)
    if "trace" in entry:
        return
    trace: str | None = None
    at = prefix.find("trace_id=")
    if at != -1 and (at == 0 or not prefix[at - 1].isalnum()):
        candidate = prefix[at + 9:at + 41]
        if _HEX32.fullmatch(candidate) and not prefix[at + 41:at + 42].isalnum():
            trace = candidate
    elif "race" in prefix or "TraceID" in prefix:
        found = _TRACE_ID.search(prefix)
        trace = found.group(1) if found is not None else None
    if trace is not None and trace.strip("0"):
        entry["trace"] = trace


def normalise(value: dict[str, Any]) -> Entry:
    """A LogEntry-shaped dict: entries pass through, flat lines have their payload put under jsonPayload."""
    if _ENTRY_KEYS.intersection(value):
        return value
    entry: Entry = {}
    payload: dict[str, Any] = {}
    for key, item in value.items():
        target = _FLAT_META.get(key)
        if target is None:
            payload[key] = item
        else:
            entry[target] = item
    entry["jsonPayload"] = payload
    return entry


def payload(entry: Entry) -> dict[str, Any]:
    """The entry's jsonPayload, or an empty dict when it has none (a text or proto entry)."""
    found = entry.get("jsonPayload")
    return found if isinstance(found, dict) else {}


def event_of(entry: Entry) -> str | None:
    """The tracker event an entry carries, if it is one."""
    name = payload(entry).get("event")
    return name if isinstance(name, str) else None


def parse_time(text: object) -> float | None:
    """Seconds since the epoch for an RFC 3339 time (nanoseconds and offsets allowed), or a date."""
    if not isinstance(text, str) or len(text) < 10:
        return None
    raw = text.strip().replace("z", "Z")
    if raw.endswith("Z"):
        raw = raw[:-1] + "+00:00"
    if "." in raw:  # datetime takes at most microseconds: trim the fraction to six digits
        head, _, rest = raw.partition(".")
        digits = len(rest) - len(rest.lstrip("0123456789"))
        raw = head + "." + rest[:min(digits, 6)].ljust(6, "0") + rest[digits:]
    try:
        moment = datetime.fromisoformat(raw.replace(" ", "T", 1) if "T" not in raw else raw)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()


def _first_char(stream: TextIO) -> str:
    """The first non-blank character, consumed; the rest of its line is handed back by ``_prepend``."""
    while True:
        char = stream.read(1)
        if not char or not char.isspace():
            return char


def _prepend(first: str, lines: Iterable[str]) -> Iterator[str]:
    iterator = iter(lines)
    if first:
        yield first + next(iterator, "")
    yield from iterator


def _followed_lines(stream: TextIO, poll: float = 0.2) -> Iterator[str]:
    """Lines of a growing file, like ``tail -f``: at the end, wait for more; partial lines wait too."""
    pending = ""
    while True:
        line = stream.readline()
        if not line:
            time.sleep(poll)
            continue
        pending += line
        if pending.endswith("\n"):
            yield pending
            pending = ""


def _array_items(stream: TextIO, tally: Tally) -> Iterator[Any]:
    """The elements of a JSON array whose ``[`` was already read, one at a time from a bounded buffer.

    The buffer is walked by index and trimmed only when more text is read, so each element costs
    its own size, not the buffer's. An element nested too deep is measured without recursion,
    skipped and counted, and reading goes on after it.
    """
    buffer, at = "", 0
    while True:
        at = _skip_separators(buffer, at)
        if buffer.startswith("]", at):
            return
        try:
            item, end = _DECODER.raw_decode(buffer, at)
        except RecursionError:
            skipped_to = depth(buffer, at)[1]
            if skipped_to is not None:
                tally.skip(DEEP, "entry")
                at = skipped_to
                continue
        except ValueError:
            pass
        else:
            if _too_deep(buffer, at, end):
                tally.skip(DEEP, "entry")
            else:
                yield item
            at = end
            continue
        chunk = stream.read(_CHUNK)
        if not chunk:
            return
        buffer, at = buffer[at:] + chunk, 0


def _skip_separators(text: str, at: int) -> int:
    while at < len(text) and (text[at] == "," or text[at].isspace()):
        at += 1
    return at
