"""The local default: one compact JSON line per event through the ``gyrinx.tracker`` logger.

The seed promised JSON through that logger, so the application's logging configuration decides
where lines go. When the application configured no logging at all, Python would only print
warnings, so the lines go to stderr instead: a developer running a script sees their events.
Records are made with ``makeRecord`` and passed to ``handle``: the same handlers and filters run as
for ``logger.info``, without the stack walk ``logger.info`` does to find its caller (which here
would only ever find the exporter thread).
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Sequence
from typing import Any, Callable, TextIO

from gyrinx_tracker._format import encode_json, rfc3339, span_hex, trace_hex
from gyrinx_tracker._otel_logs import LogRecordExporter, LogRecordExportResult, Record
from gyrinx_tracker._sanitize import ENTRY_LIMIT, fit

EVENTS_LOGGER = "gyrinx.tracker"
_SIZE_CHECK = ENTRY_LIMIT // 4  # a line this short cannot exceed the limit even in 4-byte UTF-8


def local_line(record: Record) -> str:
    """The JSON line for one record: the seed's payload, then time, severity and trace ids.

    Concatenated rather than built as a dict and encoded whole: the fixed parts are constants,
    and only the labels go through the JSON encoder.
    """
    log = record.log_record
    body: dict[str, Any] = log.body  # type: ignore[assignment]
    name = body["event"]
    head = _heads.get(name) or _head(name)
    value = body.get("value")
    if value is None:
        shown = ""
    else:  # float.__repr__ is what the JSON encoder writes for a finite float
        shown = ',"value":' + (repr(value) if type(value) is float else encode_json(value))
    time = rfc3339(log.timestamp or log.observed_timestamp)
    line = f'{head}{body["n"]}{shown},"labels":{encode_json(body["labels"])},"time":"{time}","severity":"INFO"'
    if log.trace_id:
        line += f',"trace_id":"{trace_hex(log.trace_id)}","span_id":"{span_hex(log.span_id or 0)}"}}'
    else:
        line += "}"
    if len(line) > _SIZE_CHECK:
        line = _fitted(line)
    return line


_heads: dict[str, str] = {}


def _head(name: str) -> str:
    """``{"event":"<name>","n":`` for an event name, encoded once per name (bounded cache)."""
    head = '{"event":' + encode_json(name) + ',"n":'
    if len(_heads) < 10_000:
        _heads[name] = head
    return head


def _fitted(line: str) -> str:
    """The rare oversized line, rebuilt with its largest labels dropped until it fits."""
    text, _ = fit(json.loads(line), encode_json)
    return text


class LocalJsonExporter(LogRecordExporter):
    """Writes each record as a JSON line to the ``gyrinx.tracker`` logger, or stderr if unconfigured."""

    reads_attributes = False  # the body carries everything this output writes

    def __init__(self, logger_name: str = EVENTS_LOGGER, fallback: TextIO | None = None) -> None:
        self._logger = logging.getLogger(logger_name)
        self._fallback = fallback
        self._template: dict[str, Any] | None = None

    def export(self, batch: Sequence[Record]) -> LogRecordExportResult:
        logger = self._logger
        lines = [local_line(record) for record in batch]
        if not logger.hasHandlers():
            stream = self._fallback or sys.stderr
            stream.write("".join(line + "\n" for line in lines))
            stream.flush()
        elif logger.isEnabledFor(logging.INFO):
            make = self._record_maker()
            # Logger.handle is "if not disabled and the logger's filters pass: callHandlers"; with
            # no filters on the logger, calling callHandlers is the same thing, one call shorter.
            handle = logger.handle if logger.filters or logger.disabled else logger.callHandlers
            for record, line in zip(batch, lines):
                log = record.log_record
                handle(make(line, log.timestamp or log.observed_timestamp))
        return LogRecordExportResult.SUCCESS

    def _record_maker(self) -> Callable[[str, int], logging.LogRecord]:
        """How to make the stdlib record for a line, stamped with the event's own time.

        With the standard record class, a copy of a template record's fields is a complete
        ``LogRecord`` at about a third of ``makeRecord``'s cost (which reads the clock, the thread,
        the process and the path for every record, all the same for every record we make here).
        An application that installed its own record factory gets ``makeRecord``, so its factory
        runs for our records too.
        """
        logger = self._logger
        if logging.getLogRecordFactory() is not logging.LogRecord:
            return lambda line, time_ns: logger.makeRecord(
                logger.name, logging.INFO, "(gyrinx_tracker)", 0, line, (), None)
        if self._template is None:
            self._template = dict(logger.makeRecord(
                logger.name, logging.INFO, "(gyrinx_tracker)", 0, "", (), None).__dict__)
        template = self._template
        start = template["created"] - template["relativeCreated"] / 1000

        def make(line: str, time_ns: int) -> logging.LogRecord:
            record: logging.LogRecord = object.__new__(logging.LogRecord)
            fields = record.__dict__
            fields.update(template)
            created = time_ns / 1e9
            fields["msg"] = line
            fields["created"] = created
            fields["msecs"] = (time_ns % 1_000_000_000) // 1_000_000 + 0.0
            fields["relativeCreated"] = (created - start) * 1000
            return record

        return make

    def shutdown(self) -> None:
        return None

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return True
