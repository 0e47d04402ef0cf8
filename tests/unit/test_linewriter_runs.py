"""The batch path of the line writer (encoded once, cut at newlines) writes the same runs as ``_chunks``."""

from __future__ import annotations

import os
import random

import pytest

from gyrinx_tracker._outputs.shared import linewriter


def _texts(seed: int) -> list[str]:
    rng = random.Random(seed)
    sizes = [rng.choice([1, 50, 200, 4095, 4096, 4097, 9000, rng.randint(1, 300)]) for _ in range(300)]
    return [("é" if index % 5 == 0 else "x") * (size - 1) + "\n" for index, size in enumerate(sizes)]


@pytest.mark.parametrize("seed", range(5))
def test_the_runs_and_bytes_equal_the_line_by_line_ones(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each write is the run ``_chunks`` makes of the encoded lines; all lines are counted as written."""
    texts = _texts(seed)
    written: list[bytes] = []
    monkeypatch.setattr(linewriter, "_write_all", lambda fd, data, deadline: (written.append(bytes(data)), (len(data), None))[1])
    assert linewriter._write_batch(-1, texts) == (len(texts), None)
    assert written == [chunk for chunk, _ in linewriter._chunks([text.encode("utf-8") for text in texts])]


def test_a_write_stopped_midway_counts_the_whole_lines_before_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """The error ends the batch: the lines wholly written are counted, as the line-by-line path counts them."""
    texts = ["a" * 99 + "\n"] * 100  # runs of 40 lines (4,000 bytes)
    calls: list[int] = []

    def write_all(fd: int, data: bytes, deadline: float) -> tuple[int, OSError | None]:
        calls.append(len(data))
        return (len(data), None) if len(calls) == 1 else (250, OSError("closed"))

    monkeypatch.setattr(linewriter, "_write_all", write_all)
    monkeypatch.setattr(linewriter, "_end_line", lambda fd, chunk, written, error: error)
    done, error = linewriter._write_batch(-1, texts)
    assert (done, str(error)) == (40 + 2, "closed")


def test_texts_that_are_not_one_line_each_go_line_by_line() -> None:
    """A text with an inner newline cannot be counted from the newlines: the per-line path writes it."""
    read_end, write_end = os.pipe()
    try:
        assert linewriter._write_batch(write_end, ["a\nb\n", "c\n"]) == (2, None)
        assert os.read(read_end, 100) == b"a\nb\nc\n"
    finally:
        os.close(read_end)
        os.close(write_end)
