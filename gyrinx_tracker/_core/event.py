"""The event: one ``track()`` call after cleaning, the one type every later stage reads.

It lives apart from the sanitizer that makes it so that the pipeline, the catalogue, the signals
and the outputs can name it without importing the rules that clean it.
"""

from __future__ import annotations

from dataclasses import dataclass
from threading import Thread
from types import CodeType
from typing import TYPE_CHECKING

from opentelemetry.context import Context

if TYPE_CHECKING:
    from gyrinx_tracker._core.encode import JSON

# Where track() was called: the caller's code object and its last instruction offset (not the
# frame, which would keep the caller's locals alive until the event is exported; not the line
# number, which costs a walk of the line table on the caller's thread).
Site = tuple[CodeType, int]

# The label that says how many labels were dropped (too many, too large, or over the queue's budget).
DROPPED_LABELS = "_dropped_labels"


@dataclass(slots=True)
class Event:
    """One call after validation: what the log record and the metrics are built from.

    ``time_ns``, ``context`` (the OpenTelemetry context current at the call site, which carries
    the trace), ``thread`` and ``site`` (the caller's code object and offset) are set by the
    pipeline from what ``track()`` read on the caller's thread.
    """

    name: str
    n: int
    value: int | float | None
    labels: dict[str, JSON]
    time_ns: int = 0
    context: Context | None = None
    thread: Thread | None = None
    site: Site | None = None
    held: int = 0  # bytes charged to the queue's byte budget (see _budget), released after export
