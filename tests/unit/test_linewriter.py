"""The line writer's own rules: atomic-sized writes, whole lines only, failures counted, fork-safe.

The multi-process proof is tests/process/test_shared_streams.py; these pin the pieces it rests on,
with real pipes, and a real fork in tests/process/test_linewriter.py.
"""

from __future__ import annotations

import contextlib
import fcntl
import io
import json
import logging
import os
import sys
from collections.abc import Iterator

import pytest

import gyrinx_tracker
from gyrinx_tracker._outputs.shared import linewriter as _linewriter
from gyrinx_tracker._outputs.shared.linewriter import PIPE_BUF, write_whole
from gyrinx_tracker.handlers import SharedStreamHandler


@pytest.fixture
def pipe() -> Iterator[tuple[int, int]]:
    """A real pipe (read end, write end), both closed afterwards if still open."""
    read_end, write_end = os.pipe()
    yield read_end, write_end
    for fd in (read_end, write_end):
        with contextlib.suppress(OSError):
            os.close(fd)


def _read_all(fd: int) -> bytes:
    os.set_blocking(fd, False)
    chunks = []
    while True:
        try:
            chunk = os.read(fd, 1 << 16)
        except BlockingIOError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks)


def _line(size: int, tag: str) -> str:
    return (tag * size)[: size - 1] + "\n"


class TestPacking:
    @pytest.mark.parametrize(("sizes", "writes"), [
        ([100] * 10, [1000]),
        ([1000] * 9, [4000, 4000, 1000]),
        ([PIPE_BUF] * 2, [PIPE_BUF, PIPE_BUF]),
        ([100, 20_000, 100], [100, 20_000, 100]),
    ])
    def test_short_lines_share_writes_of_at_most_pipe_buf_and_a_long_line_goes_alone(
            self, sizes: list[int], writes: list[int]) -> None:
        """Runs of whole lines fill writes up to PIPE_BUF bytes; a line over it is a write of its own."""
        chunks = list(_linewriter._chunks([b"x" * size for size in sizes]))
        assert [len(chunk) for chunk, _ in chunks] == writes
        assert sum(count for _, count in chunks) == len(sizes)


class TestWriting:
    def test_lines_arrive_whole_and_in_order_on_a_pipe(self, pipe: tuple[int, int]) -> None:
        """Every line written is read back byte for byte, in order."""
        read_end, write_end = pipe
        lines = [_line(size, tag) for size, tag in [(50, "a"), (9000, "b"), (10, "c")]]
        with os.fdopen(write_end, "w", closefd=False) as stream:
            assert write_whole(stream, lines) == (3, None)
        assert _read_all(read_end) == "".join(lines).encode()

    def test_a_stream_without_a_descriptor_still_gets_every_line(self) -> None:
        """StringIO (or a test runner's capture) has no fd: lines are written through it, all counted."""
        stream = io.StringIO()
        assert write_whole(stream, ["one\n", "two\n"]) == (2, None)
        assert stream.getvalue() == "one\ntwo\n"

    def test_text_the_app_buffered_in_the_stream_goes_out_first(self, pipe: tuple[int, int]) -> None:
        """Our lines go to the fd directly, after flushing what the app left in the Python buffer."""
        read_end, write_end = pipe
        with os.fdopen(write_end, "w", closefd=False) as stream:
            stream.write("app line\n")
            write_whole(stream, ["ours\n"])
        assert _read_all(read_end) == b"app line\nours\n"


class TestFailures:
    def test_a_closed_pipe_writes_nothing_and_says_why(self, pipe: tuple[int, int]) -> None:
        """With the reader gone every line fails: none counted as written, EPIPE returned."""
        read_end, write_end = pipe
        os.close(read_end)
        with os.fdopen(write_end, "w", closefd=False) as stream:
            written, error = write_whole(stream, ["a\n", "b\n"])
        assert (written, type(error)) == (0, BrokenPipeError)

    def test_a_full_non_blocking_pipe_counts_only_whole_lines(
            self, pipe: tuple[int, int], monkeypatch: pytest.MonkeyPatch) -> None:
        """When a non-blocking stream stays full, the count is the lines the reader will find whole."""
        monkeypatch.setattr(_linewriter, "WRITE_TIMEOUT", 0.2)
        read_end, write_end = pipe
        os.set_blocking(write_end, False)
        capacity = fcntl.fcntl(write_end, 1032)  # F_GETPIPE_SZ
        lines = [_line(3000, str(index % 10)) for index in range(2 * capacity // 3000)]
        with os.fdopen(write_end, "w", closefd=False) as stream:
            written, error = write_whole(stream, lines)
        assert isinstance(error, TimeoutError)
        assert 0 < written < len(lines)
        received = _read_all(read_end).split(b"\n")
        assert received[-1] == b""
        whole = [line for line in received[:-1] if len(line) == 2999]
        assert [line + b"\n" for line in whole] == [line.encode() for line in lines[:written]]
        assert len(received[:-1]) <= written + 1  # at most one cut line, ended with a newline

    def test_the_stdout_transport_counts_lines_it_could_not_write_as_dropped(
            self, pipe: tuple[int, int], monkeypatch: pytest.MonkeyPatch) -> None:
        """A broken stdout loses events, and the books say so: exported 0, dropped by export_failed."""
        read_end, write_end = pipe
        os.close(read_end)
        monkeypatch.setattr(sys, "stdout", os.fdopen(write_end, "w", closefd=False))
        gyrinx_tracker.configure(exporter="gcp", gcp_transport="stdout", project_id="proj")
        for index in range(10):
            gyrinx_tracker.track("lost", index=index)
        gyrinx_tracker.flush(10)
        books = gyrinx_tracker.stats()
        assert (books["exported"], books["dropped"], books["dropped_by_reason"]) == (0, 10, {"export_failed": 10})

    def test_the_local_fallback_counts_a_partial_batch_exactly(
            self, pipe: tuple[int, int], monkeypatch: pytest.MonkeyPatch) -> None:
        """On a full non-blocking stderr, exported equals the whole lines the reader gets; the rest are dropped."""
        monkeypatch.setattr(_linewriter, "WRITE_TIMEOUT", 0.2)
        read_end, write_end = pipe
        os.set_blocking(write_end, False)
        monkeypatch.setattr(sys, "stderr", os.fdopen(write_end, "w", closefd=False))
        monkeypatch.setattr(logging.getLogger("gyrinx.tracker"), "propagate", False)  # no handler anywhere
        gyrinx_tracker.configure(exporter="console", flush_interval=5.0)
        for index in range(100):
            gyrinx_tracker.track("big", index=index, blob="z" * 2000)
        gyrinx_tracker.flush(10)
        books = gyrinx_tracker.stats()
        monkeypatch.undo()
        parsed = []
        for raw in _read_all(read_end).split(b"\n")[:-1]:
            with contextlib.suppress(ValueError):
                parsed.append(json.loads(raw))
        events = [line for line in parsed if line.get("event") == "big"]  # metric lines share stderr
        assert books["dropped_by_reason"].get("export_failed", 0) > 0
        assert books["exported"] == len(events)
        assert books["exported"] + books["dropped"] == 100


class TestHandler:
    def test_the_handler_writes_each_formatted_record_as_one_unit(self, pipe: tuple[int, int]) -> None:
        """SharedStreamHandler formats like StreamHandler and writes the record with its terminator."""
        read_end, write_end = pipe
        with os.fdopen(write_end, "w", closefd=False) as stream:
            handler = SharedStreamHandler(stream)
            handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
            logger = logging.Logger("handler-test")
            logger.addHandler(handler)
            logger.warning("first")
            logger.warning("second %s", "x" * 10_000)
        data = _read_all(read_end).decode()
        assert data == "WARNING first\nWARNING second " + "x" * 10_000 + "\n"

    def test_a_failed_write_goes_to_handle_error_not_to_the_caller(
            self, pipe: tuple[int, int], monkeypatch: pytest.MonkeyPatch) -> None:
        """As with any logging handler, a broken stream is reported through handleError and never raises."""
        read_end, write_end = pipe
        os.close(read_end)
        failed: list[logging.LogRecord] = []
        with os.fdopen(write_end, "w", closefd=False) as stream:
            handler = SharedStreamHandler(stream)
            monkeypatch.setattr(handler, "handleError", failed.append)
            handler.emit(logging.LogRecord("x", logging.INFO, "", 0, "lost", (), None))
        assert [record.msg for record in failed] == ["lost"]
