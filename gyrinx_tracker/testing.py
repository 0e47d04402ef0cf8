"""Capture tracked events in tests, as plain data: ``with capture_events() as captured: ...``.

The public path of ``gyrinx_tracker._integrations.testing``, where the implementation and its reasons live.
"""

from gyrinx_tracker._integrations.testing import (
    Capture,
    CapturedEvent,
    MetricLabelError,
    MetricPoint,
    Tracked,
    capture_events,
)

__all__ = ["Capture", "CapturedEvent", "MetricLabelError", "MetricPoint", "Tracked", "capture_events"]
