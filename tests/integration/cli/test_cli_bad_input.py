"""Invalid arguments and hostile input: a message and exit 2 for every usage error, never a traceback.

The exit codes are the command line's documented ones (docs/cli.md, ``gyrinx-tracker --help``):
0 success, 1 a check found a problem (doctor, events check), 2 a usage error, 130 interrupted.
Hostile lines (too deeply nested, undecodable bytes) are skipped and counted on stderr.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.integration.cli.conftest import Run, clean_env

USAGE = 2
EVENT = '{"event": "api_call", "n": 1, "value": 2.5, "labels": {"endpoint": "/a", "status": 200}}'


def _log(tmp_path: Path, *lines: str) -> Path:
    path = tmp_path / "app.log"
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def _no_traceback(stderr: str) -> None:
    assert "Traceback" not in stderr and "Error:" not in stderr.replace("error:", ""), stderr


class TestUsageErrors:
    @pytest.mark.parametrize(("args", "message"), [
        (("query", 'timestamp>="yesterday"'), "is not an RFC 3339 time"),
        (("query", "receiveTimestamp<tomorrow"), "is not an RFC 3339 time"),
        (("query", "severity>=LOUD"), "is not a severity"),
        (("query", "severity=WARN"), "is not a severity"),
        (("query", 'jsonPayload.event="a" AND'), "expected a field or a value"),
        (("tail", "-n", "-1"), "not a count"),
        (("tail", "-n", "many"), "not a count"),
        (("summary", "--since", "yesterday"), "--since 'yesterday' is not an RFC 3339 time"),
        (("summary", "--until", "2026-13-45"), "--until '2026-13-45' is not an RFC 3339 time"),
        (("summary", "--last", "soon"), "--last 'soon' is not a duration"),
        (("summary", "--last=-5m"), "--last '-5m' is not a duration"),
        (("summary", "--filter", "severity>LOUD"), "is not a severity"),
        (("summary", "--by", "no_such_label"), "no event in the input has the label 'no_such_label'"),
        (("tail", "--filter", 'timestamp>"last week"'), "is not an RFC 3339 time"),
    ], ids=lambda value: " ".join(value) if isinstance(value, tuple) else None)
    def test_each_invalid_input_says_why_and_exits_2(self, cli: Run, tmp_path: Path, args: tuple[str, ...],
                                                     message: str) -> None:
        """Values that used to give nothing with exit 0 (or exit 1) are refused with a message and the usage code."""
        path = _log(tmp_path, "2026-11-29 10:00:01,123 INFO gyrinx.tracker " + EVENT)
        result = cli(*args, str(path))
        assert result.returncode == USAGE, (result.stdout, result.stderr)
        assert message in result.stderr
        assert result.stdout == ""
        _no_traceback(result.stderr)

    def test_a_missing_file_is_a_usage_error(self, cli: Run, tmp_path: Path) -> None:
        """A file that does not exist: its name in the message, exit 2."""
        result = cli("summary", str(tmp_path / "absent.log"))
        assert result.returncode == USAGE and "absent.log" in result.stderr

    def test_a_known_label_and_valid_values_still_work(self, cli: Run, tmp_path: Path) -> None:
        """The checks refuse only what is wrong: the same commands with good values exit 0 with the event."""
        path = _log(tmp_path, "2026-11-29 10:00:01,123 INFO gyrinx.tracker " + EVENT)
        for args in (("query", 'timestamp>="2026-11-29T00:00:00Z" severity>=INFO'), ("tail", "-n", "0"),
                     ("summary", "--by", "endpoint", "--since", "2026-11-29"), ("query", "severity>=400")):
            result = cli(*args, str(path))
            assert result.returncode == 0, (args, result.stderr)
        assert "api_call" in cli("summary", "--by", "endpoint", str(path)).stdout
        assert cli("tail", "-n", "0", str(path)).stdout == ""

    def test_the_exit_codes_are_documented_in_help(self, cli: Run) -> None:
        """`--help` states the codes the tests above pin."""
        text = " ".join(cli("--help").stdout.split())
        assert ("exit codes: 0 success, 1 a check found a problem (doctor, events check) or an alert would "
                "have fired (alerts check), 2 a usage error") in text


class TestHostileLines:
    @pytest.mark.parametrize("command", [("summary",), ("tail",), ("query", "jsonPayload.event:api"),
                                         ("query", "api_call"), ("summary", "--json")])
    def test_deeply_nested_json_is_skipped_and_counted(self, cli: Run, tmp_path: Path,
                                                       command: tuple[str, ...]) -> None:
        """Lines nested 100,000, 830 (cut short) and 500 deep among good ones: no RecursionError; all 3 counted,
        both good events read."""
        deep = '{"event": "x", "labels": ' + '{"a": ' * 100_000 + "1" + "}" * 100_001
        path = _log(tmp_path, "2026-11-29 10:00:01,000 INFO gyrinx.tracker " + EVENT, deep, deep[:5000],
                    '{"event": "api_call", "n": 1, "labels": ' + "[" * 500 + "]" * 500 + "}",
                    "2026-11-29 10:00:02,000 INFO gyrinx.tracker " + EVENT)
        result = cli(*command, str(path))
        assert result.returncode == 0, result.stderr
        _no_traceback(result.stderr)
        assert "skipped 3 lines" in result.stderr and "nested deeper than" in result.stderr
        if command == ("summary", "--json"):
            (row,) = json.loads(result.stdout)["events"]
            assert row["count"] == 2
        elif command == ("summary",):
            assert re.search(r"^api_call +2 +2 ", result.stdout, re.MULTILINE), result.stdout
        else:
            assert result.stdout.count("api_call") == 2

    def test_a_deep_element_of_a_gcloud_array_is_skipped_and_the_rest_read(self, cli: Run, tmp_path: Path) -> None:
        """In `gcloud logging read` output too: the deep element is counted, the ones after it still read."""
        good = {"jsonPayload": json.loads(EVENT), "timestamp": "2026-11-29T10:00:00Z"}
        deep = '{"jsonPayload": ' + '{"a": ' * 50_000 + '"}{[" ' + "}" * 50_001
        path = tmp_path / "gcloud.json"
        path.write_text("[" + json.dumps(good) + ",\n" + deep + ",\n" + json.dumps(good) + "]\n", encoding="utf-8")
        result = cli("summary", "--json", str(path))
        assert result.returncode == 0, result.stderr
        (row,) = json.loads(result.stdout)["events"]
        assert row["count"] == 2
        assert "skipped 1 entry" in result.stderr

    def test_undecodable_bytes_on_stdin_are_replaced_not_fatal(self, tmp_path: Path) -> None:
        """Bytes that are not UTF-8 on standard input: the line is still read, no UnicodeDecodeError."""
        import subprocess
        import sys

        data = b"\xff\xfe 2026-11-29 10:00:01,000 INFO gyrinx.tracker " + EVENT.encode() + b"\n"
        result = subprocess.run([sys.executable, "-m", "gyrinx_tracker", "summary", "--json", "-"], input=data,
                                capture_output=True, timeout=60, env=clean_env())
        assert result.returncode == 0, result.stderr.decode()
        assert json.loads(result.stdout)["events"][0]["count"] == 1


class TestZones:
    LINE = "2026-11-29 10:00:01,123 INFO gyrinx.tracker " + EVENT

    def _first_time(self, cli: Run, path: Path, tz: str) -> tuple[str, str]:
        result = cli("query", "jsonPayload.event=api_call", str(path), env=clean_env(TZ=tz))
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout.splitlines()[0])["timestamp"], result.stderr

    def test_a_time_without_a_zone_is_read_as_utc_whatever_the_readers_zone_with_a_note(
            self, cli: Run, tmp_path: Path) -> None:
        """The reader's TZ does not move the events: both readers see 10:00:01 UTC, and are told why."""
        path = _log(tmp_path, self.LINE, self.LINE)
        for tz in ("UTC", "America/New_York", "Asia/Kolkata"):
            stamp, stderr = self._first_time(cli, path, tz)
            assert stamp == "2026-11-29T10:00:01.123Z"
            assert stderr.count("carry no time zone") == 1 and "read as UTC" in stderr

    @pytest.mark.parametrize(("written", "utc"), [
        ("2026-11-29 10:00:01+0100", "2026-11-29T09:00:01.000Z"),
        ("2026-11-29 10:00:01,250-05:00", "2026-11-29T15:00:01.250Z"),
        ("2026-11-29 10:00:01,123 UTC", "2026-11-29T10:00:01.123Z"),
        ("2026-11-29T10:00:01.123Z", "2026-11-29T10:00:01.123Z"),
    ])
    def test_the_writers_zone_is_used_when_the_log_states_it(self, cli: Run, tmp_path: Path, written: str,
                                                              utc: str) -> None:
        """A zone after the time (a datefmt with %z, or Z/UTC) is the writer's: no note, whatever the reader's TZ."""
        path = _log(tmp_path, f"{written} INFO gyrinx.tracker {EVENT}")
        stamp, stderr = self._first_time(cli, path, "Asia/Kolkata")
        assert stamp == utc
        assert "carry no time zone" not in stderr

    def test_a_zoneless_time_in_a_filter_or_window_is_read_as_utc_with_a_note(self, cli: Run, tmp_path: Path) -> None:
        """`--since 2026-11-29T10:00:01` and `timestamp>=...` without a zone say they are read as UTC."""
        path = _log(tmp_path, "2026-11-29T10:00:01.123Z INFO gyrinx.tracker " + EVENT)
        result = cli("summary", "--json", "--since", "2026-11-29T10:00:01", str(path), env=clean_env(TZ="Asia/Kolkata"))
        assert result.returncode == 0 and json.loads(result.stdout)["events"][0]["count"] == 1
        assert "--since '2026-11-29T10:00:01' has no time zone: read as UTC" in result.stderr
        late = cli("query", 'timestamp>="2026-11-29T10:00:02"', str(path))
        assert late.returncode == 0 and late.stdout == ""
        assert "has no time zone: read as UTC" in late.stderr
