"""What the reader skipped and assumed, told once on stderr at the end instead of a traceback per line.

Logs are hostile input: a line nested 100,000 deep, an array element that never closes. Each is
skipped and counted here by reason, so one bad line costs its own events and nothing else, and the
user is told how many were lost. Notes (a time read as UTC because it carried no zone) are
said once each, however many lines they apply to.
"""

from __future__ import annotations

from collections import Counter
from typing import TextIO


class Tally:
    """Skipped lines or entries by reason, and the notes to print once."""

    def __init__(self) -> None:
        self.skipped: Counter[tuple[str, str]] = Counter()  # (unit, reason)
        self.notes: dict[str, None] = {}  # ordered, each note once

    def skip(self, reason: str, unit: str = "line") -> None:
        """One line (or, in a JSON array, one ``entry``) left out, and why."""
        self.skipped[unit, reason] += 1

    def note(self, text: str) -> None:
        self.notes.setdefault(text, None)

    def report(self, err: TextIO) -> None:
        """``gyrinx-tracker: skipped 2 lines: nested deeper than 200`` and each note, on ``err``."""
        for (unit, reason), count in self.skipped.items():
            plural = unit if count == 1 else ("entries" if unit == "entry" else unit + "s")
            err.write(f"gyrinx-tracker: skipped {count} {plural}: {reason}\n")
        for text in self.notes:
            err.write(f"gyrinx-tracker: note: {text}\n")
