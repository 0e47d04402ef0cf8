"""How many of a streamed response's events are out when the client has the whole response (issue 24).

Not part of ``make bench`` (it counts, it does not time). For each stack of
tests/processes/span_apps.py (with and without the official instrumentation), under gunicorn or
uvicorn with ``GYRINX_TRACKER_REQUEST_FLUSH=before`` and the stdout transport: GET /stream (20
chunks, one ``chunk`` event each) with a fresh ``traceparent``, freeze the worker with SIGSTOP as
soon as the body was read (Cloud Run's throttling), count the ``chunk`` lines the pipe holds and
those carrying the request's trace.

    python -m benchmarks.streamed_delivery [RUNS]

Run from a checkout: the servers import ``gyrinx_tracker`` from it. To measure another revision,
copy its ``gyrinx_tracker`` beside this checkout's ``tests`` and ``benchmarks`` and run it there.
"""

from __future__ import annotations

import sys

from tests.webserver import STDOUT, Trace, clean_env, free_port, gunicorn, serve, uvicorn

APP = "tests.processes.span_apps:application"
CHUNKS = 20
STACKS = ["flask", "bare-flask", "wsgi", "bare-wsgi", "django", "bare-django", "django-asgi", "bare-django-asgi",
          "fastapi", "bare-fastapi", "asgi"]


def measure(stack: str, runs: int) -> tuple[int, int]:
    """(events at the receiver, of which with the request's trace) over ``runs`` streamed responses."""
    asgi = stack.removeprefix("bare-") in {"fastapi", "asgi", "django-asgi"}
    port = free_port()
    argv = uvicorn(APP, port) if asgi else gunicorn(APP, port, "--workers", "1")
    env = clean_env(SPAN_APP_STACK=stack, SPAN_APP_ORDER="inner" if "django" in stack else "outer",
                    SPAN_APP_SPANS="/dev/null", GYRINX_TRACKER_REQUEST_FLUSH="before", **STDOUT)
    arrived = traced = 0
    with serve(argv, env, port) as server:
        for _ in range(runs):
            trace = Trace("traceparent")
            server.get("/stream", trace.headers())
            worker = server.process.pid if asgi else server.worker_pids()[0]
            with server.frozen(worker):
                got = [e for e in server.drain() if e.get("event") == "chunk"]
            arrived += len(got)
            traced += len(trace.of(got))
            server.drain()  # what came after the thaw belongs to no run
    return arrived, traced


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    for stack in STACKS:
        arrived, traced = measure(stack, runs)
        print(f"{stack:18} at the receiver {arrived}/{CHUNKS * runs}, with the request's trace {traced}/{CHUNKS * runs}",
              flush=True)


if __name__ == "__main__":
    main()
