"""Standard-library ``LogRecord``s for the local output, made at a third of ``makeRecord``'s cost.

The local output hands one ``logging.LogRecord`` per event to the ``gyrinx.tracker`` logger's
handlers. ``Logger.makeRecord`` reads the clock, the thread, the process and the source path for
every record, all the same for every record this output makes; copying a template record's fields
measured about a third of its cost, which matters where the target is parity with the original
tracker's ``logger.info``. It relies on ``LogRecord`` keeping its fields in ``__dict__``, so it is
fenced here and used only with the standard record class: an application that installed its own
record factory gets ``makeRecord``, and its factory runs for our records too.
``tests/test_stdlib_records.py`` compares the records with ``makeRecord``'s field by field.

``dispatcher`` is the other shortcut: ``Logger.handle`` is "if not disabled and the logger's
filters pass, call the handlers"; with no filters, ``callHandlers`` is the same, one call shorter.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

SOURCE = "(gyrinx_tracker)"

MakeRecord = Callable[[str, int], logging.LogRecord]


def record_maker(logger: logging.Logger) -> MakeRecord:
    """A function making the INFO record for ``(message, event time in ns)``."""
    if logging.getLogRecordFactory() is not logging.LogRecord:
        return lambda message, time_ns: logger.makeRecord(
            logger.name, logging.INFO, SOURCE, 0, message, (), None)
    template: dict[str, Any] = dict(logger.makeRecord(
        logger.name, logging.INFO, SOURCE, 0, "", (), None).__dict__)
    start = template["created"] - template["relativeCreated"] / 1000

    def make(message: str, time_ns: int) -> logging.LogRecord:
        record: logging.LogRecord = object.__new__(logging.LogRecord)
        fields = record.__dict__
        fields.update(template)
        created = time_ns / 1e9
        fields["msg"] = message
        fields["created"] = created
        fields["msecs"] = (time_ns % 1_000_000_000) // 1_000_000 + 0.0
        fields["relativeCreated"] = (created - start) * 1000
        return record

    return make


def dispatcher(logger: logging.Logger) -> Callable[[logging.LogRecord], None]:
    """``logger.handle``, or ``logger.callHandlers`` when the logger has no filters of its own."""
    return logger.handle if logger.filters or logger.disabled else logger.callHandlers
