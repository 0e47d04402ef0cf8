"""The direct record path builds exactly what the SDK's Logger.emit builds (see RecordBuilder)."""

from __future__ import annotations

from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.context import Context, get_current
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider

from gyrinx_tracker._signals import otel_logs
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


def _builder_used() -> bool:
    logger = private_logger_provider(Resource({"service.name": "t"}), Collector()).get_logger("gyrinx_tracker", "1")
    return otel_logs.builder_available(logger)


# 1.39's Logger has neither the limits nor the public scope: RecordBuilder is not used there (probe below).
@pytest.mark.skipif(not _builder_used(), reason="this SDK release takes the Logger.emit path")
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


class TestRecordBuilderProbe:
    """RecordBuilder reads a private attribute and fills records field by field: it is used only when
    a start-up probe finds both as expected; otherwise Logger.emit, whose records the tests above
    show to be the same."""

    def _logger(self) -> Any:
        return private_logger_provider(Resource({"service.name": "t"}), Collector()).get_logger("gyrinx_tracker", "1")

    def test_the_probe_accepts_the_sdk_from_1_40(self) -> None:
        """From 1.40 (the Logger's public instrumentation_scope) the fast path is taken; 1.39 falls back."""
        from opentelemetry.sdk.version import __version__

        newer = tuple(int(part) for part in __version__.split(".")[:2]) >= (1, 40)
        assert otel_logs.builder_available(self._logger()) == newer

    def test_a_logger_without_the_private_limits_is_refused(self) -> None:
        """A release that renamed _log_record_limits falls back to Logger.emit."""
        assert not otel_logs.builder_available(object())

    def test_a_changed_record_layout_is_refused(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """A record with a field RecordBuilder does not fill falls back to Logger.emit."""
        monkeypatch.setattr(otel_logs, "_RECORD_FIELDS", otel_logs._RECORD_FIELDS | {"new_field"})
        otel_logs._record_layout_matches.cache_clear()
        try:
            assert not otel_logs.builder_available(self._logger())
        finally:
            otel_logs._record_layout_matches.cache_clear()

    def test_without_the_builder_the_output_emits_through_the_sdk(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Forced unavailable: a body-only writer gets Logger.emit's records (no RecordBuilder)."""
        from gyrinx_tracker._signals import output

        monkeypatch.setattr(output, "builder_available", lambda logger: False)
        collector = Collector()
        provider = private_logger_provider(Resource({"service.name": "t"}), collector)

        class BodyOnly:
            reads_attributes = False

        writer: Any = BodyOnly()
        assert output.WriterOutput(provider, collector, writer, None, ("gyrinx_tracker", "1"))._builder is None
        monkeypatch.undo()
        built = output.WriterOutput(provider, collector, writer, None, ("gyrinx_tracker", "1"))._builder
        assert (built is not None) == _builder_used()
