"""Request handlers: correct calls, and a few that break the catalogue on purpose."""

from __future__ import annotations

from typing import Any

import gyrinx_tracker as tracker
from gyrinx_tracker import track


def fighters(request: Any) -> None:
    track("api_call", endpoint="/api/v1/fighters", method="GET", status=200)
    track("api_call", endpoint="/api/v1/lists", method="GET")  # status is required
    track("user_login", method="password", remember=True)  # no such label


def report(duration_ms: float, **labels: Any) -> None:
    tracker.track("operation_duration", value=duration_ms, operation="generate_report")
    tracker.track("api_call", **labels)  # labels unknown here: not checked
    tracker.track("feature_usd", feature="export")  # a typo
