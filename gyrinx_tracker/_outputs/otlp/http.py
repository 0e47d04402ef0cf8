"""OTLP/HTTP for logs: the request bytes ``wire`` wrote, POSTed as ``application/x-protobuf``.

The gRPC path sends ``wire``'s bytes through the official exporter with its stub's serializer
replaced (``logs``). The official HTTP log exporter has no such seam: it encodes SDK records itself
(``encode_logs(batch).SerializeToString()``) and the private method that posts the bytes changed
shape between 1.39 and 1.45. So this small transport, on public APIs only (``requests``, which the
official HTTP exporter brings), posts the same bytes: the same fast encoding for both protocols and
no private piece to probe. It does what the official exporter does: its settings (``settings``),
gzip or deflate, retries with exponential backoff and jitter on 429, 502, 503 and 504 until the
timeout, one retry of a connection the server closed while idle.
"""

from __future__ import annotations

import gzip
import random
import threading
import time
import zlib
from typing import Any

import requests

from gyrinx_tracker._diagnostics import warn_limited
from gyrinx_tracker._outputs.otlp.settings import HttpSettings
from gyrinx_tracker._signals.otel_logs import LogRecordExporter, LogRecordExportResult
from gyrinx_tracker._version import VERSION

RETRYABLE = frozenset({429, 502, 503, 504})  # as the official exporters' _is_retryable
MAX_ATTEMPTS = 6
_HEADERS = {"Content-Type": "application/x-protobuf", "User-Agent": f"gyrinx-tracker/{VERSION}"}


def compressed(payload: bytes, how: str) -> bytes:
    """The body for ``Content-Encoding: how``."""
    if how == "gzip":
        return gzip.compress(payload)
    if how == "deflate":
        return zlib.compress(payload)
    return payload


class HttpLogExporter(LogRecordExporter):
    """Posts written request bytes (``logs.EncodedLogs``, or anything with a ``payload``) to one
    OTLP/HTTP endpoint; an SDK log exporter, so ``WireLogWriter`` and its books take it as the gRPC one."""

    def __init__(self, settings: HttpSettings) -> None:
        self.settings = settings
        self._session = requests.Session()
        self._session.headers.update(_HEADERS)
        self._session.headers.update(settings.headers)
        if settings.compression != "none":
            self._session.headers["Content-Encoding"] = settings.compression
        self._closing = threading.Event()

    def export(self, batch: Any) -> LogRecordExportResult:
        if self._closing.is_set():
            return LogRecordExportResult.FAILURE
        return self.post(compressed(batch.payload, self.settings.compression))

    def post(self, body: bytes) -> LogRecordExportResult:
        """One request, retried while the receiver says it is busy and time remains."""
        deadline = time.monotonic() + self.settings.timeout
        for attempt in range(MAX_ATTEMPTS):
            status, reason = self._once(body, deadline - time.monotonic())
            if status is not None and 200 <= status < 300:
                return LogRecordExportResult.SUCCESS
            backoff = 2 ** attempt * random.uniform(0.8, 1.2)  # jitter, not secrets
            retry = status is None or status in RETRYABLE
            if not retry or backoff > deadline - time.monotonic() or self._closing.wait(backoff):
                break
        warn_limited(f"http:{status}", "gyrinx_tracker: OTLP/HTTP export to %s failed (%s); the batch "
                     "is counted as dropped", self.settings.endpoint, reason)
        return LogRecordExportResult.FAILURE

    def _once(self, body: bytes, timeout: float) -> tuple[int | None, str]:
        """(status, reason) of one POST; (None, the error) when no answer came."""
        try:
            try:
                response = self._post(body, timeout)
            except requests.ConnectionError:  # a kept-alive connection the server closed: once more
                response = self._post(body, timeout)
        except requests.RequestException as error:
            return None, repr(error)
        return response.status_code, f"HTTP {response.status_code} {response.reason}: {response.text[:200]}"

    def _post(self, body: bytes, timeout: float) -> Any:
        return self._session.post(self.settings.endpoint, data=body, timeout=max(timeout, 0.001),
                                  verify=self.settings.verify, cert=self.settings.client_cert)

    def force_flush(self, timeout_millis: int = 10_000) -> bool:  # nothing is buffered
        return True

    def shutdown(self) -> None:  # stops retries in progress
        self._closing.set()
        self._session.close()

