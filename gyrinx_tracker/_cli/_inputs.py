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


_ASCTIME = re.compile(r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)(?:[,.](\d{3}))?")
_LEVEL = re.compile(r"\b(DEBUG|INFO|NOTICE|WARN|WARNING|ERROR|CRITICAL)\b")
_TRACE_ID = re.compile(r"\b(?:otelTraceID|trace_id|trace)=([0-9a-f]{32})\b")


def open_input(path: str | None) -> TextIO:
    """The named file, or standard input for ``-`` or no name."""
    if path in (None, "-"):
        return sys.stdin
    return open(path, encoding="utf-8", errors="replace")


def entries(stream: TextIO, follow: bool = False) -> Iterator[Entry]:
    """Every JSON entry in ``stream``, normalised; the input's kind is told by its first character.

    ``follow`` keeps reading a file as it grows (line inputs only: an array has an end).
    """
    first = _first_char(stream)
    if first == "[":
        yield from (normalise(item) for item in _array_items(stream) if isinstance(item, dict))
        return
    source = _followed_lines(stream) if follow else stream
    for line in _prepend(first, source):
        entry = parse_line(line)
        if entry is not None:
            yield entry


def available(stream: TextIO) -> Iterator[Entry]:
    """The entries already in a file, stopping before a partial last line (it is left to follow).

    For ``tail -n``: the backlog is read once, then ``followed`` continues from where this stopped.
    A stream that cannot seek (stdin) is read to its end.
    """
    if not stream.seekable():
        yield from entries(stream)
        return
    start = stream.tell()
    if _first_char(stream) == "[":
        yield from (normalise(item) for item in _array_items(stream) if isinstance(item, dict))
        return
    stream.seek(start)
    while True:
        position = stream.tell()
        line = stream.readline()
        if not line.endswith("\n"):
            stream.seek(position)
            return
        entry = parse_line(line)
        if entry is not None:
            yield entry


def followed(stream: TextIO) -> Iterator[Entry]:
    """Entries from lines appended to the file from its current position on, as they complete."""
    for line in _followed_lines(stream):
        entry = parse_line(line)
        if entry is not None:
            yield entry


def parse_line(line: str) -> Entry | None:
    """The entry in one line: the JSON object in it, behind whatever prefix the app's log format added."""
    start = line.find("{")
    while start != -1:
        try:
            value, _ = _DECODER.raw_decode(line, start)
        except ValueError:
            start = line.find("{", start + 1)
            continue
        return _with_prefix(normalise(value), line[:start]) if isinstance(value, dict) else None
    return None


def _with_prefix(entry: Entry, prefix: str) -> Entry:
    """What an app's log format put before the message: the time, the level and a trace id.

    Through the ``gyrinx.tracker`` logger the message is the original payload alone, as the
    original tracker logged it; the time, level and trace are the record's, shown by the app's
    formatter (``%(asctime)s``, ``%(levelname)s``, ``%(otelTraceID)s``; see the README).
    """
    if not prefix.strip():
        return entry
    moment = _ASCTIME.search(prefix)
    if moment is not None and "timestamp" not in entry:
        local = datetime.strptime(moment.group(1), "%Y-%m-%d %H:%M:%S").astimezone()  # asctime is local
        millis = int(moment.group(2) or 0)
        entry["timestamp"] = (local.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
                              + f".{millis:03d}Z")
    level = _LEVEL.search(prefix)
    if level is not None and "severity" not in entry:
        entry["severity"] = "WARNING" if level.group(1) == "WARN" else level.group(1)
    trace = _TRACE_ID.search(prefix)
    if trace is not None and "trace" not in entry and int(trace.group(1), 16):
        entry["trace"] = trace.group(1)
    return entry


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


def _array_items(stream: TextIO) -> Iterator[Any]:
    """The elements of a JSON array whose ``[`` was already read, one at a time from a bounded buffer.

    The buffer is walked by index and trimmed only when more text is read, so each element costs
    its own size, not the buffer's.
    """
    buffer, at = "", 0
    while True:
        at = _skip_separators(buffer, at)
        if buffer.startswith("]", at):
            return
        try:
            item, at = _DECODER.raw_decode(buffer, at)
        except ValueError:
            chunk = stream.read(_CHUNK)
            if not chunk:
                return
            buffer, at = buffer[at:] + chunk, 0
            continue
        yield item


def _skip_separators(text: str, at: int) -> int:
    while at < len(text) and (text[at] == "," or text[at].isspace()):
        at += 1
    return at
