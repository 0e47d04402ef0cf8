"""`query`: the Cloud Logging filter language over every input kind, end to end in a subprocess."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from gyrinx_tracker._cli._inputs import parse_time
from tests.integration.cli.conftest import API_CALLS, Run, json_lines

README_QUERY = 'jsonPayload.event="api_call" jsonPayload.labels.endpoint="/api/v1/fighters"'
RawEvents = Callable[[Path], Iterator[dict[str, Any]]]


class TestReadmeQueries:
    def test_the_readme_query_runs_unchanged_on_every_kind(self, cli: Run, inputs: dict[str, Path], kind: str) -> None:
        """The original tracker's query finds exactly the api_call entries for /api/v1/fighters, as LogEntry JSON lines."""
        result = cli("query", README_QUERY, str(inputs[kind]))
        assert result.returncode == 0, result.stderr
        entries = json_lines(result.stdout)
        assert len(entries) == API_CALLS // 2
        assert {e["jsonPayload"]["event"] for e in entries} == {"api_call"}
        assert {e["jsonPayload"]["labels"]["endpoint"] for e in entries} == {"/api/v1/fighters"}
        assert all(e["severity"] == "INFO" and "timestamp" in e for e in entries)

    def test_resource_type_matches_only_what_says_cloud_run(self, cli: Run, inputs: dict[str, Path], kind: str) -> None:
        """resource.type="cloud_run_revision" matches every gcloud entry and nothing in files that carry no resource."""
        result = cli("query", 'resource.type="cloud_run_revision" jsonPayload.event="api_call"', str(inputs[kind]))
        assert result.returncode == 0, result.stderr
        assert len(json_lines(result.stdout)) == (API_CALLS if kind == "gcloud" else 0)

    def test_trace_is_normalised_to_the_entry_field(self, cli: Run, inputs: dict[str, Path], kind: str) -> None:
        """Every api_call (tracked inside a span) has trace set, whatever the kind; the others have none."""
        with_trace = json_lines(cli("query", "trace:*", str(inputs[kind])).stdout)
        assert len(with_trace) == API_CALLS
        assert len(json_lines(cli("query", "--", "-trace:*", str(inputs[kind])).stdout)) == 40 + 1


class TestOperators:
    def test_numbers_compare_numerically(self, cli: Run, inputs: dict[str, Path], kind: str) -> None:
        """status>=500 finds the tenth of api_calls that failed; value ranges count exactly."""
        failed = json_lines(cli("query", "jsonPayload.labels.status>=500", str(inputs[kind])).stdout)
        assert len(failed) == API_CALLS // 4
        slow = cli("query", "jsonPayload.value > 10 AND jsonPayload.value <= 20", str(inputs[kind]))
        assert sorted(e["jsonPayload"]["value"] for e in json_lines(slow.stdout)) == [float(v) for v in range(11, 21)]

    def test_or_binds_tighter_than_and_as_in_cloud_logging(self, cli: Run, inputs: dict[str, Path]) -> None:
        """`a OR b AND c` is `(a OR b) AND c`: user_login OR api_call, restricted to method GET."""
        result = cli("query", 'jsonPayload.event="user_login" OR jsonPayload.event="api_call" AND '
                              "jsonPayload.labels.method=GET", str(inputs["local"]))
        assert len(json_lines(result.stdout)) == API_CALLS

    def test_not_and_minus_exclude_and_has_is_a_case_insensitive_substring(
            self, cli: Run, inputs: dict[str, Path], kind: str) -> None:
        """NOT, the - prefix, parentheses and `:` (has) select the expected counts."""
        path = str(inputs[kind])
        assert len(json_lines(cli("query", "jsonPayload.labels.endpoint:FIGHTERS", path).stdout)) == API_CALLS // 2
        assert len(json_lines(cli("query", 'NOT jsonPayload.event="api_call"', path).stdout)) == 41
        assert len(json_lines(cli("query", "--", '-(jsonPayload.event="api_call" OR jsonPayload.event="user_login")',
                                  path).stdout)) == 40

    def test_timestamp_bounds_compare_as_instants(self, cli: Run, inputs: dict[str, Path], kind: str,
                                                  raw_events: RawEvents) -> None:
        """timestamp>= a second-precision time keeps exactly the events at or after it, whatever the precision."""
        times = sorted(parse_time(event["time"]) or 0.0 for event in raw_events(inputs[kind]))
        middle = times[len(times) // 2]
        bound = f"{int(middle)}"  # whole second: 2026-...T..:..:..Z
        from datetime import datetime, timezone
        text = datetime.fromtimestamp(int(middle), timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        expected = sum(1 for t in times if t >= int(bound))
        result = cli("query", f'timestamp>="{text}"', str(inputs[kind]))
        assert len(json_lines(result.stdout)) == expected

    def test_stdin_and_the_tail_format(self, cli: Run, inputs: dict[str, Path], kind: str) -> None:
        """With no file the input is stdin; --format tail prints the readable line instead of JSON."""
        text = inputs[kind].read_text(encoding="utf-8")
        result = cli("query", 'jsonPayload.event="user_login"', "--format", "tail", stdin=text)
        assert result.returncode == 0, result.stderr
        (line,) = result.stdout.splitlines()
        assert "user_login ×3 method=password" in line


class TestErrors:
    def test_a_syntax_error_points_at_the_column_and_exits_2(self, cli: Run, inputs: dict[str, Path]) -> None:
        """The message names the problem, repeats the filter and puts a caret under the column."""
        result = cli("query", 'jsonPayload.event="api_call" AND', str(inputs["local"]))
        assert result.returncode == 2 and result.stdout == ""
        message, shown, caret = result.stderr.splitlines()
        assert message == "error: expected a field or a value, found end of filter at column 33"
        assert shown == '  jsonPayload.event="api_call" AND'
        assert caret == "  " + " " * 32 + "^"

    def test_a_missing_file_is_a_clear_error(self, cli: Run, tmp_path: Path) -> None:
        """A file that does not exist exits 2 with its name, not a traceback."""
        result = cli("query", "severity=INFO", str(tmp_path / "nope.log"))
        assert result.returncode == 2 and "nope.log" in result.stderr and "Traceback" not in result.stderr
