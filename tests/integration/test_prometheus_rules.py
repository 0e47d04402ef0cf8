"""The generated Prometheus rules parse with Prometheus's own rule-file parser (``model/rulefmt``,
expressions included: the first thing ``promtool check rules`` does), built from Go modules by
``tools/rulecheck``. Skipped only where no Go toolchain is installed."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from gyrinx_tracker._catalogue.catalogue import load
from gyrinx_tracker._monitoring.generate import artefacts

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def rulecheck(tmp_path_factory: pytest.TempPathFactory) -> Path:
    go = shutil.which("go")
    if go is None:
        pytest.skip("no Go toolchain to build Prometheus's rule parser")
    binary = tmp_path_factory.mktemp("rulecheck") / "rulecheck"
    subprocess.run([go, "build", "-o", str(binary), "."], cwd=ROOT / "tools" / "rulecheck", check=True,
                   capture_output=True, timeout=900)
    return binary


def check(rulecheck: Path, path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(rulecheck), str(path)], capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("route", ["telemetry", "collector"])
def test_generated_rules_parse(rulecheck: Path, tmp_path: Path, route: str) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(artefacts(load(str(ROOT / "examples" / "events.json")), route)["prometheus/rules.yaml"])
    result = check(rulecheck, path)
    assert result.returncode == 0, result.stderr


def test_the_checked_in_rules_parse(rulecheck: Path) -> None:
    result = check(rulecheck, ROOT / "collector-config" / "monitoring" / "prometheus" / "rules.yaml")
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("broken", [
    ('expr: "sum(increase(tracker_api_call_total[5m])) > 30000"', 'expr: "sum(increase(tracker_api_call_total[5m]) > "'),
    ("- alert: ", "- alrt: "),
])
def test_a_broken_rule_fails(rulecheck: Path, tmp_path: Path, broken: tuple[str, str]) -> None:
    """The parser is strict: a bad expression or a misspelt key fails (so the passing tests mean something)."""
    text = (ROOT / "collector-config" / "monitoring" / "prometheus" / "rules.yaml").read_text()
    assert broken[0] in text
    path = tmp_path / "rules.yaml"
    path.write_text(text.replace(broken[0], broken[1], 1))
    result = check(rulecheck, path)
    assert result.returncode == 1 and result.stderr
