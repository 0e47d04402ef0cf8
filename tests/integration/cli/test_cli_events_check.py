"""``gyrinx-tracker events check``, end to end: real sources written to disk, the CLI as a subprocess.

The catalogue here is written for the tests (``CATALOGUE``); the findings are read back from the
JSON format by line, or from the text format exactly as a user sees it.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest

from gyrinx_tracker._catalogue.catalogue import CatalogueError, load
from tests.integration.cli.conftest import Run, clean_env, run_cli

CATALOGUE = {
    "events": {
        "api_call": {
            "description": "One API request.", "owner": "platform",
            "labels": {"type": "object", "properties": {
                "endpoint": {"type": "string", "pattern": "^/api/"},
                "method": {"type": "string", "enum": ["GET", "POST"]},
                "status": {"type": "integer", "minimum": 100, "maximum": 599}},
                "required": ["endpoint", "method", "status"], "additionalProperties": False}},
        "operation_duration": {"value": {"unit": "ms", "required": True},
                               "labels": {"properties": {"operation": {"type": "string"}}, "required": ["operation"]}},
        "page_view": {"labels": {"properties": {"page": {"type": "string"}}}},
        "user_event": {"status": "deprecated", "description": "Superseded by event_{verb}_{noun}."},
        "event_{verb}_{noun}": {"labels": {"properties": {"user_id": {"type": "string", "pattern": "^[0-9]+$"}}}},
        "nightly_report": {"description": "Nothing tracks this one."},
    }
}

HEADER = """\
import gyrinx_tracker
import gyrinx_tracker as gt
from gyrinx_tracker import track
from gyrinx_tracker import track as t


def shapes(labels, path, verb, noun, what, name, code, log):
"""

# (call, the finding codes expected on its line): every shape of call the check must read.
SHAPES: list[tuple[str, set[str]]] = [
    ('track("api_call", endpoint="/api/x", method="GET", status=200)', set()),
    ('t("api_call", endpoint="/api/x", method="GET", status=200)', set()),
    ('gt.track("api_call", endpoint="/api/x", method="GET", status=200)', set()),
    ('track(event="api_call", endpoint="/api/x", method="GET", status=200)', {"bad-call", "dynamic-name"}),
    ('track("api_call", endpoint="/api/x", method="GET", status=200, event="push")', {"unknown-label"}),
    ('gyrinx_tracker.track("api_cal")', {"unknown-event"}),
    ('track("api_call", endpoint="/api/x", method="GET")', {"missing-label"}),
    ('track("api_call", endpoint="/api/x", method="GET", status=200, region="eu")', {"unknown-label"}),
    ('track("api_call", **labels)', set()),
    ('track("api_call", endpoint="/api/x", **labels)', set()),
    ('track("api_call", **{"endpoint": "/api/x", "method": "GET"})', {"missing-label"}),
    ('track("api_call", endpoint="/x", method="GET", status=200)', {"bad-label-value"}),
    ('track("api_call", endpoint="/api/x", method="FETCH", status=200)', {"bad-label-value"}),
    ('track("api_call", endpoint="/api/x", method="GET", status="200")', {"bad-label-value"}),
    ('track("api_call", endpoint="/api/x", method="GET", status=-1)', {"bad-label-value"}),
    ('track("api_call", endpoint=path, method=verb, status=code)', set()),
    ('track("api_call", 1, 2, 3)', {"bad-call", "unexpected-value", "missing-label"}),
    ('track("operation_duration", 1, 12.5, operation="x")', set()),
    ('track("operation_duration", value=code, operation="x")', set()),
    ('track("operation_duration", operation="x")', {"missing-value"}),
    ('track("operation_duration", value=None, operation="x")', {"missing-value"}),
    ('track("page_view", value=3, page="home", referrer="x")', {"unexpected-value"}),
    ('track("page_view", page=3)', {"bad-label-value"}),
    ('track("user_event")', {"deprecated-event"}),
    ('track(f"event_{verb}_{noun}", user_id="42")', set()),
    ('track(f"event_create_{noun}", user_id="me")', {"bad-label-value"}),
    ('track(f"event_{verb}_{noun}_{what}", user_id="7")', set()),
    ('track("event_" + verb + "_list")', set()),
    ('track("event_create_list", user_id="x1")', {"bad-label-value"}),
    ('track(f"evnt_{verb}_{noun}")', {"unknown-event"}),
    ('track(f"{verb}_happened")', {"dynamic-name"}),  # verb="event_a_b" would make a pattern name
    ('track(f"api_{what}")', {"dynamic-name"}),  # what="call" would be api_call
    ('track(f"zzz_{what}")', {"unknown-event"}),
    ('track(f"event_{what}")', {"dynamic-name"}),
    ('track(f"{what}")', {"dynamic-name"}),
    ("track(name)", {"dynamic-name"}),
    ('log.track("not_ours")', set()),
    ('print("track(\'api_cal\')")', set()),
]


def write_catalogue(folder: Path, document: dict[str, Any] | None = None) -> Path:
    path = folder / "events.json"
    path.write_text(json.dumps(document or CATALOGUE, indent=2) + "\n", encoding="utf-8")
    return path


def check(cli: Run, catalogue: Path, *paths: Path | str, fmt: str = "json") -> tuple[int, Any, str]:
    result = cli("events", "check", "--catalogue", str(catalogue), "--format", fmt, *map(str, paths))
    return result.returncode, json.loads(result.stdout) if fmt == "json" and result.stdout else result.stdout, result.stderr


@pytest.fixture(scope="module")
def shapes_run(tmp_path_factory: pytest.TempPathFactory) -> dict[int, set[str]]:
    """One run over a module holding every shape, one per line: line -> the finding codes there."""
    folder = tmp_path_factory.mktemp("shapes")
    source = HEADER + "".join(f"    {call}\n" for call, _ in SHAPES)
    (folder / "shapes.py").write_text(source, encoding="utf-8")
    result = run_cli("events", "check", "--catalogue", str(write_catalogue(folder)), "--format", "json", str(folder / "shapes.py"))
    assert result.returncode == 1, result.stderr
    by_line: dict[int, set[str]] = {}
    for finding in json.loads(result.stdout)["findings"]:
        if finding["path"].endswith("shapes.py"):
            by_line.setdefault(finding["line"], set()).add(finding["code"])
    return by_line


class TestCallShapes:
    @pytest.mark.parametrize(("number", "call", "expected"), [(i, call, codes) for i, (call, codes) in enumerate(SHAPES)],
                             ids=[call for call, _ in SHAPES])
    def test_each_call_shape_gives_exactly_its_findings(self, shapes_run: dict[int, set[str]], number: int, call: str,
                                                        expected: set[str]) -> None:
        """A call shape (alias, spread, f-string, literal value...) gives exactly the findings the catalogue implies, on its own line."""
        line = HEADER.count("\n") + number + 1
        assert shapes_run.get(line, set()) == expected


APP = {
    "myapp/__init__.py": "",
    "myapp/views.py": """\
        from gyrinx_tracker import track


        def fighters(request):
            track("api_call", endpoint="/api/v1/fighters", method="GET", status=200)
            track("page_view", page="fighters")
        """,
    "myapp/models.py": """\
        import gyrinx_tracker as tracker


        def saved(verb, model, user, duration):
            tracker.track(f"event_{verb}_{model}", user_id=str(user.pk))
            tracker.track("operation_duration", value=duration, operation="save")
            tracker.track("user_event")
        """,
    "myapp/.venv/lib/vendored.py": 'from gyrinx_tracker import track\ntrack("vendored_event")\n',
    "myapp/__pycache__/stale.py": 'from gyrinx_tracker import track\ntrack("stale_event")\n',
}


@pytest.fixture
def app(tmp_path: Path) -> Path:
    """A small app package that tracks every catalogued event but nightly_report."""
    for name, text in APP.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    return tmp_path


class TestApp:
    def test_an_app_that_tracks_everything_correctly_exits_0(self, cli: Run, app: Path) -> None:
        """Every catalogued event tracked correctly: exit 0 with only the deprecation warning; dot- and cache directories skipped."""
        (app / "myapp" / "reports.py").write_text("from gyrinx_tracker import track\n\ntrack('nightly_report')\n")
        code, text, _ = check(cli, write_catalogue(app), app / "myapp", fmt="text")
        assert code == 0
        lines = text.splitlines()
        assert lines[:-1] == [f"{app / 'myapp' / 'models.py'}:7:5: warning [deprecated-event] event 'user_event' is deprecated "
                              "in the catalogue: Superseded by event_{verb}_{noun}."]
        assert lines[-1] == "0 errors, 1 warning, 0 notes; 6 track() calls in 4 files; 6 of 6 catalogue events tracked"

    def test_a_catalogued_event_nothing_tracks_is_an_error_at_its_catalogue_line(self, cli: Run, app: Path) -> None:
        """nightly_report, tracked nowhere, is reported at the line and column of its key in the catalogue, and fails the check."""
        catalogue = write_catalogue(app)
        code, report, _ = check(cli, catalogue, app / "myapp")
        assert code == 1
        line = next(i for i, text in enumerate(catalogue.read_text().splitlines(), 1) if '"nightly_report":' in text)
        column = catalogue.read_text().splitlines()[line - 1].index('"nightly_report"') + 1
        assert [(f["path"], f["line"], f["column"], f["severity"], f["code"], f["event"]) for f in report["findings"]
                if f["severity"] == "error"] == [(str(catalogue), line, column, "error", "untracked-event", "nightly_report")]

    def test_a_dynamic_name_makes_an_untracked_event_a_note(self, cli: Run, app: Path) -> None:
        """An event no literal names is only a note when a call with a variable name might track it: never guessed either way."""
        (app / "myapp" / "jobs.py").write_text("from gyrinx_tracker import track\n\ndef run(name):\n    track(name)\n")
        code, report, _ = check(cli, write_catalogue(app), app / "myapp")
        assert code == 0
        codes = {(f["code"], f["event"]) for f in report["findings"]}
        assert ("maybe-untracked", "nightly_report") in codes and ("dynamic-name", "name") in codes

    def test_problems_are_listed_sorted_with_file_line_and_column(self, cli: Run, app: Path) -> None:
        """Each problem is one `file:line:col: severity [code] message` line, sorted by file and line, with a summary, and exit 1."""
        (app / "myapp" / "bad.py").write_text(textwrap.dedent("""\
            from gyrinx_tracker import track as t

            def handler(request):
                if request:
                    t("api_call", endpoint="/api/x", method="GET", status=200, region="eu")
                t("unknown_thing")
            """))
        catalogue = write_catalogue(app)
        code, text, _ = check(cli, catalogue, app / "myapp", fmt="text")
        assert code == 1
        bad = app / "myapp" / "bad.py"
        lines = text.splitlines()
        assert lines[:2] == [
            f"{catalogue}:{_line_of(catalogue, 'nightly_report')}:5: error [untracked-event] event 'nightly_report' is in the "
            "catalogue but nothing tracks it",
            f"{bad}:5:9: error [unknown-label] label 'region' is not in the catalogue entry 'api_call' (additionalProperties is false)",
        ]
        assert lines[2] == f"{bad}:6:5: error [unknown-event] event 'unknown_thing' is not in the catalogue"
        assert lines[-1] == "3 errors, 1 warning, 0 notes; 7 track() calls in 4 files; 5 of 6 catalogue events tracked"

    def test_json_format_holds_every_finding_and_the_counts(self, cli: Run, app: Path) -> None:
        """--format json gives one document whose counts agree with its findings; a file named twice is read once."""
        code, report, _ = check(cli, write_catalogue(app), app / "myapp", app / "myapp" / "views.py")
        assert code == 1
        findings = report["findings"]
        assert all(set(f) == {"path", "line", "column", "severity", "code", "message", "event"} for f in findings)
        for severity in ("error", "warning", "note"):
            assert report["summary"][severity + "s"] == sum(f["severity"] == severity for f in findings)
        assert report["summary"]["files"] == 3 and report["summary"]["calls"] == 5 and report["summary"]["tracked"] == 5

    def test_a_file_that_does_not_parse_is_an_error(self, cli: Run, app: Path) -> None:
        """A syntax error is reported at its position, since the calls in that file cannot be checked."""
        (app / "myapp" / "broken.py").write_text("def f(:\n    pass\n")
        code, report, _ = check(cli, write_catalogue(app), app / "myapp")
        assert code == 1
        broken = [f for f in report["findings"] if f["path"].endswith("broken.py")]
        assert [(f["line"], f["code"]) for f in broken] == [(1, "unreadable")] and "cannot parse" in broken[0]["message"]


def _line_of(catalogue: Path, name: str) -> int:
    return next(i for i, text in enumerate(catalogue.read_text().splitlines(), 1) if f'"{name}":' in text)


class TestUsage:
    def test_the_catalogue_comes_from_the_environment_variable(self, cli: Run, app: Path) -> None:
        """Without --catalogue, GYRINX_TRACKER_CATALOGUE names the catalogue."""
        result = cli("events", "check", str(app / "myapp"), env=clean_env(GYRINX_TRACKER_CATALOGUE=str(write_catalogue(app))))
        assert result.returncode == 1 and "untracked-event" in result.stdout

    def test_no_catalogue_is_a_usage_error(self, cli: Run, app: Path) -> None:
        """With neither --catalogue nor the variable, the command says how to name one and exits 2."""
        result = cli("events", "check", str(app))
        assert result.returncode == 2 and "--catalogue PATH or set GYRINX_TRACKER_CATALOGUE" in result.stderr

    @pytest.mark.parametrize("text", ["not json", '{"events": {"a": {"status": "retired"}}}',
                                      '{"events": {"a": {"labels": {"properties": {"k": {"format": "email"}}}}}}'])
    def test_a_bad_catalogue_exits_2_with_the_catalogues_own_message(self, cli: Run, tmp_path: Path, text: str) -> None:
        """A catalogue the tracker would refuse is refused with load()'s own message, exit 2."""
        path = tmp_path / "events.json"
        path.write_text(text)
        with pytest.raises(CatalogueError) as error:
            load(str(path))
        for command in (["check", str(tmp_path)], ["docs"]):
            result = cli("events", *command[:1], "--catalogue", str(path), *command[1:])
            assert result.returncode == 2
            assert result.stderr == f"gyrinx-tracker events: the catalogue {path} cannot be used: {error.value}\n"

    def test_a_path_that_does_not_exist_is_a_usage_error(self, cli: Run, app: Path) -> None:
        """A misspelt source path exits 2 instead of passing an empty check."""
        result = cli("events", "check", "--catalogue", str(write_catalogue(app)), str(app / "nope"))
        assert result.returncode == 2 and "nope" in result.stderr

    @pytest.mark.parametrize("command", ["check", "docs"])
    def test_help(self, cli: Run, command: str) -> None:
        """--help documents each command's options."""
        result = cli("events", command, "--help")
        assert result.returncode == 0 and "--catalogue" in result.stdout
        assert ("--format" in result.stdout and "exit codes" in result.stdout) if command == "check" else "-o" in result.stdout
