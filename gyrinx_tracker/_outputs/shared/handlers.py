"""A logging handler for a stream that several processes share (gunicorn workers' stdout/stderr).

The stdlib ``StreamHandler`` writes each record with one ``write()``; on a pipe that is atomic
only up to 4096 bytes, so with several workers a longer record (an event with a large label, a
traceback) can be spliced with another worker's and reach the log agent as garbage. Measured: 3
processes x 20,000 events through ``StreamHandler(sys.stdout)`` on one pipe, 56 lines corrupt.
``SharedStreamHandler`` writes each record through the tracker's line writer instead: packed
into atomic writes when short, under an inter-process lock when long (see ``linewriter``).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, TextIO

from gyrinx_tracker._outputs.shared.linewriter import write_whole

if TYPE_CHECKING:
    _StreamHandler = logging.StreamHandler[TextIO]
else:  # subscriptable at run time only from Python 3.11
    _StreamHandler = logging.StreamHandler


class SharedStreamHandler(_StreamHandler):
    """A ``StreamHandler`` whose records stay whole when other processes write to the same stream."""

    def __init__(self, stream: TextIO | None = None) -> None:
        super().__init__(stream)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record) + self.terminator
        except RecursionError:  # as StreamHandler does: a recursion error is the app's bug to see
            raise
        except Exception:  # noqa: BLE001 - logging's contract: report through handleError, never raise
            self.handleError(record)
            return
        self.write_lines([record], [line])

    def write_lines(self, records: Sequence[logging.LogRecord], lines: Sequence[str]) -> None:
        """Write formatted ``lines`` (each ``records[i]``'s, terminator included) through the line
        writer in one call; the first record whose line was not written goes to ``handleError``.

        ``emit`` is its one-record case; the tracker's own output hands it a whole batch, under
        the handler's lock, as ``emit`` runs under it.
        """
        try:
            written, error = write_whole(self.stream, lines)
        except RecursionError:
            raise
        except Exception:  # noqa: BLE001 - logging's contract: report through handleError, never raise
            written, error = 0, OSError("write failed")
        if error is not None and written < len(records):
            self.handleError(records[written])


__all__ = ["SharedStreamHandler"]
