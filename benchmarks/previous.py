"""The previous release of this package, measured beside the seed in rounds of its own process.

Both releases are called ``gyrinx_tracker``, so they cannot share a process: the previous one
(``PREVIOUS``, a commit of this repository) is exported with ``git archive``, installed with
``pip install --no-deps --target`` into a temporary directory, and a child process whose
``PYTHONPATH`` puts that directory first runs interleaved rounds (``rounds.run_rounds``) of the
seeds and the previous release in every mode it had, as shipped (metrics wherever it recorded
them: OTLP; its local and Google Cloud modes recorded none). Ratios are to the seed measured in
that child, so they compare with the main table's ratios, not its absolute numbers.

``python -m benchmarks.previous ROUNDS EVENTS`` is the child (receivers from ``GYRINX_BENCH_RECEIVERS``);
``run`` installs the release and starts it.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from benchmarks import import_time
from benchmarks.receivers import Endpoints

PREVIOUS = "36de2a3"
ROOT = Path(__file__).resolve().parent.parent
ENDPOINTS = "GYRINX_BENCH_RECEIVERS"


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


def child_env(site: Path, endpoints: Endpoints | None = None) -> dict[str, str]:
    """An environment importing ``gyrinx_tracker`` from ``site`` and ``benchmarks`` from this checkout."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), str(ROOT)])}
    if endpoints is not None:
        env[ENDPOINTS] = json.dumps(endpoints)
    return env


def run(endpoints: Endpoints, rounds: int, events: int) -> dict[str, Any]:
    """Rows of the previous release and the seeds (``{key: {"cpu_us", "cpu_x", ...}}``), or ``{"error"}``."""
    with tempfile.TemporaryDirectory(prefix="gyrinx-previous-") as temporary:
        try:
            site = install(PREVIOUS, Path(temporary))
            # cwd is the temporary directory: "-m" puts cwd first on sys.path, and this checkout's
            # own gyrinx_tracker must not be found before the installed one.
            done = subprocess.run([sys.executable, "-m", "benchmarks.previous", str(rounds), str(events)],
                                  cwd=temporary, env=child_env(site, endpoints), capture_output=True, text=True,
                                  timeout=1800)
            imported = import_time.measure(env=child_env(site), cwd=temporary)
        except (subprocess.SubprocessError, OSError, RuntimeError) as error:
            return {"error": f"{type(error).__name__}: {error}"}
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode or not lines:
        return {"error": " / ".join(done.stderr.strip().splitlines()[-3:]) or "no output"}
    result: dict[str, Any] = json.loads(lines[-1])
    result["import_time"] = imported
    return result


def _impls() -> tuple[Any, ...]:
    """The seeds, and the previous release in each mode with the options it knew."""
    import gyrinx_tracker
    from benchmarks.impls import BY_KEY, PROJECT, Impl, _received, _to_sink

    def previous(env: Any, where: str, **options: Any) -> Any:
        from benchmarks.impls import Runner

        gyrinx_tracker.configure(global_providers="never", handle_sigterm=False, **options)

        def flush() -> None:
            if not gyrinx_tracker.flush(120.0):
                raise RuntimeError("gyrinx_tracker.flush timed out")

        def books() -> tuple[int, int, int]:
            stats = gyrinx_tracker.stats()
            return stats["emitted"], stats["exported"], stats["dropped"]

        return Runner(gyrinx_tracker.track, flush, _received(env, where), books)

    def local(env: Any) -> Any:
        _to_sink(logging.getLogger("gyrinx.tracker"), logging.StreamHandler(env.sink.file))
        return previous(env, "lines", exporter="console")

    def otlp(env: Any) -> Any:
        os.environ.update(OTEL_EXPORTER_OTLP_ENDPOINT=env.receiver()["otlp"], OTEL_EXPORTER_OTLP_INSECURE="true")
        return previous(env, "logs", exporter="otlp")

    return (
        BY_KEY["seed_local"], BY_KEY["seed_gcp"],
        Impl("previous_local", local, f"the previous release ({PREVIOUS}), `exporter=\"console\"` (no metrics)",
             "seed_local"),
        Impl("previous_stdout", lambda env: previous(env, "lines", exporter="gcp", gcp_transport="stdout",
                                                     project_id=PROJECT),
             "the previous release, `gcp_transport=\"stdout\"` (no metrics)", "seed_gcp", stdout=True),
        Impl("previous_api", lambda env: previous(env, "entries", exporter="gcp", gcp_transport="api",
                                                  project_id=PROJECT, cloud_logging_endpoint=env.receiver()["api"]),
             "the previous release, `gcp_transport=\"api\"` (no metrics)", "seed_gcp"),
        Impl("previous_otlp", otlp, "the previous release, `exporter=\"otlp\"`: logs, counter and histogram",
             "seed_local"),
    )


def main() -> None:
    import gyrinx_tracker
    from benchmarks.impls import Env, Sink, shutdown_app_providers
    from benchmarks.rounds import middle_half, run_rounds
    from benchmarks.workload import request_calls

    rounds, events = int(sys.argv[1]), int(sys.argv[2])
    origin = os.path.dirname(gyrinx_tracker.__file__)
    if origin.startswith(str(ROOT / "gyrinx_tracker")):
        raise SystemExit(f"the checkout's gyrinx_tracker was imported ({origin}), not the previous release")
    sink = Sink()
    rows = run_rounds(_impls(), rounds, request_calls(events), Env(sink, json.loads(os.environ[ENDPOINTS])))
    shutdown_app_providers()
    sink.close()
    result: dict[str, Any] = {"commit": PREVIOUS, "origin": origin}
    for key, row in rows.items():
        cpu = sorted(sample.cpu_us for sample in row.samples)
        result[key] = {"about": row.impl.about, "vs": row.impl.baseline, "cpu_us": cpu[len(cpu) // 2],
                       "cpu_x": middle_half(row.cpu_x) if row.cpu_x else None, "problems": row.problems,
                       "rounds": len(row.samples)}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
