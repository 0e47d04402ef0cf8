"""The previous release of this package, measured beside the seed in rounds of its own process.

Both releases are called ``gyrinx_tracker``, so they cannot share a process: the previous one
(``PREVIOUS``, a commit of this repository) is exported with ``git archive``, installed with
``pip install --no-deps --target`` into a temporary directory, and a child process whose
``PYTHONPATH`` puts that directory first runs interleaved rounds (``rounds.run_rounds``) of the
seeds and the previous release in every mode it had, as shipped (metrics wherever it recorded
them: OTLP; its local and Google Cloud modes recorded none), built by ``impls``' own builders with
the options it knew. Ratios are to the seed measured in that child, so they compare with the main
table's ratios, not its absolute numbers.

``python -m benchmarks.previous ROUNDS EVENTS`` is the child; ``run`` installs the release and starts it.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gyrinx_tracker
from benchmarks import import_time
from benchmarks.impls import BY_KEY, PROJECT, Env, Impl, Runner, Sink, _ours, _received, _to_sink, ours_otlp, shutdown_app_providers
from benchmarks.load import child
from benchmarks.receivers import Endpoints, passed, passing
from benchmarks.rounds import run_rounds
from benchmarks.workload import request_calls

PREVIOUS = "36de2a3"
ROOT = Path(__file__).resolve().parent.parent


def install(commit: str, into: Path) -> Path:
    """The package at ``commit``, installed (without dependencies: the venv's are the same range) into ``into``."""
    source, site = into / "source", into / "site"
    source.mkdir()
    archive = subprocess.run(["git", "archive", "--format=tar", commit], cwd=ROOT, capture_output=True, check=True,
                             timeout=120).stdout
    subprocess.run(["tar", "-x", "-C", str(source)], input=archive, check=True, timeout=120)
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
                    "--target", str(site), str(source)], check=True, capture_output=True, timeout=600)
    return site


def run(endpoints: Endpoints, rounds: int, events: int) -> dict[str, Any]:
    """Rows of the previous release and the seeds (``{key: {"cpu_us", "cpu_x", ...}}``), or ``{"error"}``."""
    with tempfile.TemporaryDirectory(prefix="gyrinx-previous-") as temporary:
        try:
            site = install(PREVIOUS, Path(temporary))
            # gyrinx_tracker from site, benchmarks from this checkout; cwd is the temporary directory:
            # "-m" puts cwd first on sys.path, and the checkout's gyrinx_tracker must not be found first.
            env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), str(ROOT)])}
            result = child([sys.executable, "-m", "benchmarks.previous", str(rounds), str(events)], "the previous release",
                           {**env, **passing(endpoints)}, timeout=1800, cwd=temporary)
            imported = import_time.measure(env=env, cwd=temporary)
        except (subprocess.SubprocessError, OSError, RuntimeError) as error:
            return {"error": f"{type(error).__name__}: {error}"}
    return result if "error" in result else {**result, "import_time": imported}


def previous(where: str, **options: Any) -> Callable[[Env], Runner]:
    """A builder for the previous release through ``impls._ours``, with the options it knew."""
    def build(env: Env) -> Runner:
        if options["exporter"] == "console":
            _to_sink(logging.getLogger("gyrinx.tracker"), logging.StreamHandler(env.sink.file))
        api = {"cloud_logging_endpoint": env.receiver()["api"]} if options.get("gcp_transport") == "api" else {}
        return _ours(env, _received(env, where), **options, **api)
    return build


IMPLS = (
    BY_KEY["seed_local"], BY_KEY["seed_gcp"],
    Impl("previous_local", previous("lines", exporter="console"),
         f"the previous release ({PREVIOUS}), `exporter=\"console\"` (no metrics)", "seed_local"),
    Impl("previous_stdout", previous("lines", exporter="gcp", gcp_transport="stdout", project_id=PROJECT),
         "the previous release, `gcp_transport=\"stdout\"` (no metrics)", "seed_gcp", stdout=True),
    Impl("previous_api", previous("entries", exporter="gcp", gcp_transport="api", project_id=PROJECT),
         "the previous release, `gcp_transport=\"api\"` (no metrics)", "seed_gcp"),
    Impl("previous_otlp", ours_otlp, "the previous release, `exporter=\"otlp\"`: logs, counter and histogram",
         "seed_local"),
)


def main() -> None:
    rounds, events = int(sys.argv[1]), int(sys.argv[2])
    origin = os.path.dirname(gyrinx_tracker.__file__)
    if origin.startswith(str(ROOT / "gyrinx_tracker")):
        raise SystemExit(f"the checkout's gyrinx_tracker was imported ({origin}), not the previous release")
    sink = Sink()
    rows = run_rounds(IMPLS, rounds, request_calls(events), Env(sink, passed()))
    shutdown_app_providers()
    sink.close()
    result: dict[str, Any] = {"commit": PREVIOUS, "origin": origin}
    for key, row in rows.items():  # what report.previous_table shows, as the main table's columns do
        result[key] = {"about": row.impl.about, "vs": row.impl.baseline, "cpu_us": [s.cpu_us for s in row.samples],
                       "cpu_x": row.cpu_x, "problems": row.problems}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
