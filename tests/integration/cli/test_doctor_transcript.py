"""The transcripts in docs/doctor.md are the real output of `doctor`: this test runs each one and
compares it with the page (only versions and timings are masked). ``GYRINX_REGENERATE_DOCS=1``
writes the real output into the page instead, which is how the page's blocks were made."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.cli.conftest import ROOT, clean_env

PAGE = ROOT / "docs" / "doctor.md"
# name → (arguments, environment): the set-ups the page shows.
TRANSCRIPTS: dict[str, tuple[list[str], dict[str, str]]] = {
    "laptop": (["doctor"], {}),
    "missing-catalogue": (["doctor", "--no-send"], {"GYRINX_TRACKER_CATALOGUE": "events.json",
                                                     "OTEL_METRIC_EXPORT_INTERVAL": "abc"}),
}
_VOLATILE = [
    (re.compile(r"gyrinx_tracker \S+, Python \S+"), "gyrinx_tracker <version>, Python <version>"),
    (re.compile(r"in \d+\.\d\d s"), "in <seconds> s"),
    (re.compile(r"(?<=[a-z] )\d+(\.\d+)+([a-z]+\d*)?(?=,|$)", re.MULTILINE), "<version>"),
]


def _block(page: str, name: str) -> re.Match[str]:
    match = re.search(rf"<!-- doctor:{name} -->\n```text\n(.*?)```\n<!-- /doctor:{name} -->", page, re.DOTALL)
    assert match is not None, f"docs/doctor.md has no block {name}"
    return match


def _masked(text: str) -> str:
    for pattern, replacement in _VOLATILE:
        text = pattern.sub(replacement, text)
    return text


@pytest.mark.parametrize("name", TRANSCRIPTS)
def test_the_pages_transcript_is_the_real_output(name: str, tmp_path: Path) -> None:
    """Each block of docs/doctor.md equals what doctor prints in that set-up (versions and timings masked);
    run in an empty folder, so a relative catalogue path is missing."""
    argv, env = TRANSCRIPTS[name]
    result = subprocess.run([sys.executable, "-m", "gyrinx_tracker", *argv], capture_output=True, text=True,
                            timeout=120, env={**clean_env(**env), "NO_COLOR": "1"}, cwd=tmp_path)
    page = PAGE.read_text(encoding="utf-8")
    if os.environ.get("GYRINX_REGENERATE_DOCS") == "1":
        block = _block(page, name)
        PAGE.write_text(page[:block.start(1)] + result.stdout + page[block.end(1):], encoding="utf-8")
        return
    assert _masked(_block(page, name).group(1)) == _masked(result.stdout)
