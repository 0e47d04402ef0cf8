"""What the input tests share: the real pipeline into memory, the tracker's own warnings, and
two readers of them (the fixtures are registered by ``tests/conftest.py``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

import gyrinx_tracker
from gyrinx_tracker.testing import Capture, CapturedEvent, capture_events


@pytest.fixture
def lenient() -> Iterator[Capture]:
    """The real pipeline into memory, in the default (non-strict) mode an application runs in."""
    with capture_events(strict=False) as captured:
        yield captured


@pytest.fixture
def warnings(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """The tracker's own warnings (logger ``gyrinx_tracker``), whatever thread logged them."""
    caplog.set_level(logging.WARNING, logger="gyrinx_tracker")
    return caplog


def only(captured: Capture) -> CapturedEvent:
    """The one event exported so far, after checking nothing was dropped on the way."""
    (event,) = captured.events
    assert gyrinx_tracker.stats()["dropped"] == 0
    return event


def ours(caplog: pytest.LogCaptureFixture) -> list[str]:
    """The messages the tracker logged about itself."""
    return [record.getMessage() for record in caplog.records if record.name == "gyrinx_tracker"]
