"""The local default: one compact JSON line per event through the ``gyrinx.tracker`` logger.

The original tracker promised JSON through that logger, so the application's logging configuration decides
where lines go. When the application configured no logging at all, Python would only print
warnings, so the lines go to stderr instead: a developer running a script sees their events.
Records are made as ``makeRecord`` makes them and passed to the handlers as ``handle`` does
(``stdlib_records``): the same handlers and filters run as for ``logger.info``, without the stack
walk ``logger.info`` does to find its caller (which here would only ever find the exporter thread).
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Sequence
from typing import Any, TextIO

from gyrinx_tracker._otel_logs import Record
from gyrinx_tracker._outputs.base import Delivery
from gyrinx_tracker._outputs.fast_json import encode_json
from gyrinx_tracker._outputs.limits import ENTRY_LIMIT, fit
from gyrinx_tracker._outputs.stdlib_records import MakeRecord, dispatcher, record_maker
from gyrinx_tracker._outputs.text import rfc3339, span_hex, trace_hex
from gyrinx_tracker._records import SAMPLE_RATE

EVENTS_LOGGER = "gyrinx.tracker"
_SIZE_CHECK = ENTRY_LIMIT // 4  # a line this short cannot exceed the limit even in 4-byte UTF-8


def local_line(record: Record) -> str:
    """The JSON line for one record: the original payload, then time, severity and trace ids.

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
    line = f'{head}{body["n"]}{shown},"labels":{encode_json(body["labels"])}'
    rate = body.get(SAMPLE_RATE)  # only on entries kept by a sample rate below 1 (see _sampling)
    if rate is not None:
        line += f',"sample_rate":{rate!r}'
    line += f',"time":"{time}","severity":"INFO"'
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


class LocalJsonWriter:
    """Writes each record as a JSON line to the ``gyrinx.tracker`` logger, or stderr if unconfigured."""

    reads_attributes = False  # the body carries everything this output writes

    def __init__(self, logger_name: str = EVENTS_LOGGER, fallback: TextIO | None = None) -> None:
        self._logger = logging.getLogger(logger_name)
        self._fallback = fallback
        self._make: MakeRecord | None = None
        self._factory: object = None

    def write(self, records: Sequence[Record]) -> Delivery:
        logger = self._logger
        lines = [local_line(record) for record in records]
        if not logger.hasHandlers():
            stream = self._fallback or sys.stderr
            stream.write("".join(line + "\n" for line in lines))
            stream.flush()
        elif logger.isEnabledFor(logging.INFO):
            make = self._record_maker()
            handle = dispatcher(logger)
            for record, line in zip(records, lines, strict=True):
                log = record.log_record
                handle(make(line, log.timestamp or log.observed_timestamp))
        return Delivery(len(records))

    def _record_maker(self) -> MakeRecord:
        """The record maker, made again only if the app changed its record factory since."""
        factory = logging.getLogRecordFactory()
        if self._make is None or factory is not self._factory:
            self._make, self._factory = record_maker(self._logger), factory
        return self._make

    def flush(self, timeout: float) -> bool:
        return True

    def shutdown(self, timeout: float) -> None:
        return None
