"""Cloud Run's structured logging: one JSON object per line on stdout.

Cloud Run's logging agent turns each line into an entry: ``severity``, ``time`` and the
``logging.googleapis.com/*`` keys become entry fields, everything else the ``jsonPayload``. So the
original payload sits at the top level and ``jsonPayload.event="..."`` queries work unchanged. The
entries land in the ``run.googleapis.com/stdout`` log (the agent chooses the log name), not in
``tracker``; use the ``api`` transport when the log name matters.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any, TextIO

from gyrinx_tracker._core.event import Event
from gyrinx_tracker._outputs.shared.fast_json import encode_json
from gyrinx_tracker._outputs.shared.limits import fit
from gyrinx_tracker._outputs.shared.linewriter import deliver_lines
from gyrinx_tracker._outputs.shared.text import rfc3339, span_hex, trace_hex
from gyrinx_tracker._pipeline.port import Delivery
from gyrinx_tracker._signals.otel_logs import Record

TRACE = "logging.googleapis.com/trace"
SPAN = "logging.googleapis.com/spanId"
SAMPLED = "logging.googleapis.com/trace_sampled"


class CloudRunStdoutWriter:
    """Writes Cloud Run structured JSON lines, each whole even when other processes share stdout."""

    reads_attributes = False  # the body carries everything this output writes

    def __init__(self, project_id: str | None, stream: TextIO | None = None) -> None:
        self._trace_prefix = f"projects/{project_id}/traces/" if project_id else None
        self._stream = stream

    def line(self, record: Record) -> str:
        """One entry: severity, time, trace fields, then the payload's own keys."""
        log = record.log_record
        entry: dict[str, Any] = {"severity": "INFO", "time": rfc3339(log.timestamp or log.observed_timestamp)}
        if log.trace_id and self._trace_prefix:
            entry[TRACE] = self._trace_prefix + trace_hex(log.trace_id)
            entry[SPAN] = span_hex(log.span_id or 0)
            entry[SAMPLED] = bool(log.trace_flags and log.trace_flags.sampled)
        entry.update(log.body)  # type: ignore[arg-type]
        text, _ = fit(entry, encode_json)
        return text

    def write(self, records: Sequence[Record], events: Sequence[Event]) -> Delivery:
        lines = [self.line(record) + "\n" for record in records]
        return deliver_lines(self._stream or sys.stdout, lines, "stdout")

    def flush(self, timeout: float) -> bool:
        return True

    def shutdown(self, timeout: float) -> None:
        return None
