"""Instructions per event under callgrind: a noise-free cross-check of the CPU ratios.

CPU time on a shared two-core VM moves by ±30% between rounds; instruction counts do not (the
same binary, inputs and ``PYTHONHASHSEED`` give the same count whatever else the machine does).
Each implementation runs in a child process under ``valgrind --tool=callgrind`` twice, with
``SMALL`` and ``LARGE`` calls after the same warm-up; the difference divided by ``LARGE - SMALL``
is the cost of one call, start-up and warm-up cancelled. It counts work, not waiting: GIL
hand-offs between our two threads and cache misses are not in it, which is why it sits beside the
timed rounds rather than replacing them.

``python -m benchmarks.instructions KEY CALLS`` is the child; ``measure()`` runs the children.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
KEYS = ("seed_local", "ours_local", "seed_gcp", "ours_stdout")
SMALL, LARGE = 1_000, 4_000
_COLLECTED = re.compile(r"Collected : (\d+)")


def available() -> bool:
    """True when valgrind is installed (it is on this project's machines; elsewhere: skipped)."""
    return shutil.which("valgrind") is not None


def measure(keys: tuple[str, ...] = KEYS) -> dict[str, float]:
    """Instructions per call for each implementation, two valgrind runs at a time."""
    jobs = [(key, calls) for key in keys for calls in (SMALL, LARGE)]
    with ThreadPoolExecutor(max_workers=2) as pool:
        counts = dict(zip(jobs, pool.map(lambda job: _count(*job), jobs)))
    return {key: (counts[(key, LARGE)] - counts[(key, SMALL)]) / (LARGE - SMALL) for key in keys}


def _count(key: str, calls: int) -> int:
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    done = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
         sys.executable, "-m", "benchmarks.instructions", key, str(calls)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    match = _COLLECTED.search(done.stderr)
    if done.returncode != 0 or match is None:
        raise RuntimeError(f"callgrind run of {key} failed: {done.stderr.strip()[-300:]}")
    return int(match.group(1))


def _child(key: str, calls: int) -> None:
    sys.path.insert(0, str(ROOT))
    from benchmarks.impls import BY_KEY, Env
    from benchmarks.workload import EVENT, request_calls

    env = Env(endpoint=None)
    spec = BY_KEY[key]
    with contextlib.redirect_stdout(env.devnull) if spec.stdout else contextlib.nullcontext():
        with spec.running(env) as runner:
            for value, labels in request_calls(calls):
                runner.track(EVENT, 1, value, **labels)
            runner.flush()


if __name__ == "__main__":
    _child(sys.argv[1], int(sys.argv[2]))
