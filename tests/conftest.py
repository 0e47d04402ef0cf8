"""Shared fixtures: every test starts with no tracker pipeline, a fresh warning history and no guard counts."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator

import pytest

from gyrinx_tracker import _api, _diagnostics, _guard

# A project of its own, run in a subprocess by tests/process/test_pytest_plugin.py (where the plugin is on).
collect_ignore = ["original_project"]
# The helpers shared by the halves of a module split by kind hold asserts that were in the test
# modules: rewritten as theirs were (registered before any test module imports them).
pytest.register_assert_rewrite("tests.helpers")
# The input tests' fixtures and readers; registered here so the module is loaded (and its asserts
# rewritten) before test_validation and test_hostile_input import its readers.
pytest_plugins = ("tests.tracked_input",)


THREAD_WAIT = 30.0  # seconds a test's leftover tracker threads get to end before the next test


def _await_tracker_threads() -> None:
    """Wait (bounded) for the threads a test's pipelines started: the worker and the senders.

    ``reset()`` returns at its shutdown deadline, as an application's exit would; a sender still
    inside a call to a hung or refusing server then finishes later, and its warning (or a late
    settle) would land in whichever test runs next.
    """
    deadline = time.monotonic() + THREAD_WAIT
    for thread in threading.enumerate():
        if thread.name.startswith("gyrinx-tracker") and thread is not threading.current_thread():
            thread.join(max(0.0, deadline - time.monotonic()))


@pytest.fixture(autouse=True)
def _fresh_tracker(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Reset global state and keep the developer's environment from steering the tracker."""
    for name in ("GYRINX_TRACKER_EXPORTER", "GOOGLE_CLOUD_PROJECT", "GCLOUD_PROJECT", "K_SERVICE",
                 "CLOUD_RUN_JOB", "OTEL_SERVICE_NAME", "OTEL_RESOURCE_ATTRIBUTES"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("GYRINX_TRACKER_HANDLE_SIGTERM", "false")
    _api.reset()
    _diagnostics.reset()
    _guard.reset()
    yield
    _api.reset()
    _await_tracker_threads()
    _diagnostics.reset()
    _guard.reset()  # the guard's counts are process-wide: one test's caught errors must not leak
    logging.getLogger("gyrinx.tracker").handlers.clear()
