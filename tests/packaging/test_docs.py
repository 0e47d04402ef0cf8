"""The documentation cannot rot: the variable table is the code's, every Python and shell snippet runs.

The user documentation is README.md (getting started) and docs/*.md (everything else); the checks read
them all, README first, so a snippet or the table is checked wherever it lives. Links between them
must resolve.
"""

from __future__ import annotations

import dataclasses
import inspect
import os
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from gyrinx_tracker import configure
from gyrinx_tracker._config import CODE_ONLY, VARIABLES, TrackerConfig
from gyrinx_tracker._integrations.pytest_plugin import TEST_DEFAULTS

_ROOT = Path(__file__).resolve().parents[2]
DOC_FILES = [_ROOT / "README.md", *sorted((_ROOT / "docs").glob("*.md"))]
DOCS = {path: path.read_text(encoding="utf-8") for path in DOC_FILES}
README = DOCS[_ROOT / "README.md"]
ALL = "\n".join(DOCS.values())  # README first, then docs/ by name: the order shell blocks run in


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
    return re.findall(r"```python\n(.*?)```", ALL, flags=re.DOTALL)


class TestReadme:
    def test_the_variable_table_is_exactly_the_codes(self) -> None:
        """Every variable the code reads is documented with its real default, and nothing else is."""
        (where,) = [path for path, text in DOCS.items() if "<!-- variables:start -->" in text]
        documented = DOCS[where].split("<!-- variables:start -->\n")[1].split("\n<!-- variables:end -->")[0]
        assert documented == _variables_table()

    def test_every_config_field_read_from_the_environment_is_in_the_table(self) -> None:
        """A new TrackerConfig field must come with a documented variable (code-only options excepted)."""
        code_only = set(CODE_ONLY)
        fields = {f.name for f in dataclasses.fields(TrackerConfig)} - code_only
        assert fields == {variable.field for variable in VARIABLES}

    @pytest.mark.parametrize("block", _python_blocks(), ids=lambda block: block.splitlines()[0][:40])
    def test_python_snippets_run(self, block: str, caplog: pytest.LogCaptureFixture) -> None:
        """Each ```python block executes; test functions it defines are called and pass (one that
        takes pytest's ``caplog`` gets the real fixture and the plugin's configuration, as in the
        reader's suite)."""
        namespace: dict[str, object] = {"__name__": "readme"}
        exec(compile(block, "docs", "exec"), namespace)
        for name, value in namespace.items():
            if name.startswith("test_") and callable(value):
                if "caplog" in inspect.signature(value).parameters:
                    # A test of the reader's suite, where the plugin is on (this suite turns it off).
                    configure(**TEST_DEFAULTS)  # type: ignore[arg-type]
                    value(caplog=caplog)
                else:
                    value()


# -- the README's shell snippets ---------------------------------------------------------------
#
# Every ```sh block runs in a test below, unless its first line says what it needs that this
# machine cannot have (one of NEEDS). Commands that .ci/run runs (`make test`) are not run again
# here: the suite would run inside itself. Blocks run in README order in one bash session per
# group, so a variable set in one block (COLLECTOR) is seen by the next; they run in a temporary
# copy of the checkout, with a fresh virtualenv first on PATH standing for "your app's virtualenv".

ROOT = Path(__file__).resolve().parents[2]
# What a block needs that a fresh copy of the checkout cannot give in a test: Google Cloud,
# credentials, the reader's own app log (docs/monitoring.md), or minutes of a benchmark (make fleet,
# whose own checks are tests/integration/collector/test_collector_fleet.py).
NEEDS = frozenset({"# needs Google Cloud", "# needs PyPI credentials", "# needs your app's log",
                   "# needs minutes: a benchmark, run by hand"})
CI_RUN = {line.strip() for line in (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()}
COLLECTOR_BLOCK = "COLLECTOR"  # blocks that mention it build or run the collector


def _sh_blocks() -> list[str]:
    return re.findall(r"```sh\n(.*?)```", ALL, flags=re.DOTALL)


def _command(line: str) -> str:
    """A line without its trailing comment (README comments are separated by two spaces or more)."""
    return re.split(r"\s{2,}#", line)[0].strip()


def _runnable(block: str) -> str:
    """The block as it runs here: lines that .ci/run runs are left out."""
    return "\n".join(line for line in block.splitlines() if _command(line) not in CI_RUN)


def _script(collector: bool) -> str:
    blocks = [b for b in _sh_blocks() if b.splitlines()[0].strip() not in NEEDS and (COLLECTOR_BLOCK in b) == collector]
    assert blocks, "the documentation has no such shell blocks any more: update this test"
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
        url = "git+file://localhost$(pwd)@main"  # the README's form, run from the clone; here the checkout's HEAD
        assert url in README
        script = _script(collector=False).replace(url, f"git+file://localhost{ROOT}@{head}")
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


# -- the shape of the documentation -------------------------------------------------------------

# Pages another branch is still writing; linked from README.md and docs/index.md before they exist.
# The integrator empties this set once it is merged, and the link check then covers it too.
PENDING: frozenset[str] = frozenset()


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation but - and _ dropped, spaces as hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def _anchors(text: str) -> set[str]:
    outside_code = re.sub(r"```.*?```", "", text, flags=re.DOTALL)
    return {_slug(line.lstrip("#")) for line in outside_code.splitlines() if re.match(r"#{1,6} ", line)}


def _links(text: str) -> list[str]:
    outside_code = re.sub(r"```.*?```", "", text, flags=re.DOTALL)
    return re.findall(r"\]\(([^)\s]+)\)", outside_code)


class TestDocsShape:
    def test_the_readme_is_a_getting_started_page(self) -> None:
        """At most 300 lines; before its first section, exactly two set-up commands: make demo and make test."""
        assert len(README.splitlines()) <= 300
        first_screen = README.split("\n## ", 1)[0]
        commands = {_command(line) for block in re.findall(r"```sh\n(.*?)```", first_screen, flags=re.DOTALL)
                    for line in block.splitlines() if line.strip()}
        assert commands == {"make demo", "make test"}

    def test_install_instructions_have_no_placeholder_and_no_form_pip_23_refuses(self) -> None:
        """No OWNER to fill in, and no requirement `@ git+file:///` (pip 23, Python 3.11's, refuses it; the
        git install test runs the `git+file://localhost/` form with that pip)."""
        for path, text in DOCS.items():
            assert "OWNER" not in text, path
            assert "@ git+file:///" not in text, path
        assert "@ git+file://localhost" in README

    def test_the_readme_says_to_configure_at_start_up(self) -> None:
        """The first track() otherwise pays the imports: the README says so and shows configure()."""
        assert "Call `configure()` once at start-up" in README
        assert "gyrinx_tracker.configure()" in "\n".join(_python_blocks())

    def test_every_relative_link_and_anchor_resolves(self) -> None:
        """Each link to a file of the repository points at one that exists, and each #anchor at a heading."""
        broken = []
        for path, text in DOCS.items():
            for link in _links(text):
                if link.startswith(("http://", "https://", "mailto:")):
                    continue
                target, _, anchor = link.partition("#")
                file = (path.parent / target).resolve() if target else path
                if file.name in PENDING and file.parent == _ROOT / "docs":
                    continue
                if not file.exists():
                    broken.append(f"{path.name}: {link}")
                elif anchor and file.suffix == ".md" and anchor not in _anchors(file.read_text(encoding="utf-8")):
                    broken.append(f"{path.name}: {link} (no such heading)")
        assert broken == []

    def test_the_index_and_the_readme_link_every_page(self) -> None:
        """docs/index.md lists every page of docs/ and the pages still to come; the README links the index."""
        index = DOCS[_ROOT / "docs" / "index.md"]
        pages = {path.name for path in DOC_FILES if path.parent.name == "docs"} - {"index.md"}
        linked = {link.partition("#")[0] for link in _links(index)}
        assert pages | PENDING <= linked
        assert "docs/index.md" in {link.partition("#")[0] for link in _links(README)}
        readme_pages = {link.partition("#")[0].removeprefix("docs/") for link in _links(README)}
        assert readme_pages >= PENDING
