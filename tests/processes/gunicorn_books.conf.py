"""examples/gunicorn.conf.py as shipped, plus: each process writes its books when it exits."""

import json
import os
from pathlib import Path

import gyrinx_tracker

_example = Path(__file__).parent.parent.parent / "examples" / "gunicorn.conf.py"
exec(compile(_example.read_text(), str(_example), "exec"))
_shipped_worker_exit, _shipped_on_exit = worker_exit, on_exit  # noqa: F821 - defined by the example


def _write_books(role: str) -> None:
    books = {"role": role, "pid": os.getpid(), **gyrinx_tracker.stats()}
    (Path(os.environ["BOOKS_DIR"]) / f"{role}-{os.getpid()}.json").write_text(json.dumps(books))


def worker_exit(server: object, worker: object) -> None:
    _shipped_worker_exit(server, worker)
    _write_books("worker")


def on_exit(server: object) -> None:
    _shipped_on_exit(server)
    _write_books("master")
