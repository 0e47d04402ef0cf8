#!/usr/bin/env python3
"""Run the suite on every CPython >= 3.10 this machine offers (what ``make test-pythons`` runs).

``make test`` covers the default interpreter (``python3``) with everything: mypy, the slow tests
and the collector tests. This script covers the *other* interpreters, each in its own virtualenv
(``.venv-3.12``, ...) with the project installed with its extras, and runs there what can differ
between Python versions: mypy against that version and the fast tests
(``-m "not slow and not collector"``). The slow tests (subprocess-heavy, the packaging test) and
the collector tests exercise no interpreter-specific code that the fast tests do not, and running
them once keeps CI well inside its time limit on two cores.

Interpreters are discovered, not listed: ``python3.N`` on ``PATH`` and every pyenv version under
``$PYENV_ROOT`` (default ``~/.pyenv``). Each candidate is *run* to learn what it is, because a pyenv
shim for a version that is not selected exists on ``PATH`` but fails. ``GYRINX_PYTHONS`` (paths,
space-separated) replaces discovery. On a machine with no other interpreter the script says so and
passes: the default is tested by ``make test``.

Only the standard library is used, so this runs with the system Python, before any virtualenv.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MINIMUM = (3, 10)
FAST_TESTS = "not slow and not collector"
_PROBE = (
    "import importlib.util, json, sys, sysconfig\n"
    "print(json.dumps({'impl': sys.implementation.name, 'version': list(sys.version_info[:3]),"
    " 'free_threaded': bool(sysconfig.get_config_var('Py_GIL_DISABLED')),"
    " 'ensurepip': importlib.util.find_spec('ensurepip') is not None,"
    " 'executable': sys.executable}))"
)


@dataclass(frozen=True)
class Interpreter:
    """One working CPython, as it described itself when run."""

    executable: Path
    version: tuple[int, int, int]
    free_threaded: bool
    can_make_venv: bool = True

    @property
    def key(self) -> str:
        """``3.12`` (or ``3.13t`` for a free-threaded build): one venv and one run per key."""
        return f"{self.version[0]}.{self.version[1]}{'t' if self.free_threaded else ''}"

    @property
    def full_version(self) -> str:
        return ".".join(map(str, self.version)) + ("t" if self.free_threaded else "")


@dataclass
class Result:
    """What one interpreter's run produced, for the summary table."""

    interpreter: Interpreter
    ok: bool = False
    counts: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    failure: str = ""


def candidates(environ: dict[str, str]) -> Iterator[str]:
    """Paths or command names that may be CPythons, in order of preference."""
    explicit = environ.get("GYRINX_PYTHONS")
    if explicit is not None:
        yield from explicit.split()
        return
    for minor in range(MINIMUM[1], 40):
        found = shutil.which(f"python3.{minor}", path=environ.get("PATH"))
        if found:
            yield found
    pyenv_root = Path(environ.get("PYENV_ROOT") or Path.home() / ".pyenv")
    versions = pyenv_root / "versions"
    if versions.is_dir():
        for entry in sorted(versions.iterdir(), key=_version_sort_key, reverse=True):
            yield str(entry / "bin" / "python3")


def _version_sort_key(path: Path) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", path.name)[:3])


def probe(command: str) -> Interpreter | None:
    """Run ``command`` and return what it is, or None if it does not run or is not a CPython."""
    try:
        result = subprocess.run([command, "-c", _PROBE], capture_output=True, text=True, timeout=30,
                                check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if result.returncode != 0:
        return None
    try:
        info = json.loads(result.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return None
    if info["impl"] != "cpython":
        return None
    major, minor, micro = info["version"]
    return Interpreter(Path(info["executable"]), (major, minor, micro), info["free_threaded"], info["ensurepip"])


def discover(environ: dict[str, str]) -> list[Interpreter]:
    """One working CPython >= 3.10 per version key, the first found winning, sorted by version."""
    chosen: dict[str, Interpreter] = {}
    for command in candidates(environ):
        interpreter = probe(command)
        if interpreter is None or interpreter.version[:2] < MINIMUM:
            continue
        chosen.setdefault(interpreter.key, interpreter)
    return sorted(chosen.values(), key=lambda i: (i.version, i.free_threaded))


def _stamp(interpreter: Interpreter) -> str:
    """Changes when the venv must be rebuilt: the project's dependencies or the interpreter."""
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    return f"{digest} {interpreter.executable} {interpreter.full_version}\n"


def ensure_venv(interpreter: Interpreter) -> Path:
    """``.venv-<key>`` with the project installed editable with its extras; reused while valid."""
    venv = ROOT / f".venv-{interpreter.key}"
    stamp = venv / ".installed"
    python = venv / "bin" / "python"
    if stamp.is_file() and python.exists() and stamp.read_text() == _stamp(interpreter):
        return python
    shutil.rmtree(venv, ignore_errors=True)
    _run([str(interpreter.executable), "-m", "venv", str(venv)])
    _run([str(python), "-m", "pip", "install", "--quiet", "--upgrade", "pip"])
    _run([str(python), "-m", "pip", "install", "--quiet", "-e", ".[gcp,otlp,test]"])
    stamp.write_text(_stamp(interpreter))
    return python


def _run(argv: list[str]) -> None:
    print(f"$ {' '.join(argv)}", flush=True)
    subprocess.run(argv, cwd=ROOT, check=True)


def _stream(argv: list[str]) -> tuple[int, list[str]]:
    """Run ``argv`` with its output shown as it comes; return the exit code and the output lines."""
    print(f"$ {' '.join(argv)}", flush=True)
    lines: list[str] = []
    with subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True) as process:
        assert process.stdout is not None
        for line in process.stdout:
            sys.stdout.write(line)
            sys.stdout.flush()
            lines.append(line.rstrip("\n"))
    return process.returncode, lines


def pytest_counts(lines: Iterable[str]) -> dict[str, int]:
    """``{"passed": 480, "deselected": 62}`` from pytest's final summary line."""
    summary = next((line for line in reversed(list(lines))
                    if re.match(r"^=*\s*\d+ [a-z]+.* in [\d.]+s", line)), "")
    return {word: int(n) for n, word in re.findall(r"(\d+) ([a-z]+)", summary)}


def run_one(interpreter: Interpreter) -> Result:
    """Install, type-check against this version, run the fast tests; time each step."""
    result = Result(interpreter)
    if not interpreter.can_make_venv:  # e.g. Debian's python3.X without python3.X-venv
        result.ok, result.failure = True, "skipped: no ensurepip, so no virtualenv can be made"
        return result
    started = time.monotonic()
    try:
        python = ensure_venv(interpreter)
    except subprocess.CalledProcessError as error:
        result.failure = f"install failed: {error}"
        return result
    result.seconds["install"] = time.monotonic() - started
    version = f"{interpreter.version[0]}.{interpreter.version[1]}"
    started = time.monotonic()
    mypy_code, _ = _stream([str(python), "-m", "mypy", "--python-version", version])
    result.seconds["mypy"] = time.monotonic() - started
    started = time.monotonic()
    pytest_code, lines = _stream([str(python), "-m", "pytest", "-q", "-m", FAST_TESTS])
    result.seconds["pytest"] = time.monotonic() - started
    result.counts = pytest_counts(lines)
    result.ok = mypy_code == 0 and pytest_code == 0
    if not result.ok:
        result.failure = f"mypy exit {mypy_code}, pytest exit {pytest_code}"
    return result


def summary(default: Interpreter, results: list[Result]) -> str:
    """The table printed at the end: every interpreter, its counts and times."""
    rows = [f"  {default.full_version:<9} {default.executable}: the default; `make test` runs the whole suite"]
    for result in results:
        counts = ", ".join(f"{n} {word}" for word, n in result.counts.items()) or "no tests ran"
        times = ", ".join(f"{step} {seconds:.0f}s" for step, seconds in result.seconds.items())
        state = (result.failure or "ok") if result.ok else f"FAILED ({result.failure})"
        rows.append(f"  {result.interpreter.full_version:<9} {result.interpreter.executable}: "
                    f"{state}; {counts}; {times}")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("command", choices=["list", "test"])
    args = parser.parse_args(argv)
    default = probe(sys.executable)
    assert default is not None, "the interpreter running this script is not a CPython"
    others = [i for i in discover(dict(os.environ)) if i.key != default.key]
    if args.command == "list":
        print(f"{default.full_version} {default.executable} (default)")
        for interpreter in others:
            print(f"{interpreter.full_version} {interpreter.executable}")
        return 0
    if not others:
        print(f"No CPython >= 3.10 other than the default {default.full_version} found "
              "(looked for python3.N on PATH and pyenv versions; GYRINX_PYTHONS names them).")
    started = time.monotonic()
    results = []
    for interpreter in others:
        print(f"\n=== Python {interpreter.full_version} ({interpreter.executable}) ===", flush=True)
        results.append(run_one(interpreter))
    print(f"\nmake test-pythons: {len(results)} other interpreter(s) in "
          f"{time.monotonic() - started:.0f}s\n{summary(default, results)}")
    return 0 if all(result.ok for result in results) else 1


if __name__ == "__main__":
    sys.exit(main())
