"""``gyrinx-tracker events docs`` on examples/events.json: every event's section and label rows, read against the JSON itself."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.integration.cli.conftest import ROOT, Run, run_cli

EXAMPLE = ROOT / "examples" / "events.json"
EVENTS: dict[str, Any] = json.loads(EXAMPLE.read_text(encoding="utf-8"))["events"]


@pytest.fixture(scope="module")
def markdown() -> str:
    result = run_cli("events", "docs", "--catalogue", str(EXAMPLE))
    assert result.returncode == 0, result.stderr
    return result.stdout


def section(markdown: str, name: str) -> str:
    """The text under ``## `name``` up to the next event's heading."""
    return markdown.split(f"## `{name}`\n", 1)[1].split("\n## ", 1)[0]


def label_rows(text: str) -> dict[str, list[str]]:
    """label -> the cells of its table row."""
    rows = {}
    for line in text.splitlines():
        cells = [cell.strip() for cell in re.split(r"(?<!\\)\|", line)[1:-1]]
        if cells and re.fullmatch(r"`[^`]+`", cells[0]) and len(cells) == 5:
            rows[cells[0].strip("`")] = cells
    return rows


class TestEventsDocs:
    def test_one_section_per_event_in_file_order(self, markdown: str) -> None:
        """Each catalogue entry has its own heading, in the file's order, and a contents line."""
        headings = re.findall(r"^## `(.+)`$", markdown, re.MULTILINE)
        assert headings == list(EVENTS)
        assert all(f"- [`{name}`](#" in markdown for name in EVENTS)

    @pytest.mark.parametrize("name", list(EVENTS))
    def test_each_section_has_the_entrys_facts(self, markdown: str, name: str) -> None:
        """Description, owner, status, sample rate and the value's unit appear in the event's own section."""
        entry, text = EVENTS[name], section(markdown, name)
        assert entry["description"] in text
        assert f"| owner | {entry['owner']} |" in text
        assert f"| status | {entry['status']} |" in text
        assert f"| sample rate | {entry['sample_rate']:g} |" in text if "sample_rate" in entry else "| sample rate | not set" in text
        value = entry.get("value")
        if isinstance(value, dict):
            needed = "required" if value.get("required") else "optional"
            assert f"| value | {needed}, unit `{value['unit']}`: {value['description']} |" in text
        else:
            assert "| value | none: the event takes no `value` |" in text
        assert ("**Deprecated.**" in text) == (entry["status"] == "deprecated")

    @pytest.mark.parametrize("name", list(EVENTS))
    def test_each_label_has_a_row_with_its_rules(self, markdown: str, name: str) -> None:
        """Every label has one row: its type, whether required, its allowed values or pattern, its description."""
        schema = EVENTS[name]["labels"]
        rows = label_rows(section(markdown, name))
        assert list(rows) == list(schema["properties"])
        for key, rules in schema["properties"].items():
            _, kind, required, allowed, description = rows[key]
            assert kind == rules["type"]
            assert required == ("yes" if key in schema.get("required", []) else "no")
            for item in rules.get("enum", []):
                assert f"`{json.dumps(item)}`" in allowed
            if "pattern" in rules:
                assert f"matches `{rules['pattern']}`" in allowed.replace("\\|", "|")
            for bound in ("minimum", "maximum", "maxLength"):
                if bound in rules:
                    assert str(rules[bound]) in allowed
            assert description == rules.get("description", "")
        others = "**not allowed**" if schema.get("additionalProperties") is False else "Other labels: allowed."
        assert others in section(markdown, name)

    def test_patterns_are_explained(self, markdown: str) -> None:
        """A pattern entry says how its names are built, placeholder by placeholder; exact entries do not."""
        text = section(markdown, "event_{verb}_{noun}")
        assert "**Pattern**" in text and "`event_`, then a *verb*, then `_`, then a *noun*" in text
        assert markdown.count("**Pattern**") == sum("{" in name for name in EVENTS)

    def test_output_is_deterministic_and_o_writes_the_same(self, cli: Run, markdown: str, tmp_path: Path) -> None:
        """Two runs give the same bytes, and -o FILE writes exactly what standard output shows."""
        out = tmp_path / "EVENTS.md"
        result = cli("events", "docs", "--catalogue", str(EXAMPLE), "-o", str(out))
        assert result.returncode == 0 and result.stdout == ""
        assert out.read_text(encoding="utf-8") == markdown
