"""A Cloud Run job task that tracks its start and its end (run as ``python cloud_run_job.py``).

Cloud Run runs each task as a process and sets ``CLOUD_RUN_JOB``, ``CLOUD_RUN_EXECUTION``,
``CLOUD_RUN_TASK_INDEX`` and ``CLOUD_RUN_TASK_ATTEMPT``; the tracker writes to the ``tracker`` log
with the ``cloud_run_job`` resource. A job's CPU is not throttled while the task runs, so the
background thread exports as it goes; ``shutdown`` at the end (or the exit hook, if the task
raises) waits for the rest before the process ends.
"""

from __future__ import annotations

import os
import sys
import time

from gyrinx_tracker import shutdown, track


def work(task_index: int) -> int:
    """Stands in for the task's real work; returns how many items it processed."""
    if os.environ.get("EXAMPLE_FAIL"):
        raise RuntimeError("the task failed")
    return 10 * (task_index + 1)


def main() -> int:
    task = int(os.environ.get("CLOUD_RUN_TASK_INDEX", "0"))
    attempt = int(os.environ.get("CLOUD_RUN_TASK_ATTEMPT", "0"))
    track("task_started", task_index=task, attempt=attempt)
    started = time.perf_counter()
    try:
        items = work(task)
    except Exception as error:  # noqa: BLE001 - any failure of the task is reported, then exit 1
        track("task_failed", task_index=task, attempt=attempt, error=type(error).__name__)
        shutdown(timeout=5)
        return 1
    track("task_completed", value=(time.perf_counter() - started) * 1000, task_index=task, attempt=attempt,
          items=items)
    shutdown(timeout=5)  # Cloud Run ends the task when the process exits: flush first
    return 0


if __name__ == "__main__":
    sys.exit(main())
