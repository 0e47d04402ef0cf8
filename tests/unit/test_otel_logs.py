"""The direct record path builds exactly what the SDK's Logger.emit builds (see RecordBuilder)."""

from __future__ import annotations

from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.context import Context, get_current
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider

from gyrinx_tracker._signals.otel_logs import Collector, RecordBuilder, make_record, private_logger_provider

BODY = {"event": "api_call", "n": 1, "value": 1.5, "labels": {"endpoint": "/a"}}


def _fields(record: Any) -> dict[str, Any]:
    log = dict(vars(record.log_record))
    log.pop("observed_timestamp")  # the time of emission: differs by nanoseconds
    attributes = log.pop("attributes")
    return {"log": log, "attributes": dict(attributes), "dropped": record.dropped_attributes,
            "resource": record.resource, "scope": record.instrumentation_scope, "limits": record.limits,
            "record_type": type(record), "log_type": type(record.log_record)}


def _both(context: Context) -> tuple[dict[str, Any], dict[str, Any]]:
    collector = Collector()
    provider = private_logger_provider(Resource({"service.name": "t"}), collector)
    logger = provider.get_logger("gyrinx_tracker", "1")
    logger.emit(make_record(123, context, BODY, None, "api_call"))
    RecordBuilder(logger, collector).emit(123, context, BODY, "api_call")
    sdk, direct = collector.take()
    return _fields(sdk), _fields(direct)


class TestRecordBuilder:
    def test_records_equal_the_sdks_without_a_span(self) -> None:
        """With an empty call-site context, every field matches Logger.emit's record."""
        sdk, direct = _both(Context())
        assert direct == sdk
        assert direct["log"]["trace_id"] == 0

    def test_records_equal_the_sdks_inside_a_span(self) -> None:
        """With a span current at the call site, trace id, span id and flags match too."""
        tracer = TracerProvider().get_tracer("t")
        with tracer.start_as_current_span("request") as span:
            sdk, direct = _both(get_current())
        assert direct == sdk
        assert direct["log"]["span_id"] == span.get_span_context().span_id

    @pytest.mark.parametrize("name", ["severity_number", "severity_text", "event_name", "body", "exception"])
    def test_each_api_field_is_set(self, name: str) -> None:
        """Every attribute LogRecord.__init__ sets exists on the direct record (a new SDK field would fail here)."""
        sdk, direct = _both(trace.set_span_in_context(trace.INVALID_SPAN))
        assert name in direct["log"] and set(direct["log"]) == set(sdk["log"])
