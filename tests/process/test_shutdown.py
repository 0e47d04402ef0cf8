"""One shutdown deadline for exit and SIGTERM, with exact books, in real subprocesses.

Every order of SIGTERM handler installation (tests/processes/sigterm_child.py) meets each of the
two network outputs (the Cloud Logging API and OTLP) either down (a closed loopback port:
connection refused, retried) or hung (a loopback port that accepts connections and never
answers). The child must exit inside Cloud Run's grace, with books that account for every event
tracked.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHILD = str(Path(__file__).parents[1] / "processes" / "sigterm_child.py")
EVENTS = 2_000
GRACE = 9.0  # Cloud Run kills at 10 s; the default deadline is 5 s
LOST = re.compile(r"gyrinx_tracker: dropped (\d+) events not exported by the (\w+) deadline \(([^)]*)\)")
SIGNAL_BOOKS = re.compile(r"of (\d+) tracked, (\d+) exported, (\d+) dropped before")


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GYRINX_TRACKER_", "OTEL_", "K_"))}
    env.pop("GOOGLE_CLOUD_PROJECT", None)
    return {**env, "PYTHONPATH": str(Path(__file__).parents[2]), **extra}


@pytest.fixture
def black_hole() -> Iterator[int]:
    """A loopback port whose connections are accepted by the kernel and never answered."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        yield listener.getsockname()[1]


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _fault_env(fault: str, hole: int) -> dict[str, str]:
    """The child's environment: ``api_down``, ``api_hung``, ``otlp_down`` or ``otlp_hung``.

    Each retries longer than the deadline (EXPORT_TIMEOUT 30 s): with requests sent concurrently,
    a shorter export timeout could fail every batch before the deadline and leave nothing to give up.
    """
    output, state = fault.split("_")
    port = _closed_port() if state == "down" else hole
    if output == "api":
        return _env(GOOGLE_CLOUD_PROJECT="proj", GYRINX_TRACKER_GCP_METRICS="false",
                    GYRINX_TRACKER_EXPORT_TIMEOUT="30",
                    GYRINX_TRACKER_CLOUD_LOGGING_ENDPOINT=f"127.0.0.1:{port}")
    return _env(GYRINX_TRACKER_EXPORTER="otlp", GYRINX_TRACKER_EXPORT_TIMEOUT="30",
                OTEL_EXPORTER_OTLP_ENDPOINT=f"http://127.0.0.1:{port}", OTEL_EXPORTER_OTLP_INSECURE="true")


def _terminate(order: str, env: dict[str, str]) -> tuple[subprocess.CompletedProcess[str], float]:
    """Start the child, SIGTERM it once it has tracked, return its result and seconds to exit."""
    process = subprocess.Popen([sys.executable, CHILD, order, str(EVENTS)], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    assert process.stdout is not None and process.stdin is not None
    assert process.stdout.readline().strip() == "READY"
    time.sleep(0.5)  # the exporter is now stuck in its first export
    started = time.monotonic()
    process.send_signal(signal.SIGTERM)
    if order == "ignore":  # the app ignores SIGTERM and ends on its own
        time.sleep(0.5)
        assert process.poll() is None, "SIG_IGN must be kept"
        started = time.monotonic()
    stdout, stderr = process.communicate(input="" if order == "ignore" else None, timeout=60)
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr), time.monotonic() - started


def _books(stdout: str) -> dict[str, Any]:
    lines = [line for line in stdout.splitlines() if line.startswith("BOOKS ")]
    assert len(lines) == 1, stdout
    books: dict[str, Any] = json.loads(lines[0][len("BOOKS "):])
    return books


class TestOneDeadline:
    @pytest.mark.slow
    @pytest.mark.parametrize("fault", ["api_down", "api_hung", "otlp_down", "otlp_hung"])
    @pytest.mark.parametrize("order", ["default", "app_first", "app_chains", "app_replaces", "ignore"])
    def test_the_child_exits_inside_the_grace_with_complete_books(self, order: str, fault: str,
                                                                   black_hole: int) -> None:
        """Whoever handles SIGTERM and however the exporter fails, exit comes inside the grace and every event is accounted for."""
        result, seconds = _terminate(order, _fault_env(fault, black_hole))
        assert seconds < GRACE, (seconds, result.stderr[-2000:])
        lost = LOST.findall(result.stderr)
        assert len(lost) == 1, result.stderr[-2000:]  # one line on the way out, not one per batch
        count, when, detail = int(lost[0][0]), lost[0][1], lost[0][2]
        if result.returncode == -signal.SIGTERM:  # died by the signal: no exit hook ran, the line is the account
            assert order in ("default", "app_chains") and when == "SIGTERM"
            emitted, exported, dropped = map(int, SIGNAL_BOOKS.findall(detail)[0])
            assert (emitted, exported) == (EVENTS, 0)
            assert dropped + count == EVENTS
            return
        assert result.returncode == (0 if order == "ignore" else 3), result.stderr[-2000:]
        books = _books(result.stdout)
        assert (books["emitted"], books["exported"], books["queued"], books["in_flight"]) == (EVENTS, 0, 0, 0)
        assert books["dropped"] == EVENTS
        assert books["dropped_by_reason"]["shutdown_timeout"] == count > 0


class TestAppHandlerNotDelayed:
    def test_the_apps_handler_runs_within_the_signal_flush_bound(self, black_hole: int) -> None:
        """With the exporter hung, an app handler installed before the tracker runs after the short signal flush, not the whole deadline."""
        env = _fault_env("otlp_hung", black_hole)
        env["GYRINX_TRACKER_SIGTERM_FLUSH_TIMEOUT"] = "0.5"
        env["GYRINX_TRACKER_SHUTDOWN_TIMEOUT"] = "60"  # a bound the app handler's start must not follow
        process = subprocess.Popen([sys.executable, CHILD, "app_first", "50"], stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True, env=env)
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "READY"
        time.sleep(0.5)
        started = time.monotonic()
        process.send_signal(signal.SIGTERM)
        line = process.stdout.readline().strip()
        handler_after = time.monotonic() - started
        process.kill()
        process.communicate(timeout=30)
        assert line == "APP HANDLER"
        assert handler_after < 30, handler_after  # 0.5 s configured; the old code flushed for the whole deadline


EXIT_SCRIPT = f"""
import atexit, json
atexit.register(lambda: print("BOOKS " + json.dumps(gyrinx_tracker.stats()), flush=True))  # runs after ours
import gyrinx_tracker
for index in range({EVENTS}):
    gyrinx_tracker.track("at_exit", index=index)
"""


class TestExitBooks:
    def test_events_left_at_exit_are_counted_and_reported_once(self, black_hole: int) -> None:
        """A script that ends with its exporter hung counts what it could not export and says so in one line."""
        env = _fault_env("otlp_hung", black_hole)
        env["GYRINX_TRACKER_SHUTDOWN_TIMEOUT"] = "2"
        started = time.monotonic()
        result = subprocess.run([sys.executable, "-c", EXIT_SCRIPT], capture_output=True, text=True, timeout=60, env=env)
        seconds = time.monotonic() - started
        assert result.returncode == 0, result.stderr[-2000:]
        books = _books(result.stdout)
        lost = LOST.findall(result.stderr)
        assert len(lost) == 1 and lost[0][1] == "exit", result.stderr[-2000:]
        assert (books["emitted"], books["queued"], books["in_flight"]) == (EVENTS, 0, 0)
        assert books["exported"] + books["dropped"] == EVENTS
        assert books["dropped_by_reason"]["shutdown_timeout"] == int(lost[0][0])
        assert seconds < GRACE


THREAD_FIRST = f"""
import threading, time
import gyrinx_tracker

def work():
    for index in range({EVENTS}):
        gyrinx_tracker.track("from_a_thread", index=index)

thread = threading.Thread(target=work)
thread.start()
thread.join()
print("READY", flush=True)
time.sleep(60)
"""


class TestSigtermInstalledOffTheMainThread:
    def test_sigterm_flushes_when_the_first_track_ran_on_another_thread(self) -> None:
        """The handler is installed at import on the main thread, so a first track() on a request thread still gets flushed at SIGTERM."""
        process = subprocess.Popen([sys.executable, "-c", THREAD_FIRST], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   text=True, env=_env(GYRINX_TRACKER_FLUSH_INTERVAL="60", GYRINX_TRACKER_BATCH_SIZE="100000"))
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "READY"
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=60)
        assert process.returncode == -signal.SIGTERM
        events = [line for line in stderr.splitlines() if line.startswith('{"event":"from_a_thread"')]
        assert len(events) == EVENTS, stderr[-2000:]

    def test_a_module_imported_off_the_main_thread_installs_at_the_next_main_thread_call(self) -> None:
        """Imported on a thread (no handler possible there), the handler is installed by the next flush() on the main thread."""
        script = """
import signal, threading
threading.Thread(target=lambda: __import__("gyrinx_tracker").track("on_thread")).start()
import time; time.sleep(0.5)
import gyrinx_tracker
before = signal.getsignal(signal.SIGTERM)
gyrinx_tracker.flush(5)
print(before is signal.SIG_DFL, signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL)
"""
        result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, env=_env())
        assert result.returncode == 0, result.stderr
        assert result.stdout.split() == ["True", "True"]


HOLD_EVERY_LOCK = """
import os, signal, threading, time
import gyrinx_tracker
from gyrinx_tracker import _api, _diagnostics, _guard
from gyrinx_tracker._pipeline import process as _lifecycle
from gyrinx_tracker._pipeline import forksafe as _forksafe

gyrinx_tracker.configure(flush_interval=60.0)
for index in range(100):
    gyrinx_tracker.track("held", index=index)
gyrinx_tracker.flush(5)
for index in range(100):
    gyrinx_tracker.track("held", index=index)

LOCKS = (type(threading.Lock()), type(threading.RLock()))

def locks_of(thing):
    for value in list(vars(thing).values()):
        if isinstance(value, LOCKS):
            yield value
        elif isinstance(value, threading.Condition):
            yield value
        elif isinstance(value, threading.Event):
            yield value._cond

pipeline = _api._pipeline
# the pipeline's own, its worker's (the start and drain locks), and its books'
held = [*locks_of(pipeline), *locks_of(pipeline._worker), *locks_of(pipeline.stats)]
held += [_api._install_lock, _diagnostics.LIMIT._lock, _guard._lock, _lifecycle._lock, _forksafe._state]
for lock in held:
    lock.acquire()
print("HOLDING", len(held), flush=True)
os.kill(os.getpid(), signal.SIGTERM)   # the handler runs here, on this thread, while it holds them all
time.sleep(30)
print("NOT KILLED", flush=True)
"""


class TestSignalPathTakesNoLock:
    def test_sigterm_while_the_main_thread_holds_every_tracker_lock_still_exits(self) -> None:
        """The handler runs on a main thread that holds every lock of the tracker, and the process still exits by the signal."""
        started = time.monotonic()
        result = subprocess.run([sys.executable, "-c", HOLD_EVERY_LOCK], capture_output=True, text=True, timeout=60,
                                env=_env(GYRINX_TRACKER_SIGTERM_FLUSH_TIMEOUT="1", GYRINX_TRACKER_SHUTDOWN_TIMEOUT="2"))
        assert "HOLDING" in result.stdout, result.stderr
        assert result.returncode == -signal.SIGTERM, result.stdout + result.stderr[-2000:]
        assert time.monotonic() - started < 30

    @pytest.mark.slow
    def test_sigterm_during_a_flush_loop_never_deadlocks(self) -> None:
        """SIGTERM lands at random points of a main thread that tracks and flushes in a loop; every child exits by the signal."""
        script = """
import time, gyrinx_tracker
gyrinx_tracker.configure(flush_interval=60.0)
print("READY", flush=True)
while True:
    gyrinx_tracker.track("looping")
    gyrinx_tracker.flush(0.5)
    gyrinx_tracker.stats()
"""
        for attempt in range(8):
            with subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True, env=_env()) as process:
                assert process.stdout is not None
                assert process.stdout.readline().strip() == "READY"
                time.sleep(0.2 + 0.05 * attempt)
                process.send_signal(signal.SIGTERM)
                try:
                    _, stderr = process.communicate(timeout=30)
                finally:
                    process.kill()
            assert process.returncode == -signal.SIGTERM, (attempt, process.returncode, stderr[-2000:])
