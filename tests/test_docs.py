"""The README cannot rot: its variable table is the code's, and its Python snippets run."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from gyrinx_tracker._config import CODE_ONLY, VARIABLES, TrackerConfig

README = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")


def _variables_table() -> str:
    defaults = {f.name: f.default for f in dataclasses.fields(TrackerConfig)}
    rows = ["| Variable | Default | Meaning |", "|---|---|---|"]
    for variable in VARIABLES:
        default = defaults[variable.field]
        if default is None or default == () or isinstance(default, dataclasses._MISSING_TYPE):
            shown = "—"
        elif isinstance(default, bool):
            shown = f"`{str(default).lower()}`"
        else:
            shown = f"`{default}`"
        rows.append(f"| `{variable.name}` | {shown} | {variable.meaning} |")
    return "\n".join(rows)


def _python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README, flags=re.DOTALL)


class TestReadme:
    def test_the_variable_table_is_exactly_the_codes(self) -> None:
        """Every variable the code reads is documented with its real default, and nothing else is."""
        documented = README.split("<!-- variables:start -->\n")[1].split("\n<!-- variables:end -->")[0]
        assert documented == _variables_table()

    def test_every_config_field_read_from_the_environment_is_in_the_table(self) -> None:
        """A new TrackerConfig field must come with a documented variable (code-only options excepted)."""
        code_only = set(CODE_ONLY)
        fields = {f.name for f in dataclasses.fields(TrackerConfig)} - code_only
        assert fields == {variable.field for variable in VARIABLES}

    @pytest.mark.parametrize("block", _python_blocks(), ids=lambda block: block.splitlines()[0][:40])
    def test_python_snippets_run(self, block: str) -> None:
        """Each ```python block executes; test functions it defines are called and pass."""
        namespace: dict[str, object] = {"__name__": "readme"}
        exec(compile(block, "README.md", "exec"), namespace)
        for name, value in namespace.items():
            if name.startswith("test_") and callable(value):
                value()
