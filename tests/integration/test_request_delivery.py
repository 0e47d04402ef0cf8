"""Django's ASGI app of the test project (tests/django_app), in process behind the generic ASGI
middleware and through Django's async client: the trace reaches the async view and the final body
waits for the events (the middlewares driven directly are tests/unit/test_request_delivery.py)."""

from __future__ import annotations

import asyncio
import os
from typing import Any

import django
import pytest
from asgiref.sync import iscoroutinefunction

from gyrinx_tracker import asgi
from gyrinx_tracker.testing import Capture
from tests.helpers.request_delivery import TRACE_ID, TRACEPARENT, run_asgi

pytest_plugins = ("tests.helpers.request_delivery",)  # the captured fixture


class TestDjangoAsync:
    @pytest.fixture(autouse=True)
    def _django(self) -> None:
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.django_app.settings")
        django.setup()

    def test_the_middleware_is_async_when_the_chain_is(self) -> None:
        """Under ASGI with an async chain Django gets a coroutine function, so no thread switch is added."""
        from gyrinx_tracker.django import TrackerMiddleware

        async def async_chain(request: Any) -> Any:
            return None

        assert TrackerMiddleware.sync_capable and TrackerMiddleware.async_capable
        assert iscoroutinefunction(TrackerMiddleware(async_chain))
        assert not iscoroutinefunction(TrackerMiddleware(lambda request: None))

    def test_djangos_asgi_app_behind_the_generic_asgi_middleware(self, captured: Capture) -> None:
        """asgi.TrackerMiddleware around Django's ASGI application: the trace reaches the async view, the
        final body waits for the events, and Django's own middleware adds no second context."""
        from django.core.asgi import get_asgi_application

        app = asgi.TrackerMiddleware(get_asgi_application(), request_event="asgi_request")
        sent = run_asgi(app, {"traceparent": TRACEPARENT}, path="/async/fighters/3")
        by_name = {e.event: e for e in captured.events}
        assert set(by_name) == {"api_call", "http_request", "asgi_request"}
        assert {e.trace_id for e in by_name.values()} == {TRACE_ID}
        assert sent[-1] == ("http.response.body", 3)

    def test_an_async_view_through_the_async_client_is_correlated(self, captured: Capture) -> None:
        """Django's AsyncClient runs the ASGI handler: the async view's event carries the traceparent."""
        from django.test import AsyncClient

        response = asyncio.run(AsyncClient().get("/async/fighters/3", headers={"traceparent": TRACEPARENT}))
        assert response.status_code == 200
        (api_call,) = [e for e in captured.events if e.event == "api_call"]
        assert (api_call.trace_id, api_call.labels["view"]) == (TRACE_ID, "async")
