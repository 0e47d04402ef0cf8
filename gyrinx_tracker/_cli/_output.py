"""Colour and number formatting for the terminal, honouring NO_COLOR and non-terminal outputs.

Colour only helps a person reading a terminal: piped into a file or ``grep`` it would be escape
codes in the data. So ``auto`` colours only a TTY, and never when ``NO_COLOR`` is set
(https://no-color.org) or ``TERM=dumb``.
"""

from __future__ import annotations

import json
import os
from typing import Any, TextIO

CODES = {"bold": "1", "dim": "2", "red": "31", "green": "32", "yellow": "33", "blue": "34",
         "magenta": "35", "cyan": "36", "bold_cyan": "1;36"}
SEVERITY_COLOURS = {"DEBUG": "dim", "INFO": "green", "NOTICE": "green", "WARNING": "yellow",
                    "ERROR": "red", "CRITICAL": "red", "ALERT": "red", "EMERGENCY": "red"}
SPARKS = "▁▂▃▄▅▆▇█"


def colour_enabled(mode: str, stream: TextIO) -> bool:
    """Whether to colour ``stream`` for ``--color`` ``mode`` (auto, always, never)."""
    if mode == "always":
        return True
    if mode == "never" or os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


class Painter:
    """Wraps text in ANSI codes, or returns it unchanged when colour is off."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled

    def __call__(self, text: str, style: str) -> str:
        if not self.enabled or style not in CODES:
            return text
        return f"\x1b[{CODES[style]}m{text}\x1b[0m"


def number(value: float | None) -> str:
    """A short, readable number: 12.35, 1,234, 0.0012; ``-`` when there is none."""
    if value is None:
        return "-"
    if value == int(value) and abs(value) < 1e15:
        return f"{int(value):,}"
    if abs(value) >= 1e4:
        return f"{value:,.0f}"
    return f"{value:.4g}"


def scalar(value: Any) -> str:
    """A label value as a person reads it: strings bare, everything else as JSON."""
    if isinstance(value, str):
        return value if value and " " not in value else json.dumps(value, ensure_ascii=False)
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))  # Cloud Logging's JSON gives 200 back as 200.0
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def sparkline(counts: list[int]) -> str:
    """One block character per bin, scaled to the largest; a space for an empty bin."""
    top = max(counts, default=0)
    if not top:
        return ""
    return "".join(" " if not c else SPARKS[min(len(SPARKS) - 1, c * len(SPARKS) // (top + 1))]
                   for c in counts)


def bar(value: float, top: float, width: int) -> str:
    """A horizontal bar of eighth-blocks, ``width`` characters for ``top``."""
    if top <= 0 or value <= 0:
        return ""
    eighths = max(1, round(value / top * width * 8))
    return "█" * (eighths // 8) + ("", "▏", "▎", "▍", "▌", "▋", "▊", "▉")[eighths % 8]
