"""The Django middleware in a real Django project (tests/django_app), through Django's full handler."""

from __future__ import annotations

import os
from collections.abc import Iterator

import django
import pytest
from django.test import Client
from opentelemetry.sdk.trace import TracerProvider

from gyrinx_tracker.testing import Capture, capture_events

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"


@pytest.fixture(scope="module")
def client() -> Client:
    """A Django test client for the test project (settings configured once per process)."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.django_app.settings")
    django.setup()
    return Client()


@pytest.fixture
def captured() -> Iterator[Capture]:
    """Non-strict capture: views may pass bad input, which must be salvaged, not raised."""
    with capture_events(strict=False) as capture:
        yield capture


class TestTraceCorrelation:
    def test_events_in_a_view_carry_the_traceparent_of_the_request(self, client: Client, captured: Capture) -> None:
        """A W3C traceparent header becomes the trace of every event tracked while handling the request."""
        response = client.get("/api/v1/fighters/7", headers={"traceparent": f"00-{TRACE_ID}-00f067aa0ba902b7-01"})
        assert response.status_code == 200
        api_call = next(e for e in captured.events if e.event == "api_call")
        assert (api_call.trace_id, api_call.span_id, api_call.trace_sampled) == (TRACE_ID, "00f067aa0ba902b7", True)

    def test_cloud_run_trace_header_is_understood(self, client: Client, captured: Capture) -> None:
        """X-Cloud-Trace-Context (TRACE/decimal SPAN;o=1), as Cloud Run sends it, also correlates."""
        client.get("/api/v1/fighters/7", headers={"x-cloud-trace-context": f"{TRACE_ID}/12345;o=1"})
        api_call = next(e for e in captured.events if e.event == "api_call")
        assert (api_call.trace_id, api_call.span_id) == (TRACE_ID, f"{12345:016x}")

    def test_the_apps_own_span_wins(self, client: Client, captured: Capture) -> None:
        """When the app's instrumentation already made a span current, its ids are used, not the header's."""
        tracer = TracerProvider().get_tracer("app")
        with tracer.start_as_current_span("django-request") as span:
            client.get("/api/v1/fighters/7", headers={"traceparent": f"00-{TRACE_ID}-00f067aa0ba902b7-01"})
        api_call = next(e for e in captured.events if e.event == "api_call")
        assert api_call.trace_id == f"{span.get_span_context().trace_id:032x}"


class TestViews:
    def test_model_like_labels_secrets_and_the_request_event(self, client: Client, captured: Capture) -> None:
        """Objects become str(id), secrets are redacted, and one http_request event times the request by route."""
        client.get("/api/v1/fighters/7?password=hunter2")
        by_name = {e.event: e for e in captured.events}
        assert by_name["api_call"].labels["fighter"] == "7"
        assert by_name["api_call"].labels["password"] == "[REDACTED]"
        request = by_name["http_request"]
        assert request.labels == {"route": "api/v1/fighters/<int:fighter_id>", "method": "GET", "status": 200}
        assert request.value is not None and request.value > 0
        assert "hunter2" not in repr(captured.events)

    def test_bad_input_in_a_view_never_becomes_a_500(self, client: Client, captured: Capture) -> None:
        """track() with an invalid n inside a view is salvaged; the response is the view's own."""
        response = client.get("/broken")
        assert (response.status_code, response.content) == (200, b"still fine")
        assert [e.n for e in captured.events if e.event == "about_to_fail"] == [0]


class TestStreamedResponses:
    def test_a_streamed_bodys_events_keep_the_trace_and_a_file_response_its_file(self, client: Client,
                                                                              captured: Capture) -> None:
        """StreamingHttpResponse content is made in the request's trace; a FileResponse is passed on as it is,
        so the server's wsgi.file_wrapper can still send the file."""
        import io

        from django.http import FileResponse, StreamingHttpResponse
        from django.test import RequestFactory

        from gyrinx_tracker import track
        from gyrinx_tracker.django import TrackerMiddleware

        def chunks() -> Iterator[bytes]:
            for index in range(3):
                track("chunk", index=index)
                yield b"x"

        request = RequestFactory().get("/", headers={"traceparent": f"00-{TRACE_ID}-00f067aa0ba902b7-01"})
        response = TrackerMiddleware(lambda r: StreamingHttpResponse(chunks()))(request)
        assert b"".join(response.streaming_content) == b"xxx"
        assert [(e.event, e.trace_id) for e in captured.events if e.event == "chunk"] == [("chunk", TRACE_ID)] * 3

        file = io.BytesIO(b"data")
        served = TrackerMiddleware(lambda r: FileResponse(file))(RequestFactory().get("/"))
        assert served.file_to_stream is file
