"""Shared fixtures: every test starts with no tracker pipeline, a fresh warning history and no guard counts."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from gyrinx_tracker import _api, _diagnostics, _guard

# A project of its own, run in a subprocess by test_pytest_plugin.py (where the plugin is on).
collect_ignore = ["original_project"]
# The input tests' fixtures and readers; registered here so the module is loaded (and its asserts
# rewritten) before test_validation and test_hostile_input import its readers.
pytest_plugins = ("tests.tracked_input",)


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
    _diagnostics.reset()
    _guard.reset()  # the guard's counts are process-wide: one test's caught errors must not leak
    logging.getLogger("gyrinx.tracker").handlers.clear()
