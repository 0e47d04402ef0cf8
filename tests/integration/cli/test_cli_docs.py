"""The documented command-line examples cannot rot: the queries run, the error example is the real one.

They live in README.md (the original tracker's queries) and docs/cli.md (everything else); both are
read, so an example is checked wherever it is moved.
"""

from __future__ import annotations

import re
from pathlib import Path

from tests.integration.cli.conftest import ROOT, Run, json_lines

DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
README = "\n".join(path.read_text(encoding="utf-8") for path in DOCS)  # the README and docs/, searched as one


class TestReadmeCommandLine:
    def test_the_original_queries_run_unchanged_on_gcloud_output(self, cli: Run, inputs: dict[str, Path]) -> None:
        """The three lines under "The original tracker's Cloud Logging queries work unchanged" select the fighters api_calls."""
        block = README.split("The original tracker's Cloud Logging queries work unchanged:\n\n```\n")[1].split("```")[0]
        result = cli("query", block, str(inputs["gcloud"]))
        assert result.returncode == 0, result.stderr
        entries = json_lines(result.stdout)
        assert entries and all(e["jsonPayload"]["labels"]["endpoint"] == "/api/v1/fighters" for e in entries)

    def test_the_syntax_error_example_is_what_the_command_prints(self, cli: Run, inputs: dict[str, Path]) -> None:
        """The README's error message, filter echo and caret are exactly the command's stderr."""
        example = re.search(r"\$ gyrinx-tracker query '([^']*\(jsonPayload[^']*)' app\.log\n(.*?)```", README, re.DOTALL)
        assert example is not None
        result = cli("query", example.group(1), str(inputs["local"]))
        assert result.returncode == 2 and result.stderr == example.group(2)


class TestReadmeEvents:
    def test_the_events_check_example_is_what_the_command_prints(self, cli: Run) -> None:
        """The README's `events check` run on examples/tracked_app is exactly the command's output and exit code."""
        example = re.search(r"\$ gyrinx-tracker events check ([^\n]*)\n(.*?)\$ echo \$\?\n(\d+)\n```", README, re.DOTALL)
        assert example is not None
        result = cli("events", "check", *example.group(1).split())
        assert result.stdout == example.group(2) and result.returncode == int(example.group(3)), result.stderr

    def test_the_events_docs_excerpt_is_a_section_of_the_real_output(self, cli: Run) -> None:
        """The README's Markdown excerpt is the api_call section `events docs` writes for examples/events.json."""
        excerpt = README.split("```markdown\n", 1)[1].split("```", 1)[0]
        result = cli("events", "docs", "--catalogue", "examples/events.json")
        assert result.returncode == 0 and excerpt.startswith("## `api_call`\n") and excerpt in result.stdout
