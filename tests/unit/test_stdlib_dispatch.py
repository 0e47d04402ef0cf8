"""A batch handed to the logger's handlers at once leaves every handler what ``logger.handle`` per record would.

Each case builds the same handler set-up twice, on two loggers: one gets each record through
``logger.handle`` (the original tracker's path), the other the whole batch through ``dispatch``.
The streams and the handlers' records must then be equal, byte for byte and in order.
"""

from __future__ import annotations

import contextlib
import functools
import io
import itertools
import json
import logging
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any
from unittest import mock

import pytest

from gyrinx_tracker._core.event import Event
from gyrinx_tracker._outputs.local import dispatch as stdlib_dispatch
from gyrinx_tracker._outputs.local.dispatch import dispatch
from gyrinx_tracker._outputs.local.records import record_maker
from gyrinx_tracker._outputs.local.writer import LocalJsonWriter
from gyrinx_tracker._outputs.shared.linewriter import PIPE_BUF
from gyrinx_tracker.handlers import SharedStreamHandler

_names = itertools.count()
MESSAGES = ['{"event": "a", "n": 1}', '{"event": "caf\\u00e9", "n": 2, "labels": {"k": "v"}}',
            "naïve ✓ 😀 text", "x" * 5_000, "", '{"event": "b", "n": 1, "value": 0.5}'] * 40


class Recorder(logging.Handler):
    """Keeps what it is handed (not a StreamHandler: the batch must go to it record by record)."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.seen.append(self.format(record))


class OwnEmit(logging.StreamHandler):  # type: ignore[type-arg]
    """A StreamHandler subclass with its own emit: not plain."""

    def emit(self, record: logging.LogRecord) -> None:
        self.stream.write("own:" + self.format(record) + "\n")


class Failing(logging.StreamHandler):  # type: ignore[type-arg]
    """Plain (only handleError is its own), to count what emit reports."""

    def __init__(self, stream: Any) -> None:
        super().__init__(stream)
        self.errors: list[str] = []

    def handleError(self, record: logging.LogRecord) -> None:
        self.errors.append(record.getMessage())


class PickyFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        if "😀" in record.getMessage():
            raise ValueError("cannot format this one")
        return super().format(record)


class BrokenStream(io.StringIO):
    def write(self, text: str) -> int:
        raise OSError("the stream is gone")


Setup = Callable[[logging.Logger], list[Any]]  # configures a logger (and its parents), returns what to compare


def _fresh_tree() -> tuple[logging.Logger, logging.Logger]:
    """A parent and child logger of their own, never reaching the root's handlers."""
    parent = logging.getLogger(f"dispatch_test_{next(_names)}")
    parent.propagate = False
    child = parent.getChild("tracker")
    child.setLevel(logging.INFO)
    return parent, child


def _stream(logger: logging.Logger, formatter: logging.Formatter | None = None) -> list[Any]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)  # type: ignore[arg-type]
    logger.addHandler(handler)
    return [stream]


def plain(logger: logging.Logger) -> list[Any]:
    return _stream(logger)


def formatted(logger: logging.Logger) -> list[Any]:
    return _stream(logger, logging.Formatter("%(asctime)s %(levelname)s [%(threadName)s] %(module)s:%(lineno)d "
                                             "%(message)s %(otelTraceID)s"))


def brace_style(logger: logging.Logger) -> list[Any]:
    return _stream(logger, logging.Formatter("{levelname}|{message}|{extra}", style="{", defaults={"extra": "-"}))


def hierarchy(logger: logging.Logger) -> list[Any]:
    """The logger's handler, its parent's, and a parent handler at WARNING that INFO skips."""
    compared = _stream(logger) + _stream(logger.parent)  # type: ignore[arg-type]
    quiet = io.StringIO()
    warning = logging.StreamHandler(quiet)
    warning.setLevel(logging.WARNING)
    logger.parent.addHandler(warning)  # type: ignore[union-attr]
    return [*compared, quiet]


def not_propagating(logger: logging.Logger) -> list[Any]:
    logger.propagate = False
    return _stream(logger) + _stream(logger.parent)  # type: ignore[arg-type]


def one_stream_twice(logger: logging.Logger) -> list[Any]:
    """Two handlers on one stream: each record's two lines must stay together."""
    stream = io.StringIO()
    logger.addHandler(logging.StreamHandler(stream))
    second = logging.StreamHandler(stream)
    second.setFormatter(logging.Formatter("again %(message)s"))
    logger.parent.addHandler(second)  # type: ignore[union-attr]
    return [stream]


def handler_filter(logger: logging.Logger) -> list[Any]:
    compared = _stream(logger)
    logger.handlers[0].addFilter(lambda record: "x" not in record.getMessage())
    return compared


def logger_filter(logger: logging.Logger) -> list[Any]:
    compared = _stream(logger)
    logger.addFilter(lambda record: bool(record.getMessage()))
    return compared


def with_recorder(logger: logging.Logger) -> list[Any]:
    recorder = Recorder()
    logger.addHandler(recorder)
    return [*_stream(logger.parent), recorder]  # type: ignore[arg-type]


def own_emit(logger: logging.Logger) -> list[Any]:
    stream = io.StringIO()
    logger.addHandler(OwnEmit(stream))
    return [stream, *_stream(logger.parent)]  # type: ignore[arg-type]


def shared_stream_handler(logger: logging.Logger) -> list[Any]:
    stream = io.StringIO()
    logger.addHandler(SharedStreamHandler(stream))
    return [stream]


def bad_record(logger: logging.Logger) -> list[Any]:
    stream = io.StringIO()
    handler = Failing(stream)
    handler.setFormatter(PickyFormatter())
    logger.addHandler(handler)
    return [stream, handler]


SETUPS: dict[str, Setup] = {setup.__name__: setup for setup in (
    plain, formatted, brace_style, hierarchy, not_propagating, one_stream_twice, handler_filter, logger_filter,
    with_recorder, own_emit, shared_stream_handler, bad_record)}


def _contents(things: list[Any]) -> list[Any]:
    out: list[Any] = []
    for thing in things:
        if isinstance(thing, io.StringIO):
            out.append(thing.getvalue())
        elif isinstance(thing, Recorder):
            out.append(thing.seen)
        elif isinstance(thing, Failing):
            out.append(thing.errors)
    return out


def _records(logger: logging.Logger) -> list[logging.LogRecord]:
    """The records the local output makes, at one fixed time, so both loggers' formatted times agree."""
    make, start = record_maker(logger), 1_700_000_000_123_456_789
    fields = {"thread": 7, "threadName": "request-7", "module": "views", "lineno": 12, "otelTraceID": "ab" * 16}
    return [make(message, start + index, fields) for index, message in enumerate(MESSAGES)]


def _handled_and_unwritten(name: str) -> tuple[list[Any], list[Any], logging.Logger]:
    """Set-up ``name`` on two fresh loggers: what the first holds after ``handle`` of each record,
    what the second's will hold, and the second, not yet written to."""
    by_record, batched = _fresh_tree()[1], _fresh_tree()[1]
    expected, got = SETUPS[name](by_record), SETUPS[name](batched)
    for record in _records(by_record):
        by_record.handle(record)
    return expected, got, batched


class TestSameAsHandle:
    @pytest.mark.parametrize("name", SETUPS)
    def test_every_handler_gets_what_handle_per_record_gives(self, name: str) -> None:
        """Same stream bytes, same records seen, same errors reported, in the same order."""
        expected, got, batched = _handled_and_unwritten(name)
        dispatch(batched, _records(batched))
        assert _contents(got) == _contents(expected)
        assert any(_contents(expected)), "the case wrote nothing: it would pass whatever dispatch did"

    @pytest.mark.parametrize("name", ["plain", "formatted", "brace_style", "hierarchy", "not_propagating",
                                      "shared_stream_handler", "bad_record"])
    def test_plain_set_ups_take_the_batched_path(self, name: str) -> None:
        """The cases above that should be written in runs are (else the comparison proves only the fallback)."""
        logger = _fresh_tree()[1]
        SETUPS[name](logger)
        assert stdlib_dispatch._plan(logger) is not None

    @pytest.mark.parametrize("name", ["one_stream_twice", "handler_filter", "logger_filter", "with_recorder", "own_emit"])
    def test_other_set_ups_get_each_record_through_handle(self, name: str) -> None:
        logger = _fresh_tree()[1]
        SETUPS[name](logger)
        assert stdlib_dispatch._plan(logger) is None

    def test_a_patched_call_handlers_sees_every_record(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Error trackers (Sentry's logging integration) wrap ``Logger.callHandlers``: the batch must go through it."""
        seen: list[str] = []
        original = logging.Logger.callHandlers

        def patched(self: logging.Logger, record: logging.LogRecord) -> None:
            seen.append(record.getMessage())
            original(self, record)

        monkeypatch.setattr(logging.Logger, "callHandlers", patched)
        logger = _fresh_tree()[1]
        (stream,) = plain(logger)
        dispatch(logger, _records(logger))
        assert seen == MESSAGES
        assert stream.getvalue() == "".join(message + "\n" for message in MESSAGES)

    def test_a_failing_stream_is_reported_not_raised(self) -> None:
        """A write that fails goes to ``handleError`` (once per run) and dispatch returns normally."""
        logger = _fresh_tree()[1]
        handler = Failing(BrokenStream())
        logger.addHandler(handler)
        dispatch(logger, _records(logger))
        assert handler.errors and set(handler.errors) <= set(MESSAGES)


    def test_records_unlike_ours_are_formatted_as_handle_formats_them(self) -> None:
        """The plain formatter's text is worked out inline only for a str message without arguments,
        exception or stack: a record with any of those is written as ``Formatter.format`` writes it."""
        def unusual(logger: logging.Logger) -> list[logging.LogRecord]:
            try:
                raise ValueError("boom")
            except ValueError:
                failure = sys.exc_info()
            made = [logger.makeRecord(logger.name, logging.INFO, "f.py", 1, "with %s", ("arguments",), None),
                    logger.makeRecord(logger.name, logging.INFO, "f.py", 1, 42, (), None),
                    logger.makeRecord(logger.name, logging.INFO, "f.py", 1, "failed", (), failure),
                    logger.makeRecord(logger.name, logging.INFO, "f.py", 1, "stack", (), None, sinfo="Stack: here"),
                    logger.makeRecord(logger.name, logging.INFO, "f.py", 1, "plain", (), None)]
            made.append(logger.makeRecord(logger.name, logging.INFO, "f.py", 1, "given text", (), None))
            made[-1].exc_text = "Traceback: given"
            return made

        by_record, batched = _fresh_tree()[1], _fresh_tree()[1]
        (expected,), (got,) = plain(by_record), plain(batched)
        for record in unusual(by_record):
            by_record.handle(record)
        assert stdlib_dispatch._plan(batched) is not None
        dispatch(batched, unusual(batched))
        assert got.getvalue() == expected.getvalue()
        assert "with arguments\n42\nfailed\nTraceback" in expected.getvalue()
        assert "Stack: here" in expected.getvalue() and "Traceback: given" in expected.getvalue()


def message_format(logger: logging.Logger) -> list[Any]:
    return _stream(logger, logging.Formatter("%(message)s"))


MESSAGE_ONLY = ["plain", "message_format", "hierarchy", "not_propagating", "shared_stream_handler"]
SETUPS["message_format"] = message_format


class Maker:
    """``dispatch_messages``' record maker, counting what it was asked for."""

    def __init__(self, logger: logging.Logger) -> None:
        self.records = _records(logger)
        self.asked: list[int] = []

    def __call__(self, index: int) -> logging.LogRecord:
        self.asked.append(index)
        return self.records[index]


class TestMessagesOnly:
    """When every handler writes the bare message, the local output hands over messages, not records."""

    @pytest.mark.parametrize("name", MESSAGE_ONLY)
    def test_messages_are_written_as_handle_writes_their_records(self, name: str) -> None:
        """Same bytes as ``handle`` per record, and no record made."""
        expected, got, batched = _handled_and_unwritten(name)
        plan = stdlib_dispatch.message_plan(batched)
        assert plan is not None
        maker = Maker(batched)
        stdlib_dispatch.dispatch_messages(plan, MESSAGES, maker)
        assert _contents(got) == _contents(expected) and any(_contents(expected))
        assert maker.asked == []

    @pytest.mark.parametrize("name", [name for name in SETUPS if name not in MESSAGE_ONLY])
    def test_any_other_formatter_or_handler_needs_the_records(self, name: str) -> None:
        logger = _fresh_tree()[1]
        SETUPS[name](logger)
        assert stdlib_dispatch.message_plan(logger) is None

    def test_a_failed_write_reports_the_record_of_its_first_message(self) -> None:
        """``handleError`` gets a real record, made then, for the first message of each failed run."""
        logger = _fresh_tree()[1]
        handler = Failing(BrokenStream())
        logger.addHandler(handler)
        plan = stdlib_dispatch.message_plan(logger)
        assert plan is not None
        maker = Maker(logger)
        stdlib_dispatch.dispatch_messages(plan, MESSAGES, maker)
        assert maker.asked and maker.asked[0] == 0 and maker.asked == sorted(set(maker.asked))
        assert handler.errors == [MESSAGES[index] for index in maker.asked]
        assert len(maker.asked) < len(MESSAGES) / 2  # one per run, not one per message

    @pytest.mark.parametrize("name", ["plain", "shared_stream_handler"])
    def test_a_formatter_set_after_the_plan_formats_the_records(self, name: str) -> None:
        """The plan is read per batch; a formatter given meanwhile gets records, made for it, as ``handle`` would."""
        by_record, batched = _fresh_tree()[1], _fresh_tree()[1]
        (expected,), (got,) = SETUPS[name](by_record), SETUPS[name](batched)
        plan = stdlib_dispatch.message_plan(batched)
        assert plan is not None
        for logger in (by_record, batched):
            logger.handlers[0].setFormatter(logging.Formatter("%(threadName)s %(lineno)d %(message)s"))
        for record in _records(by_record):
            by_record.handle(record)
        maker = Maker(batched)
        stdlib_dispatch.dispatch_messages(plan, MESSAGES, maker)
        assert got.getvalue() == expected.getvalue() and "request-7 12 " in got.getvalue()
        assert maker.asked == list(range(len(MESSAGES)))  # each made once, in order: one that ended a run too

    def test_runs_of_messages_stay_within_pipe_buf(self) -> None:
        logger = _fresh_tree()[1]
        stream = RecordingStream("utf-8")
        logger.addHandler(logging.StreamHandler(stream))  # type: ignore[arg-type]
        plan = stdlib_dispatch.message_plan(logger)
        assert plan is not None
        stdlib_dispatch.dispatch_messages(plan, MESSAGES, Maker(logger))
        assert b"".join(stream.writes).decode() == "".join(message + "\n" for message in MESSAGES)
        assert len(stream.writes) < len(MESSAGES) / 2
        assert all(len(data) <= PIPE_BUF or data.count(b"\n") == 1 for data in stream.writes)


class RecordingStream:
    """A text stream over a real pipe's write end that keeps the bytes of each write it passes on."""

    def __init__(self, encoding: str) -> None:
        self.encoding, self.errors = encoding, "strict"
        self.writes: list[bytes] = []

    def write(self, text: str) -> int:
        self.writes.append(text.encode(self.encoding))
        return len(text)

    def flush(self) -> None:
        return None


# ASCII lines (the usual JSON lines) around the run limit: a line that fills a run to the byte, one
# a byte over it, one far over it alone, empty ones.
ASCII_MESSAGES = ([message for message in MESSAGES[:6] if message.isascii()]
                  + ["y" * (PIPE_BUF - 1), "", "z" * PIPE_BUF, "w" * 100, "v" * (PIPE_BUF - 101)]) * 30


class FlakyStream(RecordingStream):
    """Fails every third write: the runs that fail are reported, the others kept."""

    def __init__(self, encoding: str) -> None:
        super().__init__(encoding)
        self.calls = 0

    def write(self, text: str) -> int:
        self.calls += 1
        if self.calls % 3 == 0:
            raise OSError("the stream hiccuped")
        return super().write(text)


def _both_ways(by_records: logging.Logger, by_messages: logging.Logger) -> None:
    """``ASCII_MESSAGES`` to ``by_records`` as records written line by line, and to ``by_messages``
    through the message plan (the runs cut from the lines' lengths)."""
    make = record_maker(by_records)
    dispatch(by_records, [make(message, 0, {}) for message in ASCII_MESSAGES])
    plan = stdlib_dispatch.message_plan(by_messages)
    assert plan is not None
    make_other = record_maker(by_messages)
    stdlib_dispatch.dispatch_messages(plan, ASCII_MESSAGES, lambda index: make_other(ASCII_MESSAGES[index], 0, {}))


class TestAsciiRuns:
    """Bare ASCII messages to a one-byte stream are cut into runs from their lengths, not line by line:
    the same writes (each run's bytes) and the same reports as records written line by line."""

    @pytest.mark.parametrize("encoding", ["utf-8", "ascii", "latin-1", "cp1252", "utf-16-le"])
    def test_messages_are_written_in_the_runs_records_are(self, encoding: str) -> None:
        by_records, by_messages = _fresh_tree()[1], _fresh_tree()[1]
        streams = RecordingStream(encoding), RecordingStream(encoding)
        for logger, stream in zip((by_records, by_messages), streams, strict=True):
            logger.addHandler(logging.StreamHandler(stream))  # type: ignore[arg-type]
        _both_ways(by_records, by_messages)
        assert streams[1].writes == streams[0].writes
        assert b"".join(streams[1].writes).decode(encoding) == "".join(message + "\n" for message in ASCII_MESSAGES)
        assert 1 < len(streams[1].writes) < len(ASCII_MESSAGES)  # runs, not a write per line

    def test_a_failed_run_reports_its_first_record_as_line_by_line(self) -> None:
        by_records, by_messages = _fresh_tree()[1], _fresh_tree()[1]
        handlers = Failing(FlakyStream("utf-8")), Failing(FlakyStream("utf-8"))
        for logger, handler in zip((by_records, by_messages), handlers, strict=True):
            logger.addHandler(handler)
        _both_ways(by_records, by_messages)
        assert handlers[1].errors == handlers[0].errors and handlers[0].errors
        assert handlers[1].stream.writes == handlers[0].stream.writes

    def test_a_custom_terminator_ends_each_line(self) -> None:
        logger = _fresh_tree()[1]
        stream = RecordingStream("utf-8")
        handler = logging.StreamHandler(stream)  # type: ignore[arg-type]
        handler.terminator = "\r\n"
        logger.addHandler(handler)
        plan = stdlib_dispatch.message_plan(logger)
        assert plan is not None
        make = record_maker(logger)
        stdlib_dispatch.dispatch_messages(plan, ASCII_MESSAGES, lambda index: make(ASCII_MESSAGES[index], 0, {}))
        assert b"".join(stream.writes).decode() == "".join(message + "\r\n" for message in ASCII_MESSAGES)
        assert all(len(data) <= PIPE_BUF or data.count(b"\n") == 1 for data in stream.writes)


class TestRuns:
    @pytest.mark.parametrize("encoding", ["utf-8", "utf-16-le", "ascii"])
    def test_each_write_is_whole_lines_within_pipe_buf_or_one_long_line(self, encoding: str) -> None:
        """Runs stay atomic on a shared pipe: at most PIPE_BUF bytes in the stream's encoding, or one line alone."""
        logger = _fresh_tree()[1]
        stream = RecordingStream(encoding)
        logger.addHandler(logging.StreamHandler(stream))  # type: ignore[arg-type]
        messages = [message for message in MESSAGES if message.isascii()] if encoding == "ascii" else MESSAGES
        make = record_maker(logger)
        dispatch(logger, [make(message, 0, {}) for message in messages])
        assert b"".join(stream.writes).decode(encoding) == "".join(message + "\n" for message in messages)
        assert len(stream.writes) < len(messages) / 2  # runs (each 5,000-character line alone), not a write per record
        for data in stream.writes:
            text = data.decode(encoding)
            assert text.endswith("\n")
            assert len(data) <= PIPE_BUF or text.count("\n") == 1, (len(data), text.count("\n"))

    def test_the_handler_lock_is_held_around_each_run(self) -> None:
        """Another thread logging through the same handler waits for a run to end: its line never lands inside one."""
        logger = _fresh_tree()[1]
        stream = SlowStream()
        handler = logging.StreamHandler(stream)  # type: ignore[arg-type]
        logger.addHandler(handler)
        other = logging.getLogger(f"dispatch_other_{next(_names)}")
        other.propagate = False
        other.addHandler(handler)
        stop = time.monotonic() + 0.3

        def interrupt() -> None:
            while time.monotonic() < stop:
                other.warning("interruption")

        interrupter = threading.Thread(target=interrupt)
        interrupter.start()
        make = record_maker(logger)
        messages = [message for message in MESSAGES if len(message) < 100]
        while time.monotonic() < stop:
            dispatch(logger, [make(message, 0, {}) for message in messages])
        interrupter.join()
        lines = "".join(stream.pieces).split("\n")[:-1]
        assert "interruption" in lines
        assert set(lines) == {*messages, "interruption"}, "a line was cut or spliced"


class SlowStream:
    """Writes each text in two halves with a thread switch between: an unlocked writer would splice."""

    encoding, errors = "utf-8", "strict"

    def __init__(self) -> None:
        self.pieces: list[str] = []

    def write(self, text: str) -> int:
        middle = len(text) // 2
        self.pieces.append(text[:middle])
        time.sleep(0.0001)
        self.pieces.append(text[middle:])
        return len(text)

    def flush(self) -> None:
        return None


Deliver = Callable[[logging.Logger, Sequence[logging.LogRecord]], None]


def _handle_each(logger: logging.Logger, records: Sequence[logging.LogRecord]) -> None:
    """The original tracker's path: ``logger.handle`` (as ``logger.info`` reaches it) per record."""
    for record in records:
        logger.handle(record)


def _as_the_local_output(logger: logging.Logger, records: Sequence[logging.LogRecord]) -> None:
    """What ``LocalJsonWriter.write_events`` does: the messages alone when ``message_plan`` allows it."""
    plan = stdlib_dispatch.message_plan(logger)
    if plan is None:
        dispatch(logger, records)
    else:
        stdlib_dispatch.dispatch_messages(plan, [record.msg for record in records], records.__getitem__)


def _unusual_records(logger: logging.Logger) -> list[logging.LogRecord]:
    """The batch's records and two a plain formatter cannot write as their bare message."""
    try:
        raise ValueError("boom")
    except ValueError:
        failure = sys.exc_info()
    return [*_records(logger), logger.makeRecord(logger.name, logging.INFO, "f.py", 1, "failed", (), failure),
            logger.makeRecord(logger.name, logging.INFO, "f.py", 1, "stack", (), None, sinfo="Stack: here")]


def _noted(args: tuple[Any, ...]) -> str:
    """A call, as the same call on the other logger notes it: its record's message, else its arguments' types."""
    for arg in args:
        if isinstance(arg, logging.LogRecord):
            return arg.getMessage()
    return "(" + ", ".join(type(arg).__name__ for arg in args) + ")"


class Replacements:
    """Methods replaced for a test, each noting its calls and calling what it replaced.

    ``"mock"`` is ``mock.patch.object`` (a test's patch); ``"apm"`` assigns a ``functools.wraps``
    wrapper to the attribute (``handler.emit = wrapper``), as an APM agent instruments a method (the wrapper has the original's
    ``__name__``, ``__module__`` and ``__qualname__``); ``"autospec"`` is ``mock.patch.object`` with
    ``autospec=True``, which on a class gives a function bound to each instance, as the original is."""

    def __init__(self, stack: contextlib.ExitStack) -> None:
        self.stack = stack
        self.calls: list[str] = []
        self._done: set[tuple[int, str]] = set()

    def replace(self, target: Any, name: str, style: str) -> None:
        if (id(target), name) in self._done:  # one object both loggers reach (the stdlib's default formatter)
            return
        self._done.add((id(target), name))
        original = getattr(target, name)

        def noting(*args: Any, **kwargs: Any) -> Any:
            self.calls.append(_noted(args))
            return original(*args, **kwargs)

        if style == "mock":
            self.stack.enter_context(mock.patch.object(target, name, side_effect=noting))
        elif style == "autospec":
            self.stack.enter_context(mock.patch.object(target, name, autospec=True, side_effect=noting))
        else:  # assigned, as an APM agent instruments a method; put back (or removed) after the test
            if name in vars(target):
                self.stack.callback(setattr, target, name, vars(target)[name])
            else:
                self.stack.callback(delattr, target, name)
            setattr(target, name, functools.wraps(original)(noting))


def _same_as_handle_each(build: Callable[[logging.Logger], tuple[Any, io.StringIO]],
                         replace: Callable[[Replacements, Any], None], deliver: Deliver,
                         records_of: Callable[[logging.Logger], list[logging.LogRecord]] = _records) -> None:
    """The same set-up and replacement on two loggers, one given each record through ``handle``,
    the other the batch through ``deliver``: the replacement must have been called alike (for every
    record) and the streams must hold the same bytes."""
    with contextlib.ExitStack() as stack:
        replacements = Replacements(stack)
        seen = []
        for way in (_handle_each, deliver):
            logger = _fresh_tree()[1]
            target, stream = build(logger)
            replace(replacements, target)
            records = records_of(logger)
            before = len(replacements.calls)
            way(logger, records)
            seen.append((replacements.calls[before:], stream.getvalue()))
    (expected_calls, expected_text), (calls, text) = seen
    assert expected_calls, "the replacement was not called per record: the case proves nothing"
    assert calls == expected_calls
    assert text == expected_text and expected_text


_FORMAT = "%(levelname)s [%(threadName)s] %(module)s:%(lineno)d %(message)s"


def _handler_on(kind: str, formatted: bool) -> Callable[[logging.Logger], tuple[logging.StreamHandler[Any], io.StringIO]]:
    """A plain StreamHandler or SharedStreamHandler on a new stream, with a formatter or bare."""
    def build(logger: logging.Logger) -> tuple[logging.StreamHandler[Any], io.StringIO]:
        stream = io.StringIO()
        handler: logging.StreamHandler[Any] = (SharedStreamHandler if kind == "shared" else logging.StreamHandler)(stream)
        if formatted:
            handler.setFormatter(logging.Formatter(_FORMAT))
        logger.addHandler(handler)
        return handler, stream
    return build


# The handler's methods that handle() per record calls: Handler.handle calls filter, then acquire,
# emit and release (from Python 3.13 it takes the lock with `with self.lock`, calling neither);
# StreamHandler.emit calls format and flush (which takes the lock again). SharedStreamHandler.emit
# calls format and write_lines, not flush.
_LOCKING = ["acquire", "release"] if "acquire" in logging.Handler.handle.__code__.co_names else []
HANDLER_METHODS = {"stream": ["emit", "handle", "format", "filter", "flush", *_LOCKING],
                   "shared": ["emit", "handle", "format", "filter", *_LOCKING]}
PATHS: dict[str, tuple[Deliver, bool]] = {  # how the batch goes, and whether the handler has a formatter
    "dispatch-formatted": (dispatch, True), "dispatch-bare": (dispatch, False), "messages-bare": (_as_the_local_output, False)}
HANDLER_CASES = [(kind, path, name, style) for kind, names in HANDLER_METHODS.items() for path in PATHS for name in names
                 for style in ("mock", "apm")
                 # the shared handler's formatted lines were always made through handler.format, once per record
                 if not (kind == "shared" and path == "dispatch-formatted" and name == "format")]

# Formatter.format calls usesTime and formatMessage (then its style's usesTime, format and _format),
# and formatException or formatStack for a record with those.
FORMATTER_CASES = [(target, name, path) for target in ("handler's formatter", "logging's default formatter")
                   for name in ("format", "formatMessage", "usesTime", "formatException", "formatStack",
                                "style format", "style _format", "style usesTime")
                   for path in ("dispatch", "messages")
                   if not (path == "messages" and name in ("formatException", "formatStack"))]


class _OwnLogger(logging.Logger):
    """A logger class with its own ``handle`` and ``filter`` (each noting its records, then the standard one)."""

    def __init__(self, name: str) -> None:
        super().__init__(name, logging.INFO)
        self.handled: list[str] = []
        self.filtered: list[str] = []

    def handle(self, record: logging.LogRecord) -> None:
        self.handled.append(record.getMessage())
        super().handle(record)

    def filter(self, record: logging.LogRecord) -> bool | logging.LogRecord:
        self.filtered.append(record.getMessage())
        return super().filter(record)


class TestReplacedMethods:
    """A method replaced on a handler, formatter or logger instance (a test's mock, an APM agent's
    wrapper) or on the standard library's classes runs for every record, as through ``handle``."""

    @pytest.mark.parametrize(("kind", "path", "name", "style"), HANDLER_CASES)
    def test_a_method_replaced_on_a_handler_runs_for_every_record(self, kind: str, path: str, name: str,
                                                                   style: str) -> None:
        """The handler's replaced method is called as ``handle`` per record calls it, and the stream gets the same bytes."""
        deliver, formatted = PATHS[path]
        _same_as_handle_each(_handler_on(kind, formatted),
                             lambda replacements, handler: replacements.replace(handler, name, style), deliver)

    @pytest.mark.parametrize(("target", "name", "path"), FORMATTER_CASES)
    def test_a_method_replaced_on_a_message_only_formatter_runs_for_every_record(self, target: str, name: str,
                                                                                  path: str) -> None:
        """A ``%(message)s`` formatter (the handler's or, for a bare handler, logging's default) whose
        method or style's method is replaced formats each record, not the fast path's bare message."""
        def build(logger: logging.Logger) -> tuple[logging.StreamHandler[Any], io.StringIO]:
            stream = io.StringIO()
            handler = logging.StreamHandler(stream)
            if target == "handler's formatter":
                handler.setFormatter(logging.Formatter("%(message)s"))
            logger.addHandler(handler)
            return handler, stream

        def replace(replacements: Replacements, handler: logging.StreamHandler[Any]) -> None:
            formatter = handler.formatter or logging._defaultFormatter  # type: ignore[attr-defined]
            owner = formatter._style if name.startswith("style ") else formatter
            replacements.replace(owner, name.removeprefix("style "), "mock")

        _same_as_handle_each(build, replace, dispatch if path == "dispatch" else _as_the_local_output,
                             records_of=_unusual_records if path == "dispatch" else _records)

    @pytest.mark.parametrize("path", ["dispatch", "messages"])
    @pytest.mark.parametrize("style", ["mock", "apm"])
    @pytest.mark.parametrize("name", ["callHandlers", "handle", "filter"])
    def test_a_method_replaced_on_the_logger_runs_for_every_record(self, name: str, style: str, path: str) -> None:
        """The logger's own ``handle``, ``filter`` or ``callHandlers`` replaced on the instance runs per record."""
        def build(logger: logging.Logger) -> tuple[logging.Logger, io.StringIO]:
            _, stream = _handler_on("stream", path == "dispatch")(logger)
            return logger, stream

        _same_as_handle_each(build, lambda replacements, logger: replacements.replace(logger, name, style),
                             dispatch if path == "dispatch" else _as_the_local_output)

    @pytest.mark.parametrize("path", ["dispatch", "messages"])
    @pytest.mark.parametrize("name", ["handle", "filter"])
    def test_a_logger_class_with_its_own_handle_or_filter_gets_every_record(self, name: str, path: str) -> None:
        """A ``Logger`` subclass's ``handle`` or ``filter`` (``setLoggerClass``) is called per record, not skipped."""
        seen: list[tuple[list[str], str]] = []
        for deliver in (_handle_each, dispatch if path == "dispatch" else _as_the_local_output):
            logger = _OwnLogger(f"dispatch_own_{next(_names)}")
            _, stream = _handler_on("stream", path == "dispatch")(logger)
            deliver(logger, _records(logger))
            seen.append((logger.handled if name == "handle" else logger.filtered, stream.getvalue()))
        (expected_calls, expected_text), (calls, text) = seen
        assert expected_calls == MESSAGES
        assert calls == expected_calls and text == expected_text

    @pytest.mark.parametrize("path", ["dispatch", "messages"])
    @pytest.mark.parametrize(("owner", "name", "style"), [(logging.StreamHandler, "emit", "apm"),
                                                          (logging.Handler, "handle", "autospec"),
                                                          (logging.Logger, "callHandlers", "apm")])
    def test_a_method_replaced_on_the_standard_class_runs_for_every_record(self, owner: type, name: str,
                                                                           style: str, path: str) -> None:
        """``logging.StreamHandler.emit`` and the like, patched on the class itself (by a test, or an
        APM wrapper with the original's name and qualname), are not taken for the standard ones."""
        _same_as_handle_each(_handler_on("stream", path == "dispatch"),
                             lambda replacements, _handler: replacements.replace(owner, name, style),
                             dispatch if path == "dispatch" else _as_the_local_output)

    @pytest.mark.parametrize(("kind", "name", "style"), [("stream", "emit", "apm"), ("stream", "format", "mock"),
                                                         ("shared", "emit", "apm"), ("shared", "handle", "mock")])
    def test_the_local_output_goes_through_a_replaced_handler_method(self, kind: str, name: str, style: str) -> None:
        """``LocalJsonWriter.write_events`` to a bare handler whose method is replaced: it runs for every event's line."""
        logger = _fresh_tree()[1]
        handler, stream = _handler_on(kind, False)(logger)
        events = [Event("checkout_v2", 7, 0.1, {"ünïcode": "→ ✓", "q": "\"quoted\""}, time_ns=1_700_000_000_000_000_000),
                  Event("api_call", 1, None, {"endpoint": "/api/v1/fighters", "status": 200}),
                  Event("no_labels", 1, None, {}), Event("big", 2, None, {"text": "x" * 5_000})]
        payloads = [json.dumps({"event": "checkout_v2", "n": 7, "value": 0.1, "labels": {"ünïcode": "→ ✓", "q": "\"quoted\""}}),
                    json.dumps({"event": "api_call", "n": 1, "labels": {"endpoint": "/api/v1/fighters", "status": 200}}),
                    json.dumps({"event": "no_labels", "n": 1}), json.dumps({"event": "big", "n": 2, "labels": {"text": "x" * 5_000}})]
        with contextlib.ExitStack() as stack:
            replacements = Replacements(stack)
            replacements.replace(handler, name, style)
            LocalJsonWriter(logger_name=logger.name).write_events(events)
        assert replacements.calls == payloads
        assert stream.getvalue() == "".join(payload + "\n" for payload in payloads)


@pytest.fixture(autouse=True)
def _no_handler_errors_printed() -> Iterator[None]:
    """``handleError`` of the plain handlers in these cases would print tracebacks to stderr."""
    before, logging.raiseExceptions = logging.raiseExceptions, False
    yield
    logging.raiseExceptions = before
