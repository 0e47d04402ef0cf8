"""A batch handed to the logger's handlers at once leaves every handler what ``logger.handle`` per record would.

Each case builds the same handler set-up twice, on two loggers: one gets each record through
``logger.handle`` (the original tracker's path), the other the whole batch through ``dispatch``.
The streams and the handlers' records must then be equal, byte for byte and in order.
"""

from __future__ import annotations

import io
import itertools
import logging
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from gyrinx_tracker._outputs.local import dispatch as stdlib_dispatch
from gyrinx_tracker._outputs.local.dispatch import dispatch
from gyrinx_tracker._outputs.local.records import record_maker
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
        assert sorted(set(maker.asked)) == list(range(len(MESSAGES)))  # one that ended a run is made again

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


@pytest.fixture(autouse=True)
def _no_handler_errors_printed() -> Iterator[None]:
    """``handleError`` of the plain handlers in these cases would print tracebacks to stderr."""
    before, logging.raiseExceptions = logging.raiseExceptions, False
    yield
    logging.raiseExceptions = before
