"""Events tracked in ``multiprocessing`` children, which end with ``os._exit`` under fork and
forkserver (tests/process/test_mp_children.py).

Usage: ``python mp_children.py METHOD KIND TASKS PER_TASK``: METHOD is a start method (fork,
forkserver, spawn); KIND is ``process`` (one Process per task, joined), ``pool`` (Pool of 2,
``map`` then ``close`` and ``join``), ``pool_with`` (Pool of 2 as a context manager: ``map``, then
``terminate`` by ``__exit__``) or ``executor`` (ProcessPoolExecutor of 2). Each task tracks
PER_TASK events with a unique ``seq`` label and returns at once, without flushing: the tracker
must deliver them as the child ends. The parent tracks nothing.
"""

from __future__ import annotations

import multiprocessing
import sys
from concurrent.futures import ProcessPoolExecutor

import gyrinx_tracker

PER_TASK = int(sys.argv[4]) if len(sys.argv) > 4 else 0


def work(task: int, per_task: int) -> int:
    for i in range(per_task):
        gyrinx_tracker.track("child_event", seq=task * per_task + i)
    return per_task


def work_default(task: int) -> int:
    return work(task, PER_TASK)


def main() -> None:
    method, kind, tasks, per_task = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    context = multiprocessing.get_context(method)
    done = 0
    if kind == "process":
        children = [context.Process(target=work, args=(task, per_task)) for task in range(tasks)]
        for child in children:
            child.start()
        for child in children:
            child.join()
            done += per_task if child.exitcode == 0 else 0
    elif kind == "pool":
        pool = context.Pool(2)
        done = sum(pool.starmap(work, [(task, per_task) for task in range(tasks)]))
        pool.close()
        pool.join()
    elif kind == "pool_with":
        with context.Pool(2) as pool:
            done = sum(pool.starmap(work, [(task, per_task) for task in range(tasks)]))
    elif kind == "executor":
        with ProcessPoolExecutor(2, mp_context=context) as executor:
            done = sum(executor.map(work, range(tasks), [per_task] * tasks))
    print(f"DONE {done}", flush=True)


if __name__ == "__main__":
    main()
