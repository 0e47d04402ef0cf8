"""What the request delivery tests share (tests/unit/test_request_delivery.py, and Django's ASGI app in
tests/integration/test_request_delivery.py): the trace, the capture and an ASGI server's calls.

Both modules load it with ``pytest_plugins``, which makes ``captured`` a fixture for them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

import gyrinx_tracker
from gyrinx_tracker.testing import Capture, capture_events

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
TRACEPARENT = f"00-{TRACE_ID}-00f067aa0ba902b7-01"


@pytest.fixture
def captured() -> Iterator[Capture]:
    with capture_events(flush_interval=60.0) as capture:
        yield capture


def exported() -> int:
    return gyrinx_tracker.stats()["exported"]


def run_asgi(app: Any, headers: dict[str, str] | None = None, path: str = "/") -> list[tuple[str, int]]:
    """Serve one request as an ASGI server would; (message type, events exported when it was sent)."""
    sent: list[tuple[str, int]] = []
    scope = {"type": "http", "method": "GET", "path": path, "query_string": b"",
             "headers": [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]}

    received: list[str] = []

    async def receive() -> dict[str, Any]:
        if not received:  # the request, then (as a server does) a disconnect once the response is done
            received.append("request")
            return {"type": "http.request", "body": b"", "more_body": False}
        while not sent or sent[-1][0] != "http.response.body":
            await asyncio.sleep(0.001)
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append((message["type"], exported()))

    asyncio.run(app(scope, receive, send))
    return sent
