"""What users install works on its own: the built wheel, in fresh virtualenvs, away from the source tree.

The sdist and wheel are built with ``python -m build`` (the wheel from the sdist, as a release would
be). The wheel must hold every module of the source tree and ``py.typed``; it is then installed
with each user-facing extra into its own virtualenv, and everything below runs there from a
temporary directory, so nothing can be imported from the checkout: every module, every entry
point the installed metadata declares (console scripts are run, ``pytest11`` plugins are loaded
by a real pytest), the demo, mypy reading our types, and the gcp and otlp extras exporting to the
loopback Cloud Logging server and OTLP receiver.
"""

from __future__ import annotations

import configparser
import json
import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.servers.cloud_logging import CloudLoggingServer
from tests.servers.otlp import OtlpReceiver

pytest_plugins = ("tests.servers.fixtures",)
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = "gyrinx_tracker"
# The extras a user installs ("" is none); `test` is the suite's own and not shipped to users.
EXTRAS = ("", "gcp", "otlp", "django")
SCRIPT_GROUPS = ("console_scripts", "gui_scripts")


def source_files() -> set[str]:
    """``gyrinx_tracker/**/*.py`` of the checkout, as paths inside a wheel."""
    return {path.relative_to(ROOT).as_posix() for path in (ROOT / PACKAGE).rglob("*.py")
            if "__pycache__" not in path.parts}


def module_name(path: str) -> str:
    """``gyrinx_tracker/_outputs/__init__.py`` -> ``gyrinx_tracker._outputs``."""
    parts = path.removesuffix(".py").split("/")
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def clean_env(**extra: str) -> dict[str, str]:
    """The environment without anything that could put the checkout on the path or steer the tracker."""
    dropped = ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "GOOGLE_CLOUD_PROJECT", "GCLOUD_PROJECT",
               "K_SERVICE", "CLOUD_RUN_JOB")
    env = {k: v for k, v in os.environ.items()
           if k not in dropped and not k.startswith(("GYRINX_TRACKER_", "OTEL_"))}
    return {**env, **extra}


def run(argv: list[str | Path], cwd: Path, env: dict[str, str] | None = None,
        timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(arg) for arg in argv], cwd=cwd, env=env or clean_env(), capture_output=True,
                          text=True, timeout=timeout, check=False)


def ok(result: subprocess.CompletedProcess[str]) -> str:
    """The output of a command that must have succeeded; its output is the failure message."""
    assert result.returncode == 0, f"{result.args} exited {result.returncode}\n{result.stdout[-4000:]}\n" \
                                   f"{result.stderr[-4000:]}"
    return result.stdout


@dataclass(frozen=True)
class Dists:
    sdist: Path
    wheel: Path

    def wheel_files(self) -> set[str]:
        with zipfile.ZipFile(self.wheel) as wheel:
            return set(wheel.namelist())

    def sdist_files(self) -> set[str]:
        """Paths inside the sdist, without its ``name-version/`` top directory."""
        with tarfile.open(self.sdist) as sdist:
            return {name.split("/", 1)[1] for name in sdist.getnames() if "/" in name}

    def wheel_entry_points(self) -> dict[str, dict[str, str]]:
        with zipfile.ZipFile(self.wheel) as wheel:
            names = [n for n in wheel.namelist() if n.endswith(".dist-info/entry_points.txt")]
            text = wheel.read(names[0]).decode() if names else ""
        parser = configparser.ConfigParser(delimiters=("=",))
        parser.optionxform = str  # entry point names keep their case
        parser.read_string(text)
        return {group: dict(parser[group]) for group in parser.sections()}


@dataclass
class Install:
    """One fresh virtualenv with the wheel installed with ``extra``, and a scratch directory."""

    extra: str
    venv: Path
    workdir: Path
    _report: dict[str, Any] | None = None

    @property
    def python(self) -> Path:
        return self.venv / "bin" / "python"

    def check(self) -> dict[str, Any]:
        """The report of tests/packaging_check.py, run inside this virtualenv (once)."""
        if self._report is None:
            script = shutil.copy(ROOT / "tests" / "packaging_check.py", self.workdir / "packaging_check.py")
            modules = sorted(module_name(path) for path in source_files())
            self._report = json.loads(ok(run([self.python, script, *modules], cwd=self.workdir)))
        return self._report

    def demo(self, **env: str) -> subprocess.CompletedProcess[str]:
        """examples/demo.py, copied out of the checkout and run with this virtualenv's Python."""
        script = shutil.copy(ROOT / "examples" / "demo.py", self.workdir / "demo.py")
        return run([self.python, script], cwd=self.workdir, env=clean_env(GYRINX_TRACKER_HANDLE_SIGTERM="false", **env),
                   timeout=120)


@pytest.fixture(scope="module")
def dists(tmp_path_factory: pytest.TempPathFactory) -> Dists:
    """The sdist and the wheel built from it, as `python -m build` (what `make dist` runs) makes them."""
    out = tmp_path_factory.mktemp("dist")
    ok(run([sys.executable, "-m", "build", "--outdir", out, ROOT], cwd=out, env=clean_env()))
    (sdist,), (wheel,) = list(out.glob("*.tar.gz")), list(out.glob("*.whl"))
    return Dists(sdist, wheel)


@pytest.fixture(scope="module")
def install(dists: Dists, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[str], Install]]:
    """``install(extra)``: a fresh virtualenv with the wheel and that extra, made once per extra."""
    made: dict[str, Install] = {}

    def get(extra: str) -> Install:
        if extra not in made:
            base = tmp_path_factory.mktemp(f"venv-{extra or 'core'}")
            venv, workdir = base / "venv", base / "work"
            workdir.mkdir()
            ok(run([sys.executable, "-m", "venv", venv], cwd=base))
            target = f"{dists.wheel}[{extra}]" if extra else str(dists.wheel)
            pip = [venv / "bin" / "python", "-m", "pip", "--disable-pip-version-check"]
            ok(run([*pip, "install", "--quiet", target], cwd=workdir))
            ok(run([*pip, "check"], cwd=workdir))
            made[extra] = Install(extra, venv, workdir)
        return made[extra]

    yield get


def events_printed(output: str) -> list[str]:
    """The events of the JSON lines the demo logs through `gyrinx.tracker`."""
    marker = " gyrinx.tracker "  # the demo's format: time, level, logger, caller, trace, the payload
    return [json.loads(line[line.index("{"):])["event"] for line in output.splitlines() if marker in line]


class TestWheelContents:
    def test_every_source_module_is_in_the_wheel(self, dists: Dists) -> None:
        """A module of gyrinx_tracker/ (subpackages included) missing from the wheel fails here."""
        assert source_files() - dists.wheel_files() == set()

    def test_py_typed_ships_in_the_wheel(self, dists: Dists) -> None:
        """The PEP 561 marker is in the wheel, so type checkers read our annotations."""
        assert f"{PACKAGE}/py.typed" in dists.wheel_files()

    def test_the_sdist_holds_every_module_and_py_typed(self, dists: Dists) -> None:
        """The sdist can rebuild the same package: every module and the marker are in it."""
        assert source_files() | {f"{PACKAGE}/py.typed"} <= dists.sdist_files()

    def test_the_licence_file_ships_in_the_sdist_and_the_wheel(self, dists: Dists) -> None:
        """The MIT text pyproject's ``license`` names is in both, byte for byte the repository's LICENSE."""
        licence = (ROOT / "LICENSE").read_bytes()
        assert b"MIT License" in licence and b"the gyrinx_tracker authors" in licence
        assert "LICENSE" in dists.sdist_files()
        with tarfile.open(dists.sdist) as sdist:
            member = next(m for m in sdist.getmembers() if m.name.split("/", 1)[-1] == "LICENSE")
            extracted = sdist.extractfile(member)
            assert extracted is not None and extracted.read() == licence
        with zipfile.ZipFile(dists.wheel) as wheel:
            names = [n for n in wheel.namelist() if ".dist-info/" in n and n.endswith("/LICENSE")]
            assert len(names) == 1, wheel.namelist()
            assert wheel.read(names[0]) == licence
            metadata = next(n for n in wheel.namelist() if n.endswith(".dist-info/METADATA"))
            text = wheel.read(metadata).decode()
        assert "License-Expression: MIT" in text or "License: MIT" in text
        assert "License-File: LICENSE" in text

    def test_the_wheels_entry_points_are_the_ones_pyproject_declares(self, dists: Dists) -> None:
        """Scripts and plugins declared in pyproject.toml are in the wheel's metadata, and only those."""
        import tomllib  # 3.11+; this module's tests run on the default interpreter only (slow)

        project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
        declared = {group: dict(points) for group, points in project.get("entry-points", {}).items()}
        for key, group in (("scripts", "console_scripts"), ("gui-scripts", "gui_scripts")):
            if key in project:
                declared[group] = dict(project[key])
        assert dists.wheel_entry_points() == declared

    def test_every_entry_point_target_is_a_module_in_the_wheel(self, dists: Dists) -> None:
        """An entry point whose module was left out of the wheel fails here, before any install."""
        files = dists.wheel_files()
        for group, points in dists.wheel_entry_points().items():
            for name, value in points.items():
                module = value.split(":")[0].strip()
                path = module.replace(".", "/")
                assert f"{path}.py" in files or f"{path}/__init__.py" in files, (group, name, value)


@pytest.mark.parametrize("extra", EXTRAS, ids=lambda extra: extra or "no-extra")
class TestInstalledWheel:
    def test_it_is_imported_from_the_install_not_the_checkout(self, install: Callable[[str], Install],
                                                             extra: str) -> None:
        """The package comes from the virtualenv's site-packages; the checkout is nowhere on sys.path."""
        report = install(extra).check()
        assert Path(report["package_file"]).is_relative_to(report["prefix"])
        assert not any(Path(entry).resolve().is_relative_to(ROOT) for entry in report["sys_path"] if entry)
        assert report["package_version"] == report["distribution_version"]

    def test_every_module_imports_or_misses_only_another_extras_package(
            self, install: Callable[[str], Install], extra: str) -> None:
        """A module may fail to import only for want of a third-party package, never one of ours."""
        failures = {module: error for module, error in install(extra).check()["imports"].items() if error}
        ours = {module: error for module, error in failures.items()
                if not error.startswith("missing:") or error.removeprefix("missing:").startswith(PACKAGE)}
        assert ours == {}
        assert "gyrinx_tracker" not in failures and "gyrinx_tracker.testing" not in failures

    def test_py_typed_is_installed(self, install: Callable[[str], Install], extra: str) -> None:
        """The marker reaches site-packages, not only the wheel."""
        assert install(extra).check()["py_typed"] is True

    def test_the_demo_runs(self, install: Callable[[str], Install], extra: str) -> None:
        """examples/demo.py, run from the install, prints its events and the books."""
        result = install(extra).demo()
        assert result.returncode == 0, result.stderr
        assert {"user_login", "api_call", "feature_used", "import_finished"} <= set(events_printed(result.stdout))
        assert "'emitted': " in result.stdout

    def test_every_declared_entry_point_loads_and_runs(self, install: Callable[[str], Install], extra: str) -> None:
        """Each entry point's target loads; scripts answer --help; pytest plugins load in a real pytest."""
        installed = install(extra)
        points = installed.check()["entry_points"]
        # A pytest11 plugin needs pytest, which is not a dependency: it is loaded by a real pytest below.
        assert [p for p in points if p["load_error"] and p["group"] != "pytest11"] == []
        for point in points:
            if point["group"] in SCRIPT_GROUPS:
                ok(run([installed.venv / "bin" / point["name"], "--help"], cwd=installed.workdir))
        if any(point["group"] == "pytest11" for point in points):
            _run_pytest_with_our_plugins(installed)


def _run_pytest_with_our_plugins(installed: Install) -> None:
    """A real pytest in the virtualenv autoloads our plugins and runs a trivial test."""
    ok(run([installed.python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "pytest"],
           cwd=installed.workdir))
    (installed.workdir / "test_smoke.py").write_text("def test_smoke():\n    assert True\n")
    output = ok(run([installed.python, "-m", "pytest", "-p", "no:cacheprovider", "test_smoke.py"],
                    cwd=installed.workdir))
    assert "gyrinx-tracker" in output.split("plugins:", 1)[-1].splitlines()[0], output


class TestEveryModuleAndOutput:
    def test_every_module_imports_with_some_extra(self, install: Callable[[str], Install]) -> None:
        """Across the extras' installs, every module of the package imports somewhere."""
        reports = [install(extra).check()["imports"] for extra in EXTRAS]
        never = {module: reports[0][module] for module in reports[0] if all(report[module] for report in reports)}
        # The pytest plugin (its public module and its implementation) needs pytest, which no extra
        # installs: pytest loads it (tested below).
        assert never == {"gyrinx_tracker.pytest_plugin": "missing:pytest",
                         "gyrinx_tracker._integrations.pytest_plugin": "missing:pytest"}

    def test_types_are_read_by_mypy_from_the_install(self, install: Callable[[str], Install]) -> None:
        """mypy, pointed at the install, finds our annotations: a wrong call is an arg-type error."""
        installed = install("")
        (installed.workdir / "app.py").write_text("from gyrinx_tracker import track\n\ntrack(42)\n")
        result = run([sys.executable, "-m", "mypy", "--python-executable", installed.python, "--no-incremental",
                      "app.py"], cwd=installed.workdir)
        assert result.returncode == 1, result.stdout
        assert '"track" has incompatible type "int"' in result.stdout, result.stdout
        assert "py.typed" not in result.stdout

    def test_the_gcp_extra_writes_to_cloud_logging(self, install: Callable[[str], Install],
                                                   cloud_logging_server: CloudLoggingServer) -> None:
        """From the gcp install, the demo's events reach the Cloud Logging API (loopback server)."""
        installed = install("gcp")
        local = events_printed(installed.demo().stdout)
        result = installed.demo(GOOGLE_CLOUD_PROJECT="proj", GYRINX_TRACKER_GCP_REGION="europe-west2",
                                GYRINX_TRACKER_CLOUD_LOGGING_ENDPOINT=cloud_logging_server.endpoint)
        assert result.returncode == 0, result.stderr
        received = [entry["jsonPayload"]["event"] for entry in cloud_logging_server.entries()]
        assert Counter(received) == Counter(local)

    def test_the_otlp_extra_exports_to_a_collector(self, install: Callable[[str], Install],
                                                   otlp_receiver: OtlpReceiver) -> None:
        """From the otlp install, the demo's events reach an OTLP receiver as log records."""
        installed = install("otlp")
        local = events_printed(installed.demo().stdout)
        result = installed.demo(GYRINX_TRACKER_EXPORTER="otlp", OTEL_EXPORTER_OTLP_ENDPOINT=otlp_receiver.endpoint)
        assert result.returncode == 0, result.stderr
        assert Counter(record["event_name"] for record in otlp_receiver.log_records()) == Counter(local)
