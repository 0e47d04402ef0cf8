"""The README's command-line examples cannot rot: its queries run, its error example is the real one."""

from __future__ import annotations

import re
from pathlib import Path

from conftest import ROOT, Run, json_lines

README = (ROOT / "README.md").read_text(encoding="utf-8")


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
