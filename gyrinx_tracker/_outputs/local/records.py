"""Standard-library ``LogRecord``s for the local output, made without ``makeRecord``'s per-record work.

The local output hands one ``logging.LogRecord`` per event to the ``gyrinx.tracker`` logger's
handlers. ``Logger.makeRecord`` reads the clock, the thread, the process and the source path for
every record, and the local output then replaces most of them with the event's own (its time, the
calling thread, the call site); copying a template record's fields is a fraction of its cost,
which matters where the target is parity with the original tracker's ``logger.info``. It
relies on ``LogRecord`` keeping its fields in ``__dict__``, so it is fenced here and used only
with the standard record class: an application that installed its own record factory gets
``makeRecord``, and its factory runs for our records too. ``tests/unit/test_stdlib_records.py``
compares the records with ``makeRecord``'s field by field. How the records reach the handlers is
``dispatch``'s job.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

SOURCE = "(gyrinx_tracker)"
# The trace attributes of a record made outside any span: every record the local output makes has
# them (event lines and metric lines alike), so a format naming %(otelTraceID)s works for all.
NO_TRACE: dict[str, Any] = {"otelTraceID": "0", "otelSpanID": "0", "otelTraceSampled": False}
# Fields makeRecord computes from the current thread; extra= may not set them, so they are set after.
_OWN = ("thread", "threadName")
_SITE = ("pathname", "filename", "module", "funcName", "lineno")

MakeRecord = Callable[[str, int, dict[str, Any]], logging.LogRecord]
# (base: the template already merged with the event's fields, message, event time in ns, more fields or None)
MakeMerged = Callable[[dict[str, Any], str, int, "dict[str, Any] | None"], logging.LogRecord]


def record_maker(logger: logging.Logger) -> MakeRecord:
    """A function making the INFO record for ``(message, event time in ns, other fields)``: ``maker``
    for one record at a time.

    ``fields`` may hold any of the record's own attributes (thread, call site) and extra ones
    (trace attributes), which is what ``extra=`` gives a ``logger.info`` call.
    """
    template, make = maker(logger)
    return lambda message, time_ns, fields: make(template, message, time_ns, fields)


def maker(logger: logging.Logger) -> tuple[dict[str, Any], MakeMerged]:
    """The one way the local output makes records: the template of a record's fields, and a function
    making a record from a *base* (the template merged with fields that repeat: a call site's and
    thread's, worked out once by the caller), the message, the event's time and the fields of this
    record only (its trace), or None.

    For the standard record class the template is a record's ``__dict__`` and each record is a copy
    of its base: one ``dict.update`` per record. With an application's own record factory the
    template is empty, and each record is made by ``makeRecord`` through that factory.
    """
    if logging.getLogRecordFactory() is not logging.LogRecord:
        def through_factory(base: dict[str, Any], message: str, time_ns: int,
                            fields: dict[str, Any] | None) -> logging.LogRecord:
            return _through_factory(logger, message, time_ns, {**base, **fields} if fields else base)

        return {}, through_factory
    template: dict[str, Any] = dict(logger.makeRecord(
        logger.name, logging.INFO, SOURCE, 0, "", (), None).__dict__)
    start = template["created"] - template["relativeCreated"] / 1000

    def make(base: dict[str, Any], message: str, time_ns: int, fields: dict[str, Any] | None) -> logging.LogRecord:
        record: logging.LogRecord = object.__new__(logging.LogRecord)
        values = record.__dict__
        values.update(base)
        if fields:
            values.update(fields)
        created = time_ns / 1e9
        values["msg"] = message
        values["created"] = created
        values["msecs"] = (time_ns % 1_000_000_000) // 1_000_000 + 0.0
        values["relativeCreated"] = (created - start) * 1000
        return record

    return template, make


def _through_factory(logger: logging.Logger, message: str, time_ns: int, fields: dict[str, Any]) -> logging.LogRecord:
    site = {key: fields[key] for key in _SITE if key in fields}
    extra = {key: value for key, value in fields.items() if key not in _SITE and key not in _OWN}
    record = logger.makeRecord(logger.name, logging.INFO, site.get("pathname", SOURCE), site.get("lineno", 0),
                               message, (), None, site.get("funcName"), extra)
    for key in (*_OWN, "filename", "module"):
        if key in fields:
            setattr(record, key, fields[key])
    record.created = time_ns / 1e9
    record.msecs = (time_ns % 1_000_000_000) // 1_000_000 + 0.0
    return record

