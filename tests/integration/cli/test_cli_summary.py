"""`summary`: per-event counts, sums and percentiles from every input kind, end to end in a subprocess."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from tests.integration.cli.conftest import API_CALLS, DURATIONS, LOGIN_N, Run, clean_env


def _exact(values: list[float], q: float) -> float:
    """The value at rank floor(q * (count - 1)): the rank the sketch promises to be within 1% of."""
    ordered = sorted(values)
    return ordered[math.floor(q * (len(ordered) - 1))]


def _summary(cli: Run, *args: str) -> dict[str, Any]:
    result = cli("summary", "--json", *args)
    assert result.returncode == 0, result.stderr
    parsed: dict[str, Any] = json.loads(result.stdout)
    return parsed


class TestCounts:
    def test_counts_and_sums_of_n_are_exact_for_every_kind(self, cli: Run, inputs: dict[str, Path], kind: str) -> None:
        """Each event's count and sum of n equal what the app tracked; values only where given."""
        rows = {row["event"]: row for row in _summary(cli, str(inputs[kind]))["events"]}
        assert set(rows) == {"api_call", "operation_duration", "user_login"}
        assert (rows["api_call"]["count"], rows["api_call"]["n"]) == (API_CALLS, API_CALLS)
        assert (rows["user_login"]["count"], rows["user_login"]["n"]) == (1, LOGIN_N)
        assert rows["api_call"]["value"] is None

    def test_percentiles_are_within_the_stated_error_and_max_is_exact(
            self, cli: Run, inputs: dict[str, Path], kind: str) -> None:
        """p50/p90/p99 of operation_duration are within 1% of the exact values; max, min and sum are exact."""
        document = _summary(cli, str(inputs[kind]))
        (row,) = [r for r in document["events"] if r["event"] == "operation_duration"]
        value = row["value"]
        assert document["relative_error"] == 0.01
        for name, q in (("p50", 0.5), ("p90", 0.9), ("p99", 0.99)):
            exact = _exact(DURATIONS, q)
            assert abs(value[name] - exact) <= 0.01 * exact, (name, value[name], exact)
        assert (value["max"], value["min"], value["sum"], value["count"]) == (40.0, 1.0, sum(DURATIONS), 40)

    def test_by_label_splits_one_row_per_value(self, cli: Run, inputs: dict[str, Path], kind: str) -> None:
        """--by status gives api_call rows for 200 and 500 with the app's split; other events go under (none)."""
        rows = _summary(cli, "--by", "status", str(inputs[kind]))["events"]
        counts = {(r["event"], r["by"]["status"]): r["count"] for r in rows}
        assert counts == {("api_call", "200"): 30, ("api_call", "500"): 10,
                          ("operation_duration", "(none)"): 40, ("user_login", "(none)"): 1}

    def test_the_filter_narrows_what_is_summarised(self, cli: Run, inputs: dict[str, Path]) -> None:
        """--filter takes the query language: only the fighters endpoint's api_calls are counted."""
        rows = _summary(cli, "--filter", 'jsonPayload.labels.endpoint="/api/v1/fighters"', str(inputs["stdout"]))["events"]
        assert [(r["event"], r["count"]) for r in rows] == [("api_call", API_CALLS // 2)]


class TestWindow:
    def test_last_hour_keeps_everything_just_tracked(self, cli: Run, inputs: dict[str, Path], kind: str) -> None:
        """--last 1h counts the events the session tracked minutes ago."""
        rows = _summary(cli, "--last", "1h", str(inputs[kind]))["events"]
        assert sum(r["count"] for r in rows) == API_CALLS + len(DURATIONS) + 1

    def test_since_and_until_bound_the_window(self, cli: Run, inputs: dict[str, Path], kind: str) -> None:
        """An until in the past and a since in the future each leave nothing; the window is echoed."""
        past = _summary(cli, "--until", "2020-01-01", str(inputs[kind]))
        future = _summary(cli, "--since", "2999-01-01T00:00:00Z", str(inputs[kind]))
        assert past["events"] == [] and future["events"] == []
        assert past["window"] == {"since": None, "until": "2020-01-01T00:00:00.000000Z"}

    def test_a_bad_time_is_a_usage_error(self, cli: Run, inputs: dict[str, Path]) -> None:
        """An unparseable --since or --last names the option and exits non-zero without a traceback."""
        for args in (("--since", "yesterday"), ("--last", "an hour")):
            result = cli("summary", *args, str(inputs["local"]))
            assert result.returncode != 0 and args[0] in result.stderr and "Traceback" not in result.stderr


class TestTable:
    def test_the_table_has_a_row_per_event_a_bar_and_a_sparkline(self, cli: Run, inputs: dict[str, Path]) -> None:
        """The terminal view lists each event with its numbers, an n bar and a value sparkline, uncoloured off a TTY."""
        result = cli("summary", str(inputs["gcloud"]))
        assert result.returncode == 0, result.stderr
        header, *rows, note = result.stdout.splitlines()
        assert header.split()[:7] == ["event", "count", "sum", "n", "p50", "p90", "p99"]
        assert [row.split()[0] for row in rows] == ["api_call", "operation_duration", "user_login"]
        duration = rows[1]
        assert "40" in duration.split() and any(ch in duration for ch in "▁▂▃▄▅▆▇")
        assert "█" in rows[0] and "\x1b[" not in result.stdout
        assert note.startswith("percentiles within 1% relative error")

    def test_colour_is_off_with_no_color_even_when_forced_by_auto(self, cli: Run, inputs: dict[str, Path]) -> None:
        """--color always colours; NO_COLOR turns auto off."""
        forced = cli("summary", "--color", "always", str(inputs["local"]))
        assert "\x1b[" in forced.stdout
        plain = cli("summary", str(inputs["local"]), env=clean_env(NO_COLOR="1"))
        assert "\x1b[" not in plain.stdout

    def test_an_input_without_events_says_so(self, cli: Run, tmp_path: Path) -> None:
        """A file with no tracker events prints a sentence, not an empty table."""
        empty = tmp_path / "app.log"
        empty.write_text("INFO starting\n{\"message\": \"not an event\"}\n", encoding="utf-8")
        result = cli("summary", str(empty))
        assert result.returncode == 0 and result.stdout.startswith("no tracker events")
