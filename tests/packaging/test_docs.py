"""The README cannot rot: its variable table is the code's, and its Python and shell snippets run."""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from gyrinx_tracker._config import CODE_ONLY, VARIABLES, TrackerConfig

README = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")


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


# -- the README's shell snippets ---------------------------------------------------------------
#
# Every ```sh block runs in a test below, unless its first line says what it needs that this
# machine cannot have (one of NEEDS). Commands that .ci/run runs (`make test`) are not run again
# here: the suite would run inside itself. Blocks run in README order in one bash session per
# group, so a variable set in one block (COLLECTOR) is seen by the next; they run in a temporary
# copy of the checkout, with a fresh virtualenv first on PATH standing for "your app's virtualenv".

ROOT = Path(__file__).resolve().parents[2]
NEEDS = frozenset({"# needs Google Cloud", "# needs PyPI credentials"})
CI_RUN = {line.strip() for line in (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()}
COLLECTOR_BLOCK = "COLLECTOR"  # blocks that mention it build or run the collector


def _sh_blocks() -> list[str]:
    return re.findall(r"```sh\n(.*?)```", README, flags=re.DOTALL)


def _command(line: str) -> str:
    """A line without its trailing comment (README comments are separated by two spaces or more)."""
    return re.split(r"\s{2,}#", line)[0].strip()


def _runnable(block: str) -> str:
    """The block as it runs here: lines that .ci/run runs are left out."""
    return "\n".join(line for line in block.splitlines() if _command(line) not in CI_RUN)


def _script(collector: bool) -> str:
    blocks = [b for b in _sh_blocks() if b.splitlines()[0] not in NEEDS and (COLLECTOR_BLOCK in b) == collector]
    assert blocks, "the README has no such shell blocks any more: update this test"
    return "set -euo pipefail\n" + "\n".join(_runnable(block) for block in blocks)


def _checkout_copy(tmp_path: Path, with_venv: bool) -> Path:
    """The tracked and new files of the checkout, copied; with `.venv` linked to the suite's own.

    Without it, `make demo` creates and installs `.venv` in the copy, as on a fresh clone.
    """
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT, capture_output=True,
                            text=True, check=True).stdout.splitlines()
    copy = tmp_path / "checkout"
    for name in listed:
        source = ROOT / name
        if source.is_file():
            (copy / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, copy / name)
    if with_venv:
        (copy / ".venv").symlink_to(Path(sys.prefix))
    return copy


def _run_script(script: str, cwd: Path, path_first: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items()
             if k not in ("PYTHONPATH", "VIRTUAL_ENV") and not k.startswith(("GYRINX_", "OTEL_"))}
    clean["PATH"] = f"{path_first}{os.pathsep}{clean.get('PATH', '')}"
    return subprocess.run(["bash", "-c", script], cwd=cwd, env={**clean, **env}, capture_output=True, text=True,
                          timeout=900, check=False)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class TestReadmeShell:
    def test_every_block_runs_here_or_names_what_it_needs(self) -> None:
        """A shell block that cannot run here says so on its first line, with a reason from NEEDS."""
        for block in _sh_blocks():
            first = block.splitlines()[0]
            assert not first.startswith("# needs") or first in NEEDS, first

    def test_commands_left_to_ci_are_what_ci_runs(self) -> None:
        """Only commands that .ci/run runs verbatim are skipped, and the README does show them."""
        skipped = {_command(line) for block in _sh_blocks() for line in block.splitlines()} & CI_RUN
        assert skipped == {"make test"}

    @pytest.mark.slow
    def test_the_demo_and_install_commands_run(self, tmp_path: Path) -> None:
        """`make demo`, `make dist` and both installs (git, wheel) work as written, in a fresh virtualenv."""
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                              check=True).stdout.strip()
        url = "https://github.com/OWNER/gyrinx_tracker.git@main"
        assert url in README
        script = _script(collector=False).replace(url, f"file://localhost{ROOT}@{head}")  # pip wants a host
        app = tmp_path / "app-venv"
        subprocess.run([sys.executable, "-m", "venv", app], check=True)
        result = _run_script(script, _checkout_copy(tmp_path, with_venv=False), app / "bin")
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
        assert '{"event": "user_login"' in result.stdout  # make demo
        imported = subprocess.run([app / "bin" / "python", "-c",
                                   "import gyrinx_tracker._outputs.gcp.cloud_logging, opentelemetry.exporter.otlp.proto.grpc"],
                                  cwd=tmp_path, capture_output=True, text=True, check=False)
        assert imported.returncode == 0, imported.stderr  # both extras installed, from the git URL and the wheel

    @pytest.mark.slow
    @pytest.mark.collector
    def test_the_collector_commands_run(self, tmp_path: Path) -> None:
        """Build (from the cache), run the local collector and send it the demo's events, as written."""
        if shutil.which(os.environ.get("GO", "go")) is None and os.environ.get("GYRINX_TRACKER_REQUIRE_COLLECTOR") != "1":
            pytest.skip("no Go toolchain, so `make collector` cannot build or find the collector")
        grpc = f"127.0.0.1:{_free_port()}"
        ports = {"GYRINX_COLLECTOR_OTLP_GRPC": grpc, "GYRINX_COLLECTOR_OTLP_HTTP": f"127.0.0.1:{_free_port()}",
                 "GYRINX_COLLECTOR_HEALTH": f"127.0.0.1:{_free_port()}",
                 "GYRINX_COLLECTOR_METRICS_PORT": str(_free_port())}
        assert "127.0.0.1:4317" in _script(collector=True)
        script = _script(collector=True).replace("127.0.0.1:4317", grpc) + "\nwait\n"
        checkout = _checkout_copy(tmp_path, with_venv=True)
        result = _run_script(script, checkout, Path(sys.prefix) / "bin", **ports)
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
        logs = (checkout / "collector-output.logs.jsonl").read_text(encoding="utf-8")
        assert '"user_login"' in logs and '"my-app"' in logs
