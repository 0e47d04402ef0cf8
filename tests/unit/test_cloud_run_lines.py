"""The Cloud Run stdout lines, written straight from events, equal the record-based lines they replaced.

The reference is the writer as it was before it skipped the SDK records: an SDK log record per event
(``RecordBuilder``, what the worker used), then ``{"severity", "time", trace fields?, **body}`` encoded
by ``json.dumps`` (compact, UTF-8 kept) through ``fit``. Every line must be the same text, over events
with and without traces (sampled or not), given bodies with a sample rate, labels large enough to need
``fit``, non-ASCII and 4-byte characters, and floats.
"""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags, set_span_in_context

from gyrinx_tracker._core.event import Event
from gyrinx_tracker._outputs.gcp.cloud_run import CloudRunStdoutWriter
from gyrinx_tracker._outputs.shared.limits import fit
from gyrinx_tracker._outputs.shared.text import rfc3339, span_hex, trace_hex
from gyrinx_tracker._signals.otel_logs import Collector, Record, RecordBuilder, private_logger_provider
from gyrinx_tracker._signals.records import body_of
from gyrinx_tracker._signals.writers import EventLogWriter


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _old_line(record: Record, trace_prefix: str | None) -> str:
    """The record-based line, as ``CloudRunStdoutWriter.line`` wrote it (with json.dumps as the encoder)."""
    log = record.log_record
    entry: dict[str, Any] = {"severity": "INFO", "time": rfc3339(log.timestamp or log.observed_timestamp)}
    if log.trace_id and trace_prefix:
        entry["logging.googleapis.com/trace"] = trace_prefix + trace_hex(log.trace_id)
        entry["logging.googleapis.com/spanId"] = span_hex(log.span_id or 0)
        entry["logging.googleapis.com/trace_sampled"] = bool(log.trace_flags and log.trace_flags.sampled)
    entry.update(log.body)  # type: ignore[arg-type]
    text, _ = fit(entry, _dumps)
    return text + "\n"


def _old_lines(events: list[Event], bodies: list[dict[str, Any] | None] | None, project: str | None) -> list[str]:
    collector = Collector()
    logger: Any = private_logger_provider(Resource.create({}), collector).get_logger("gyrinx_tracker", "test")
    builder = RecordBuilder(logger, collector)
    for index, event in enumerate(events):
        body = bodies[index] if bodies is not None else None
        builder.emit(event.time_ns, event.context, body_of(event) if body is None else body, event.name)
    prefix = f"projects/{project}/traces/" if project else None
    return [_old_line(record, prefix) for record in collector.take()]


def _in_span(trace_id: int, span_id: int, sampled: bool) -> Context:
    flags = TraceFlags(TraceFlags.SAMPLED if sampled else TraceFlags.DEFAULT)
    return set_span_in_context(NonRecordingSpan(SpanContext(trace_id, span_id, is_remote=False, trace_flags=flags)))


SAMPLED_SPAN = _in_span(0x0AF7651916CD43DD8448EB211C80319C, 0x00F067AA0BA902B7, True)
UNSAMPLED_SPAN = _in_span(0x1, 0xFFFFFFFFFFFFFFFF, False)
T0 = 1_796_000_000_123_456_789  # 2026-12-01, with sub-microsecond digits


def _varied_events() -> list[Event]:
    contexts: list[Context | None] = [None, Context(), SAMPLED_SPAN, SAMPLED_SPAN, UNSAMPLED_SPAN, None]
    values: list[int | float | None] = [None, 0.1, 12.5, -0.0, 1e300, 1.5e-7, 3, -(2**60), 2.675]
    labels: list[dict[str, Any]] = [
        {}, {"endpoint": "/api/v1/fighters", "method": "GET", "status": 200},
        {"name": "Gänsefüßchen", "emoji": "🐍😀", "cjk": "漢字", "ctl": "a\"b\\c\n\t\x00\u2028\u2029"},
        {"nested": {"list": [1, 2.5, None, True, {"k": []}]}, "big": 2**70, "f": 1e-320},
        {"é": "ü", "": "", "user_id": "42"},
    ]
    events = []
    for index in range(60):
        events.append(Event(
            name=["api_call", "ünïcødé_event", "operation_duration", 'quo"te'][index % 4],
            n=[1, 2, 10**18][index % 3], value=values[index % len(values)], labels=dict(labels[index % len(labels)]),
            time_ns=T0 + index * 337_000_123 + (index % 7), context=contexts[index % len(contexts)]))
    # Near and over the entry limit: long ASCII (no fit needed), 4-byte characters (fit drops labels),
    # many large labels (fit drops the largest), multi-byte text just under the limit.
    events.append(Event("big_ascii", 1, None, {"blob": "x" * 100_000}, T0 + 5, SAMPLED_SPAN))
    events.append(Event("big_emoji", 1, 2.5, {"blob": "😀" * 70_000, "small": 1}, T0 + 6, None))
    events.append(Event("big_many", 3, None, {f"k{i}": "é" * (30_000 + i) for i in range(6)}, T0 + 7, UNSAMPLED_SPAN))
    events.append(Event("big_under", 1, None, {"blob": "ü" * 124_000}, T0 + 8, None))
    return events


@pytest.mark.parametrize("project", ["proj", None])
class TestLinesEqualTheRecordBasedOnes:
    def test_payload_bodies(self, project: str | None) -> None:
        """Every event without a given body: the same text as the SDK-record path, line for line."""
        events = _varied_events()
        assert CloudRunStdoutWriter(project).lines(events) == _old_lines(events, None, project)

    def test_given_bodies_with_a_sample_rate(self, project: str | None) -> None:
        """Sampled events' bodies (with ``sample_rate``) mixed with payload ones (None)."""
        events = _varied_events()
        bodies: list[dict[str, Any] | None] = [body_of(e, 0.25) if i % 3 else None for i, e in enumerate(events)]
        assert CloudRunStdoutWriter(project).lines(events, bodies) == _old_lines(events, bodies, project)

    def test_one_event_at_a_time_and_in_one_batch_agree(self, project: str | None) -> None:
        """The caches (second, trace, name) carried between batches give the same lines as one batch."""
        events = _varied_events()
        writer = CloudRunStdoutWriter(project)
        assert [line for event in events for line in writer.lines([event])] == _old_lines(events, None, project)


class TestWriting:
    def test_it_is_an_event_writer_and_writes_whole_lines(self) -> None:
        """The worker gives it events (no SDK record); each line is valid JSON, the fitted ones within the limit."""
        events = _varied_events()
        stream = io.StringIO()
        writer = CloudRunStdoutWriter("proj", stream)
        assert isinstance(writer, EventLogWriter)
        delivery = writer.write_events(events)
        lines = stream.getvalue().split("\n")[:-1]  # not splitlines: \u2028 is inside a line
        assert delivery.written == len(events) == len(lines)
        entries = [json.loads(line) for line in lines]
        assert [entry["event"] for entry in entries] == [event.name for event in events]
        emoji = next(entry for entry in entries if entry["event"] == "big_emoji")
        assert "blob" not in emoji["labels"] and emoji["labels"]["_dropped_labels"] == 1
        assert all(len(line.encode("utf-8")) <= 250_000 for line in lines)


class TestThroughThePipeline:
    def test_sampled_events_carry_their_rate_and_the_books_add_up(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """exporter=gcp, gcp_transport=stdout with a sample rate: the kept lines say ``sample_rate``, the
        others are on the books as sampled out, and the lines on stdout equal the books' exported count."""
        import gyrinx_tracker

        stream = io.StringIO()
        monkeypatch.setattr("sys.stdout", stream)
        gyrinx_tracker.configure(exporter="gcp", gcp_transport="stdout", project_id="proj", gcp_metrics=False,
                                 sample_rates={"noisy": 0.5})
        try:
            for index in range(400):
                gyrinx_tracker.track("noisy", index=index, text="ünï")
                gyrinx_tracker.track("kept", value=index / 8)
            assert gyrinx_tracker.flush(30)
            books = gyrinx_tracker.stats()
        finally:
            gyrinx_tracker.shutdown(10)
        entries = [json.loads(line) for line in stream.getvalue().split("\n")[:-1]]
        noisy = [entry for entry in entries if entry["event"] == "noisy"]
        assert len(entries) - len(noisy) == 400 and 0 < len(noisy) < 400
        assert all(entry["sample_rate"] == 0.5 and entry["labels"]["text"] == "ünï" for entry in noisy)
        assert not any("sample_rate" in entry for entry in entries if entry["event"] == "kept")
        assert books["exported"] == len(entries) and books["sampled_out"] == 400 - len(noisy)
        assert books["emitted"] == 800 and books["dropped"] == 0
