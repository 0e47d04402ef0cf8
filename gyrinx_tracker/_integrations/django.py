"""Django integration: trace correlation, the optional request event, request-scoped delivery.

Add ``"gyrinx_tracker.django.TrackerMiddleware"`` near the top of ``MIDDLEWARE``. It is sync and
async capable (Django runs it without a thread switch under WSGI and ASGI alike).

* Trace correlation. When no span is current (the app has no OpenTelemetry instrumentation of
  its own), events tracked while the view runs and while a ``StreamingHttpResponse`` is sent carry
  the request's ``traceparent`` or ``X-Cloud-Trace-Context``. It is a fallback for events only,
  never a current span, so the app's spans are as without the tracker. With
  ``opentelemetry-instrumentation-django`` (its middleware goes first) the events, the request
  event and a streamed body's events are on its SERVER span.
* Request events. With ``GYRINX_TRACKER_REQUEST_EVENT = "http_request"`` in Django settings, each
  request is tracked once with ``value`` = duration in ms and labels ``route`` (the URL pattern,
  not the path, so metrics stay low-cardinality), ``method`` and ``status``. Off by default: an
  event per request is a cost decision, not a default.
* Request-scoped delivery. With ``before`` (the default of ``GYRINX_TRACKER_REQUEST_FLUSH``, a
  Django setting or the environment variable) the request's events are flushed when the view
  chain has returned, before Django hands the response to the server; with ``after``, on
  ``request_finished``, which Django sends when the server closes the response after its last
  chunk (WSGI and ASGI alike). A streamed body's events, with ``before``, are flushed once its
  content is exhausted, before the server ends the response. The wait is at
  most ``GYRINX_TRACKER_REQUEST_FLUSH_TIMEOUT`` seconds (setting or variable). Under ASGI, Django
  runs ``request_finished`` receivers on its thread for sync code: with ``after`` and the ``api``
  transport that wait holds sync views back; ``gyrinx_tracker.asgi.TrackerMiddleware`` around
  the ASGI application flushes on its own thread instead.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Iterator
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async

from gyrinx_tracker._integrations.propagation import context_from_headers
from gyrinx_tracker._integrations.request import RequestScope, deliver

Handler = Callable[[Any], Any]

_flush_timeout: float | None = None
_flush_when: str | None = None


class TrackerMiddleware:
    """New-style Django middleware, sync and async; see the module docstring."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Handler) -> None:
        from django.conf import settings
        from django.core.signals import request_finished

        global _flush_timeout, _flush_when
        self.get_response = get_response
        self.request_event: str | None = getattr(settings, "GYRINX_TRACKER_REQUEST_EVENT", None)
        _flush_timeout = getattr(settings, "GYRINX_TRACKER_REQUEST_FLUSH_TIMEOUT", None)
        _flush_when = getattr(settings, "GYRINX_TRACKER_REQUEST_FLUSH", None)
        request_finished.connect(_deliver, dispatch_uid="gyrinx_tracker.request_finished")
        self._async = iscoroutinefunction(get_response)
        if self._async:
            markcoroutinefunction(self)

    def __call__(self, request: Any) -> Any:
        if self._async:
            return self._acall(request)
        scope = self._scope(request)
        response = scope.run(lambda: self.get_response(request))
        scope.note_response()
        scope.record(_route(request), request.method, response.status_code)
        scope.deliver("response")
        return _streamed_in(scope, response)

    async def _acall(self, request: Any) -> Any:
        scope = self._scope(request)
        token = scope.attach()
        try:
            response = await self.get_response(request)
        finally:
            scope.detach(token)
        scope.note_response()
        scope.record(_route(request), request.method, response.status_code)
        await sync_to_async(scope.deliver, thread_sensitive=False)("response")
        return _streamed_in(scope, response)

    def _scope(self, request: Any) -> RequestScope:
        return RequestScope(dict(request.headers), self.request_event, _flush_timeout, _flush_when)


def _streamed_in(scope: RequestScope, response: Any) -> Any:
    """A streaming response's content, sent in the request's trace and, with ``before``, flushed
    when exhausted: Django iterates it after every middleware returned, when nothing of ours is
    current any more, and sends ``request_finished`` only after the server wrote the last chunk."""
    # A FileResponse keeps its file for the server's wsgi.file_wrapper (sendfile): replacing its
    # content would lose that, and reading a file tracks nothing.
    if getattr(response, "streaming", False) and getattr(response, "file_to_stream", None) is None:
        if getattr(response, "is_async", False):
            response.streaming_content = _async_chunks(scope, response.streaming_content)
        else:
            response.streaming_content = _chunks(scope, response.streaming_content)
    return response


def _chunks(scope: RequestScope, content: Iterable[Any]) -> Iterator[Any]:
    iterator = iter(content)
    while True:
        try:
            chunk = scope.run_in_response(lambda: next(iterator))
        except StopIteration:
            scope.deliver("response")
            return
        yield chunk


async def _async_chunks(scope: RequestScope, content: AsyncIterable[Any]) -> AsyncIterator[Any]:
    iterator = aiter(content)
    while True:
        token = scope.attach_response()
        try:
            chunk = await anext(iterator)
        except StopAsyncIteration:
            break
        finally:
            scope.detach(token)
        yield chunk
    await sync_to_async(scope.deliver, thread_sensitive=False)("response")


def _route(request: Any) -> str | None:
    return getattr(getattr(request, "resolver_match", None), "route", None) or None


def _deliver(sender: Any, **kwargs: Any) -> None:
    """``request_finished`` receiver: never raises (the server is closing the response)."""
    deliver("end", _flush_timeout, _flush_when)


__all__ = ["TrackerMiddleware", "context_from_headers"]
