"""Input that used to cost the caller, the memory or a secret: labels named like parameters,
values whose conversion has no bound or a side effect, warnings that quoted what they were given.

Every case runs through the real pipeline (``capture_events``); work is measured as memory the
call allocated (``tracemalloc``) and calls counted on real objects, never as time.
"""

from __future__ import annotations

import json
import logging
import tracemalloc
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import gyrinx_tracker
from gyrinx_tracker import track as _typed_track
from gyrinx_tracker.testing import Capture, CapturedEvent, capture_events

# Wrong argument types are part of the point, so calls are not type-checked here.
track: Callable[..., None] = _typed_track
SECRET = "hunter2-s3cr3t"


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


class TestLabelsNamedLikeParameters:
    def test_a_label_may_be_called_event(self, lenient: Capture) -> None:
        """``event`` is positional-only: ``event="push"`` is a label, not a second event name."""
        track("webhook_received", event="push")
        event = only(lenient)
        assert (event.event, event.labels) == ("webhook_received", {"event": "push"})

    def test_captures_can_be_asked_about_a_label_called_event(self, lenient: Capture) -> None:
        """The testing helpers take the event positionally too, so they can match that label."""
        from gyrinx_tracker.testing import Tracked

        track("webhook_received", event="push")
        tracked = Tracked(lenient)
        tracked.assert_tracked("webhook_received", event="push")
        tracked.assert_not_tracked("webhook_received", event="pull")
        assert lenient.count("webhook_received") == 1
