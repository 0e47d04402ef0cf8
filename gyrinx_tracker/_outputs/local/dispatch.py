"""A batch of records to a logger's handlers, each stream written once per run of lines, not once per record.

The local output hands the ``gyrinx.tracker`` logger one ``LogRecord`` per event, as the original
tracker's ``logger.info`` did. Through ``Logger.callHandlers`` each record costs a handler look-up,
two lock round trips, a write and a flush (a ``write()`` system call); here those are paid once
per batch, or once per run of lines.

When every handler the records reach is a plain ``logging.StreamHandler``, the stream ends up with
the same bytes if each handler formats every record (its own formatter, under its own lock) and
writes them in runs of whole lines, one write and one flush per run. A run is at most ``PIPE_BUF``
bytes, so each is one atomic ``write()`` on a pipe that other processes share, as each record's own
write was; a longer line is a run of its own. Our ``SharedStreamHandler`` gets the batch's lines in
one call of the line writer, which its ``emit`` calls once per record.

When, moreover, every one of those handlers writes a record as its bare message (no formatter, or
``%(message)s``: the usual set-up for JSON lines on stdout), the local output makes no records at
all and hands over the messages (``message_plan``, ``dispatch_messages``); a record is made only to
report a failed write to ``handleError``.

"Plain" is checked, not assumed, because the batch stands in for calls it does not make: the
handler's ``handle``, ``filter``, ``format``, ``acquire``, ``release``, ``emit`` and ``flush`` (or
``SharedStreamHandler``'s ``emit``, which does not flush) must each be the standard library's
function as the handler itself resolves the name. So a method replaced on the one instance
(``mock.patch.object(handler, "emit")``, an APM agent wrapping a handler's method), in a subclass,
or on the standard class itself (``logging.StreamHandler.emit`` patched) is not plain; "the
standard library's" is the function defined in ``logging``'s own namespace, which a wrapper that
copied the original's name and qualname (``functools.wraps``) is not. The handler must have no
filters, and no two handlers write to one stream (per record, their lines alternate; per handler,
they would not). The logger's ``handle``, ``filter`` and ``callHandlers`` are checked the same
way, and so are the formatter's methods and its style's where its text is taken to be the bare
message. Anything else (pytest's ``caplog`` handler, a file handler, a ``Logger.callHandlers``
patched by an error tracker such as Sentry's) gets each record through ``Logger.callHandlers``, or
``Logger.handle`` where the logger's own ``handle`` or ``filter`` is replaced, one record at a time.
The check is made once per batch, so a method replaced between batches is seen from the next one.

``handleError`` may be the handler's own (on its class or the instance): the batch calls it as the
handler resolves it, for the first record of a run whose write failed, where per record each
record's failed write would call it. ``SharedStreamHandler.write_lines`` may be too: it is given
the batch's lines in one call, which is what it is for.
"""

from __future__ import annotations

import codecs
import contextlib
import logging
from bisect import bisect_right
from collections.abc import Callable, Iterator, Sequence
from itertools import accumulate
from operator import add
from types import FunctionType, MethodType
from typing import Any, cast, overload

from gyrinx_tracker._outputs.shared import handlers as _handlers
from gyrinx_tracker._outputs.shared.handlers import SharedStreamHandler
from gyrinx_tracker._outputs.shared.linewriter import PIPE_BUF

_STANDARD = logging.StreamHandler
# The methods the batch stands in for, by attribute name and the qualname of the function that
# must be found there (_unreplaced). Logger.handle calls filter, then callHandlers.
_Methods = tuple[tuple[str, str], ...]
_LOGGER_HANDLE: _Methods = (("handle", "Logger.handle"), ("filter", "Filterer.filter"))
_LOGGER: _Methods = (*_LOGGER_HANDLE, ("callHandlers", "Logger.callHandlers"))
# Handler.handle calls filter, then acquire, emit and release; StreamHandler.emit calls format,
# then flush; SharedStreamHandler.emit calls format, then write_lines.
_HANDLER: _Methods = (("handle", "Handler.handle"), ("filter", "Filterer.filter"), ("format", "Handler.format"),
                     ("acquire", "Handler.acquire"), ("release", "Handler.release"))
_STREAM: _Methods = (("emit", "StreamHandler.emit"), ("flush", "StreamHandler.flush"))
_SHARED: _Methods = (("emit", "SharedStreamHandler.emit"),)
# What Formatter.format calls for a %(message)s format: usesTime and formatMessage (its style's
# usesTime, format and _format), and formatException or formatStack for a record with those.
_FORMATTER: _Methods = (("format", "Formatter.format"), ("formatMessage", "Formatter.formatMessage"),
                       ("usesTime", "Formatter.usesTime"), ("formatException", "Formatter.formatException"),
                       ("formatStack", "Formatter.formatStack"))
_STYLE: _Methods = (("format", "PercentStyle.format"), ("_format", "PercentStyle._format"), ("usesTime", "PercentStyle.usesTime"))
_LOGGING_NAMESPACE = vars(logging)
_HANDLERS_NAMESPACE = vars(_handlers)
# Encodings in which an ASCII string encodes to one byte per character.
_ONE_BYTE_ASCII = frozenset({"utf-8", "ascii", "iso8859-1", "iso8859-15", "cp1252"})
_DEFAULT_FORMAT = "%(message)s"
_DEFAULT_FORMATTER = logging.Formatter()  # what a handler without a formatter uses (logging._defaultFormatter)


# (handler, the records, their messages or None): the messages are given only through dispatch_messages,
# and then the records are made one by one on demand (_Made).
Writer = Callable[["logging.StreamHandler[Any]", Sequence[logging.LogRecord], "Sequence[str] | None"], None]
Plan = list[tuple["logging.StreamHandler[Any]", Writer]]  # subscriptable from 3.11


def dispatch(logger: logging.Logger, records: Sequence[logging.LogRecord]) -> None:
    """Hand ``records`` (all at INFO) to ``logger``'s handlers as ``logger.handle`` would, in order."""
    if not records:
        return
    plan = _plan(logger)
    if plan is None:
        # Logger.handle checks disabled and the filters, then calls callHandlers: unless it (or its filter) is replaced
        direct = not logger.filters and not logger.disabled and _unreplaced(logger, _LOGGER_HANDLE)
        handle = logger.callHandlers if direct else logger.handle
        for record in records:
            handle(record)
        return
    for handler, write in plan:
        write(handler, records, None)


def message_plan(logger: logging.Logger) -> Plan | None:
    """The plan for ``logger`` when every handler in it writes a record as its bare message (no
    formatter, or ``%(message)s``), else None.

    Then a record is only its message to every handler, and the caller need not make the records
    at all: ``dispatch_messages`` writes the messages. The records are the local output's own (a
    str message, no arguments, no exception): with the standard record factory nothing else sees
    them, so not making them is not observable. This is the usual set-up for JSON lines on stdout.
    """
    plan = _plan(logger)
    if plan is None or any(_formatter(handler) is not _message_only for handler, _ in plan):
        return None
    return plan


def dispatch_messages(plan: Plan, messages: Sequence[str], make: Callable[[int], logging.LogRecord]) -> None:
    """What ``dispatch`` writes for records whose messages are ``messages``, through a
    ``message_plan``. ``make(i)`` makes record ``i``, called only to report a failed write to
    ``handleError`` or if a handler was given a formatter since the plan was made."""
    if not messages:
        return
    records = _Made(len(messages), make)
    for handler, write in plan:
        write(handler, records, messages)


class _Made(Sequence[logging.LogRecord]):
    """A batch's records, each made when it is asked for (``dispatch_messages``: rarely, if ever)."""

    def __init__(self, count: int, make: Callable[[int], logging.LogRecord]) -> None:
        self._count, self._make = count, make

    def __len__(self) -> int:
        return self._count

    @overload
    def __getitem__(self, index: int) -> logging.LogRecord: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[logging.LogRecord]: ...

    def __getitem__(self, index: int | slice) -> logging.LogRecord | Sequence[logging.LogRecord]:
        if isinstance(index, slice):
            return [self._make(i) for i in range(self._count)[index]]
        return self._make(range(self._count)[index])  # range: the bounds check and negative indices


def _plan(logger: logging.Logger) -> Plan | None:
    """Each handler an INFO record of ``logger`` reaches, with how to write it a batch; None unless
    every one of them is plain and no two share a stream."""
    if logger.filters or logger.disabled or not _unreplaced(logger, _LOGGER):
        return None
    plan: Plan = []
    streams: set[int] = set()
    found = 0
    current: logging.Logger | None = logger
    while current is not None:
        for handler in current.handlers:
            found += 1
            if handler.level > logging.INFO:
                continue
            write = _writer(handler)
            stream = getattr(handler, "stream", None)
            if write is None or id(stream) in streams:
                return None
            streams.add(id(stream))
            plan.append((handler, write))  # type: ignore[arg-type]  # _writer checked it is a StreamHandler
        current = current.parent if current.propagate else None
    return plan if found else None  # no handler at all: callHandlers' last resort decides


def _unreplaced(owner: object, methods: _Methods, namespace: dict[str, Any] = _LOGGING_NAMESPACE) -> bool:
    """Whether each of ``methods`` is, as ``owner`` resolves the name, the function ``namespace``'s
    module defined under that qualname, bound to ``owner``.

    Read from the instance, not its class: a replacement on the instance (a mock, a plain function,
    a wrapper) is not a method bound to it, and one on a class is a function defined elsewhere,
    whatever name it was given. Comparing with the class's attribute would not see either.
    """
    for name, qualname in methods:
        method = getattr(owner, name, None)
        if type(method) is not MethodType or method.__self__ is not owner:
            return False
        function = method.__func__
        if type(function) is not FunctionType or function.__globals__ is not namespace or function.__qualname__ != qualname:
            return False
    return True


def _writer(handler: logging.Handler) -> Writer | None:
    """How to write a batch to ``handler``: runs for a plain ``StreamHandler``, the line writer for
    our ``SharedStreamHandler`` (its ``emit``, batched), None for any other handler."""
    if not isinstance(handler, _STANDARD) or handler.filters or not _unreplaced(handler, _HANDLER):
        return None
    if _unreplaced(handler, _STREAM):
        return _write_runs
    if isinstance(handler, SharedStreamHandler) and _unreplaced(handler, _SHARED, _HANDLERS_NAMESPACE):
        return _write_shared
    return None


def _write_runs(handler: logging.StreamHandler[Any], records: Sequence[logging.LogRecord],
                messages: Sequence[str] | None) -> None:
    """``handler.handle(record)`` for each record, with the writes and flushes gathered into runs.

    The lock is taken per run, so the application's own logging through this handler waits at most
    one run. Each record is formatted once, as ``emit`` formats it once (a formatter may count its
    calls, or be slow): the line that ends a run starts the next. A record that fails to format is
    handled as ``emit`` handles it (``handleError``) and not written; a write that fails does the
    same for the first record of its run. Given the records' ``messages`` (``dispatch_messages``), a
    handler that writes bare messages writes them.
    """
    text_of = _formatter(handler)
    plain = text_of is _message_only  # then a record's text is its message, worked out inline below
    if not plain:
        messages = None  # a formatter was set since message_plan: make and format the records
    terminator = handler.terminator
    index, total = 0, len(records)
    carried: str | None = None  # the text of the record that did not fit the last run: formatted once, as by emit
    joined = _Joined(messages, terminator) if messages is not None else None
    while index < total:
        with _locked(handler):
            stream = handler.stream  # per run, as emit reads it per record: setStream may come between
            one_byte = _one_byte_ascii(stream)
            if joined is not None and carried is None and one_byte and joined.ascii:
                first, index = index, joined.run_end(index)
                _write_run(handler, stream, joined.text(first, index), records, first)
                continue
            run: list[str] = []
            size, first = 0, index
            if carried is not None:  # the run's first line: it fits, whatever its length
                run.append(carried)
                size = len(carried) if one_byte and carried.isascii() else _encoded_length(carried, stream)
                index += 1
                carried = None
            while index < total:
                if messages is not None:
                    text = messages[index] + terminator
                else:
                    record = records[index]
                    # _message_only and getMessage, inlined (three calls per record otherwise, a
                    # good part of the loop), for a record with a str message, no arguments and
                    # nothing to print after it
                    if (plain and type(record.msg) is str and not record.args and not record.exc_info
                            and not record.exc_text and not record.stack_info):
                        text = record.message = record.msg
                    else:
                        formatted = _formatted(handler, text_of, record)
                        if formatted is None:
                            index += 1
                            continue
                        text = formatted
                    text += terminator
                length = len(text) if one_byte and text.isascii() else _encoded_length(text, stream)
                if run and size + length > PIPE_BUF:
                    carried = text
                    break
                run.append(text)
                size += length
                index += 1
            if run:
                _write_run(handler, stream, "".join(run), records, first)


def _write_run(handler: logging.StreamHandler[Any], stream: Any, text: str,
               records: Sequence[logging.LogRecord], first: int) -> None:
    """One run's write and flush; a failure is reported for the run's first record, as ``emit`` would."""
    try:
        stream.write(text)
        handler.flush()
    except RecursionError:
        raise
    except Exception:  # noqa: BLE001 - as StreamHandler.emit: reported, never raised
        handler.handleError(records[first])


class _Joined:
    """A batch's bare messages as one text of lines, cut into runs without a step per line.

    For an ASCII text written to a stream whose encoding takes one byte per ASCII character, a
    line's bytes are its characters: the runs ``_write_runs`` makes line by line (whole lines, at
    most ``PIPE_BUF`` bytes, a longer line alone) are found from the lines' ends with ``bisect``,
    and each run's text is a slice of the joined lines. The lengths, their running total and the
    join are each one call into C, where a loop over the lines costs a dozen bytecodes per line.
    """

    def __init__(self, messages: Sequence[str], terminator: str) -> None:
        self._text = terminator.join(messages) + terminator if messages else ""
        # str.isascii reads a flag the string keeps: no scan
        self.ascii = self._text.isascii() and bool(terminator)
        step = len(terminator)
        # line i ends after the first i + 1 messages and i + 1 terminators
        self._ends = (list(map(add, accumulate(map(len, messages)), range(step, step * len(messages) + 1, step)))
                      if self.ascii and step else [])

    def run_end(self, start: int) -> int:
        """The index after the last line of the run that starts at line ``start``."""
        ends = self._ends
        offset = ends[start - 1] if start else 0
        return max(bisect_right(ends, offset + PIPE_BUF, start), start + 1)

    def text(self, start: int, end: int) -> str:
        """Lines ``start`` to ``end`` (exclusive), each with its terminator."""
        ends = self._ends
        return self._text[ends[start - 1] if start else 0:ends[end - 1]]


def _write_shared(handler: logging.StreamHandler[Any], records: Sequence[logging.LogRecord],
                  messages: Sequence[str] | None) -> None:
    """``SharedStreamHandler.emit`` for each record: formatted here (or the given ``messages``, for
    a handler that writes bare messages), written in one ``write_lines``."""
    shared = cast(SharedStreamHandler, handler)  # _writer checked it
    text_of = _formatter(handler)
    terminator = handler.terminator
    with _locked(handler):
        if messages is not None and text_of is _message_only:
            shared.write_lines(records, [message + terminator for message in messages])
            return
        kept, texts = [], []
        for record in records:
            text = _formatted(handler, text_of, record)
            if text is not None:
                kept.append(record)
                texts.append(text + terminator)
        shared.write_lines(kept, texts)


def _formatted(handler: logging.Handler, text_of: Callable[[logging.LogRecord], str],
               record: logging.LogRecord) -> str | None:
    """The record's text; None (and ``handleError``, as ``emit`` does) if it cannot be formatted."""
    try:
        return text_of(record)
    except RecursionError:
        raise
    except Exception:  # noqa: BLE001 - what StreamHandler.emit does with a bad record
        handler.handleError(record)
        return None


@contextlib.contextmanager
def _locked(handler: logging.Handler) -> Iterator[None]:
    """The handler's lock, as ``Handler.handle`` takes it around ``emit``."""
    handler.acquire()
    try:
        yield
    finally:
        handler.release()


def _formatter(handler: logging.Handler) -> Callable[[logging.LogRecord], str]:
    """``handler.format``; for the default ``%(message)s`` formatter, what it computes, without its calls
    (unless one of the methods that would make the text is replaced: then the formatter makes it)."""
    # what Handler.format uses without a formatter (private, hence the fallback)
    formatter = handler.formatter or getattr(logging, "_defaultFormatter", _DEFAULT_FORMATTER)
    style = getattr(formatter, "_style", None)  # the format string's only home; no public accessor
    if (type(formatter) is logging.Formatter and type(style) is logging.PercentStyle
            and style._fmt == _DEFAULT_FORMAT and not getattr(style, "_defaults", None)  # noqa: SLF001 - as above
            and _unreplaced(formatter, _FORMATTER) and _unreplaced(style, _STYLE)):
        return _message_only
    return handler.format


def _message_only(record: logging.LogRecord) -> str:
    """``Formatter().format(record)`` for a record without exception or stack information."""
    if record.exc_info or record.exc_text or record.stack_info:
        return _DEFAULT_FORMATTER.format(record)
    message = record.message = record.getMessage()
    return message


def _one_byte_ascii(stream: Any) -> bool:
    encoding = getattr(stream, "encoding", None)
    if not isinstance(encoding, str):
        return False
    try:
        return codecs.lookup(encoding).name in _ONE_BYTE_ASCII
    except LookupError:
        return False


def _encoded_length(text: str, stream: Any) -> int:
    """The bytes ``text`` takes in the stream's encoding; an upper bound where that cannot be told."""
    encoding = getattr(stream, "encoding", None)
    errors = getattr(stream, "errors", None)
    if isinstance(encoding, str):
        try:
            return len(text.encode(encoding, errors if isinstance(errors, str) else "strict"))
        except (LookupError, UnicodeError):
            pass
    return len(text) * 4 if text.isascii() else len(text.encode("utf-8", "backslashreplace")) * 4
