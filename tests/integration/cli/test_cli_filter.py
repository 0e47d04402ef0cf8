"""NOT (f) as the exact complement of f, over the entries of every real input kind (the parser's
accepted and rejected filters are tests/unit/cli/test_cli_filter.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gyrinx_tracker._cli._filter import parse
from gyrinx_tracker._cli._inputs import entries
from gyrinx_tracker._cli._match import matches

# Real entries of every kind, plus some with missing and odd fields, as the universe to partition.
FIELDS = ["jsonPayload.event", "jsonPayload.n", "jsonPayload.value", "jsonPayload.labels.status",
          "jsonPayload.labels.endpoint", "severity", "timestamp", "trace", "resource.type", "jsonPayload.labels"]
VALUES = ["api_call", "user_login", "1", "3", "20", "200", "500", "/api/v1/fighters", "INFO", "WARNING",
          "2026-11-29T10:00:00Z", "cloud_run_revision", "*", "api", ""]
OPS = ["=", "!=", "<", "<=", ">", ">=", ":", "=~"]
# Fields whose comparisons refuse other values at parse time (tests/integration/cli/test_cli_bad_input.py).
CHECKED = {"severity": ["INFO", "WARNING", "debug", "200", "500"],
           "timestamp": ["2026-11-29T10:00:00Z", "2026-11-29", "2026-11-29T11:00:00+01:00"]}


@st.composite
def filters(draw: st.DrawFn, depth: int = 0) -> str:
    """Random filters from the supported grammar, over the fields our entries have."""
    if depth < 3 and draw(st.booleans()):
        left, right = draw(filters(depth + 1)), draw(filters(depth + 1))
        joiner = draw(st.sampled_from([" AND ", " OR ", " "]))
        text = f"({left}){joiner}({right})" if draw(st.booleans()) else f"{left}{joiner}{right}"
        return draw(st.sampled_from([text, f"NOT ({text})", f"-({text})"]))
    field, op, value = draw(st.sampled_from(FIELDS)), draw(st.sampled_from(OPS)), draw(st.sampled_from(VALUES))
    if op == "=~" and value == "*":  # not a regular expression; "^api.*" is
        value = "^api.*"
    if op in ("=", "!=", "<", "<=", ">", ">=") and field in CHECKED:  # a value the field can hold parses
        value = draw(st.sampled_from(CHECKED[field]))
    return f"{field}{op}{json.dumps(value)}"


ODD: list[dict[str, Any]] = [
    {}, {"jsonPayload": {}}, {"jsonPayload": {"event": None, "labels": [1, "api"]}},
    {"jsonPayload": {"event": "API_CALL", "n": True, "value": "20"}, "severity": "warning"},
    {"jsonPayload": {"labels": {"status": "500"}}, "timestamp": "not a time"},
]


class Universe(list[dict[str, Any]]):
    """The entries to partition; a short repr, since hypothesis prints its arguments."""

    def __repr__(self) -> str:
        return f"<{len(self)} entries>"


@pytest.fixture(scope="module")
def universe(inputs: dict[str, Path]) -> Universe:
    found = Universe(ODD)
    for path in inputs.values():
        with path.open(encoding="utf-8") as stream:
            found.extend(entries(stream))
    return found


class TestNegation:
    @pytest.mark.slow
    @settings(max_examples=300, deadline=None)
    @given(text=filters())
    def test_a_filter_and_its_negation_partition_the_input(self, universe: Universe, text: str) -> None:
        """Every entry matches exactly one of f and NOT (f): nothing in both, nothing in neither."""
        node, negated = parse(text), parse(f"NOT ({text})")
        for entry in universe:
            assert matches(node, entry) != matches(negated, entry), (text, entry)
