"""The batch log encoder sends exactly what the official OTLP encoder sends, message for message.

The tracker's own records, through the real OTLP output, are tests/integration/test_otlp_logs.py.
"""

from __future__ import annotations

from typing import Any

import pytest
from opentelemetry.exporter.otlp.proto.common._log_encoder import encode_logs
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider

from gyrinx_tracker._outputs.otlp.logs import encode_batch


def _records(batches: list[tuple[Resource, str, list[dict[str, Any]]]]) -> list[Any]:
    """Records as the SDK makes them, from several providers (resources) and loggers (scopes), interleaved."""
    exporter = InMemoryLogRecordExporter()
    loggers = []
    for resource, scope, _ in batches:
        provider = LoggerProvider(resource=resource)
        provider.add_log_record_processor(SimpleLogRecordProcessor(exporter))
        loggers.append(provider.get_logger(scope, "1.0"))
    tracer = TracerProvider().get_tracer("t")
    for index in range(max(len(bodies) for *_, bodies in batches)):
        for logger, (_, _, bodies) in zip(loggers, batches, strict=True):
            if index < len(bodies):
                with tracer.start_as_current_span("s"):
                    logger.emit(body=bodies[index], attributes={"gyrinx.event": "e", "gyrinx.label.k": index,
                                                                "ratio": 0.5, "ok": True}, event_name="e")
    return list(exporter.get_finished_logs())


BODY = {"event": "api_call", "n": 2, "value": 1.5, "labels": {"endpoint": "/a", "nested": {"x": [1, "y"]}}}


class TestEncoding:
    @pytest.mark.parametrize("batches", [
        [(Resource({"service.name": "web"}), "gyrinx_tracker", [BODY] * 5)],
        [(Resource({"service.name": "web"}), "a", [BODY] * 3), (Resource({"service.name": "web"}), "b", [BODY] * 2)],
        [(Resource({"service.name": "web"}), "a", [BODY] * 3), (Resource({"service.name": "other"}), "a", [BODY] * 4),
         (Resource({"service.name": "web"}), "a", [{"event": "x", "n": 1, "labels": {}}] * 2)],
    ], ids=["one resource and scope", "two scopes", "equal resources from distinct providers merge"])
    def test_the_request_equals_the_official_encoders(self, batches: list[tuple[Resource, str, list[dict[str, Any]]]]) -> None:
        """Same resource logs, scope logs and records, in the same order, as encode_logs."""
        records = _records(batches)
        assert encode_batch(records) == encode_logs(records)
        assert encode_batch(records).SerializeToString(deterministic=True) == encode_logs(records).SerializeToString(
            deterministic=True)

    def test_an_empty_batch(self) -> None:
        """No records, no resource logs, as the official encoder."""
        assert encode_batch([]) == encode_logs([])
