"""The pytest plugin: tests see tracked events synchronously, isolated, and never on the network.

Registered through the ``pytest11`` entry point, so it is active wherever the package is
installed; ``-p no:gyrinx_tracker`` turns it off, and so does ``gyrinx_tracker = off`` in the
pytest ini options (then only the ``tracked`` fixture is added). Production is untouched: nothing
here runs outside pytest.

What it changes while tests run (``gyrinx_tracker = sync``, the default):

* delivery is synchronous: the ``gyrinx.tracker`` record is handled before ``track()`` returns, so
  ``caplog`` sees it, as it saw the original tracker's ``logger.info``;
* outputs are local (JSON through ``gyrinx.tracker``) unless a test asks otherwise, with
  ``GYRINX_TRACKER_EXPORTER`` or ``configure()``, without the local metric lines; the SIGTERM
  handler is left to pytest;
* after each test anything a test queued (with its own ``delivery="background"``) is flushed, the
  configuration a test chose (``configure()``, or ``GYRINX_TRACKER_*`` through ``monkeypatch``) is
  undone, and the rate-limited warnings start afresh: every test starts from the same
  configuration, and nothing of one test shows up in the next.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from gyrinx_tracker import _api, _diagnostics
from gyrinx_tracker._integrations.testing import Tracked, capture_events

# Local metric lines stay off: a flush would print them among the events caplog collects, and the
# tracked fixture answers metric questions exactly.
TEST_DEFAULTS: dict[str, object] = {"delivery": "sync", "exporter": "console", "handle_sigterm": False,
                                    "local_metrics": False}
_MODES = ("sync", "off")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini("gyrinx_tracker", "gyrinx_tracker's plugin: 'sync' (synchronous, local, isolated "
                  "delivery while tests run) or 'off' (only the tracked fixture)", default="sync")


def pytest_configure(config: pytest.Config) -> None:
    if _mode(config) == "sync":
        _api.set_defaults(TEST_DEFAULTS)
        _api.reset()  # a pipeline made before the session (at import) gets the test defaults


def pytest_unconfigure(config: pytest.Config) -> None:
    if _mode(config) == "sync":
        _api.set_defaults({})


@pytest.fixture(autouse=True)
def _gyrinx_tracker_isolation(request: pytest.FixtureRequest) -> Iterator[None]:
    """Each test starts with a fresh warning history and leaves nothing queued behind."""
    if _mode(request.config) != "sync":
        yield
        return
    _diagnostics.reset()
    yield
    _api.flush(5.0)
    _restore_configuration()


def _restore_configuration() -> None:
    """Undo a ``configure()`` (or an environment variable) of the test that just ended.

    The next test must start where every test starts: a test that called
    ``configure(exporter="none")`` would otherwise silence ``caplog`` in every later test. Only a
    configuration that differs from the defaults is reset, so the common test that merely tracks
    keeps its pipeline (and pays no rebuild). Runs after ``monkeypatch`` has restored the
    environment (autouse fixtures are torn down last), so the defaults are the session's.
    """
    config = _api.current_config()
    if config is not None and config != _api.default_config():
        _api.reset()


@pytest.fixture
def tracked() -> Iterator[Tracked]:
    """What the test tracked, as events, counters and histograms (see ``gyrinx_tracker.testing``)."""
    with capture_events() as capture:
        yield Tracked(capture)


def _mode(config: pytest.Config) -> str:
    mode = str(config.getini("gyrinx_tracker")).strip().lower()
    if mode not in _MODES:
        raise pytest.UsageError(f"gyrinx_tracker = {mode!r}: expected one of {', '.join(_MODES)}")
    return mode
