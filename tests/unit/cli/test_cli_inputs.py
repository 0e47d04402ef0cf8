"""Reading inputs: the array reader across chunk boundaries, prefixed lines, flat lines, times."""

from __future__ import annotations

import io
import json

import pytest

from gyrinx_tracker._cli._inputs import DEEP, MAX_DEPTH, depth, entries, parse_line, parse_time
from gyrinx_tracker._cli._tally import Tally


class TestReading:
    def test_a_gcloud_array_spanning_many_chunks_is_read_whole_and_in_order(self) -> None:
        """Elements cut by the 64 KB read boundary are decoded intact, one by one."""
        items = [{"jsonPayload": {"event": "e", "n": 1, "value": i, "labels": {"pad": "x" * (i % 700)}}}
                 for i in range(3_000)]
        got = list(entries(io.StringIO(json.dumps(items, indent=2))))
        assert [entry["jsonPayload"]["value"] for entry in got] == list(range(3_000))
        assert got == items

    def test_the_json_object_is_found_behind_a_prefix_with_braces(self) -> None:
        """A log format prefix that itself contains braces does not hide the event; its level is the severity."""
        entry = parse_line('[{worker-1}] INFO gyrinx.tracker {"event":"a","n":1,"labels":{},"time":"t"}\n')
        assert entry == {"timestamp": "t", "severity": "INFO", "jsonPayload": {"event": "a", "n": 1, "labels": {}}}

    def test_the_time_level_and_trace_of_the_apps_format_are_read(self) -> None:
        """%(asctime)s, %(levelname)s and trace_id=%(otelTraceID)s before the payload fill the entry."""
        trace = "0af7651916cd43dd8448eb211c80319c"
        entry = parse_line(f'2026-11-29 10:00:01,123 WARNING gyrinx.tracker trace_id={trace} {{"event":"a","n":1}}')
        assert entry is not None
        assert entry["timestamp"] == "2026-11-29T10:00:01.123Z"  # no zone in the line: UTC, not the reader's zone
        assert (entry["severity"], entry["trace"]) == ("WARNING", trace)
        untraced = parse_line('2026-11-29 10:00:01,123 INFO gyrinx.tracker trace_id=0 {"event":"a","n":1}')
        assert untraced is not None and "trace" not in untraced

    @pytest.mark.parametrize(("prefix", "stamp", "severity"), [
        ("2026-11-29 10:00:01,123 WARN app ", "2026-11-29T10:00:01.123Z", "WARNING"),
        ("2026-11-29 10:00:01,123 [main] ERROR app ", "2026-11-29T10:00:01.123Z", "ERROR"),
        ("2026-11-29 10:00:01,123 UTC INFO app ", "2026-11-29T10:00:01.123Z", "INFO"),
        ("2026-11-29 10:00:01,123+0100 INFO app ", "2026-11-29T09:00:01.123Z", "INFO"),
        ("2026-11-29 10:00:01.5 INFO app ", "2026-11-29T10:00:01.500Z", "INFO"),
        ("2026-11-29 25:00:01,123 INFO app ", None, "INFO"),
    ])
    def test_the_fixed_position_reading_and_the_regexes_agree(self, prefix: str, stamp: str | None,
                                                              severity: str) -> None:
        """Layouts next to asctime-then-level (another level, a word between, a zone, a fraction, a bad hour)."""
        entry = parse_line(prefix + '{"event":"a","n":1}')
        assert entry is not None
        assert (entry.get("timestamp"), entry.get("severity")) == (stamp, severity)

    def test_cloud_run_keys_become_entry_fields(self) -> None:
        """severity, time and logging.googleapis.com/* leave the payload for their LogEntry fields."""
        line = json.dumps({"severity": "INFO", "time": "t", "logging.googleapis.com/trace": "projects/p/traces/1",
                           "logging.googleapis.com/spanId": "2", "logging.googleapis.com/trace_sampled": True,
                           "event": "a", "n": 1, "labels": {}})
        assert parse_line(line) == {"severity": "INFO", "timestamp": "t", "trace": "projects/p/traces/1",
                                    "spanId": "2", "traceSampled": True,
                                    "jsonPayload": {"event": "a", "n": 1, "labels": {}}}

    def test_lines_without_json_are_skipped(self) -> None:
        """Plain text and JSON that is not an object yield nothing."""
        assert list(entries(io.StringIO("starting up\n[1, 2]\n\n42\n"))) == []


class TestDepth:
    @pytest.mark.parametrize(("text", "expected"), [
        ('{"a": 1}', (1, 8)), ('{"a": [1, {"b": "}}]]"}]} tail', (3, 25)), ("[" * 5000 + "]" * 5000, (5000, 10000)),
        ('{"a": "unterminated', (1, None)), ('{"a": {"b": 1}', (2, None)),
    ])
    def test_depth_is_measured_without_recursion_and_ignores_brackets_in_strings(
            self, text: str, expected: tuple[int, int | None]) -> None:
        """The deepest level and where the value ends, for any depth; None when it does not end."""
        assert depth(text) == expected

    def test_a_line_deeper_than_the_limit_is_skipped_and_counted(self) -> None:
        """One level past MAX_DEPTH: skipped under its reason; at the limit: read."""
        tally = Tally()
        at_limit = '{"event": "e", "labels": ' + "[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1) + "}"
        assert parse_line(at_limit, tally) is not None
        assert parse_line(at_limit.replace("[", "[[", 1).replace("]", "]]", 1), tally) is None
        assert tally.skipped == {("line", DEEP): 1}


class TestTimes:
    @pytest.mark.parametrize(("text", "expected"), [
        ("2026-11-29T10:00:00Z", 1795946400.0),
        ("2026-11-29T10:00:00.5Z", 1795946400.5),
        ("2026-11-29T10:00:00.776560384Z", 1795946400.776560),
        ("2026-11-29T11:00:00+01:00", 1795946400.0),
        ("2026-11-29 10:00:00", 1795946400.0),
        ("2026-11-29", 1795910400.0),
    ])
    def test_rfc3339_in_every_precision_and_offset(self, text: str, expected: float) -> None:
        """Nanoseconds, offsets, a space for T and bare dates all parse to the same instant scale (UTC)."""
        assert parse_time(text) == pytest.approx(expected, abs=1e-6)

    @pytest.mark.parametrize("text", ["", "yesterday", "2026-13-40", None, 12])
    def test_anything_else_is_not_a_time(self, text: object) -> None:
        """Unparseable values give None rather than raising."""
        assert parse_time(text) is None


class TestMetricLines:
    def test_the_local_outputs_metric_lines_are_left_out_with_one_note(self) -> None:
        """A metric line as the local output writes it (through the README's format) is not an event."""
        from gyrinx_tracker._cli._inputs import METRIC_NOTE
        from gyrinx_tracker._outputs.local.metric_lines import head

        metric = head("tracker.api_call", "{event}", {"status": 500}) + '"value":10}'
        event = '{"event": "api_call", "n": 1, "value": 12.0}'
        prefix = "2026-12-07 23:26:07,747 INFO gyrinx.tracker.metrics trace_id=0 "
        tally = Tally()
        read = list(entries(io.StringIO(f"{prefix}{metric}\n{prefix}{event}\n{prefix}{metric}\n"), tally=tally))
        assert [entry["jsonPayload"]["event"] for entry in read] == ["api_call"]
        assert METRIC_NOTE in tally.notes
