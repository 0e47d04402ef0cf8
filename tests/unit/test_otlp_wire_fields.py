"""The wire constants ``otlp_wire`` writes with are opentelemetry-proto's, as the generated descriptors say:
a changed .proto fails here rather than writing wrong bytes."""

from __future__ import annotations

from typing import Any

import pytest
from google.protobuf.internal import encoder, type_checkers, wire_format
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2
from opentelemetry.proto.common.v1 import common_pb2
from opentelemetry.proto.logs.v1 import logs_pb2

from gyrinx_tracker._outputs.otlp import logs as otlp_logs
from gyrinx_tracker._outputs.otlp import protobuf, wire
from gyrinx_tracker._signals.otel_logs import INFO

# Each class of field numbers in otlp_wire, with the generated message it names the fields of.
MESSAGES: dict[type, Any] = {
    protobuf.ExportLogsServiceRequestFields: logs_service_pb2.ExportLogsServiceRequest,
    protobuf.ResourceLogsFields: logs_pb2.ResourceLogs,
    protobuf.ScopeLogsFields: logs_pb2.ScopeLogs,
    protobuf.LogRecordFields: logs_pb2.LogRecord,
    protobuf.AnyValueFields: common_pb2.AnyValue,
    protobuf.KeyValueFields: common_pb2.KeyValue,
    protobuf.KeyValueListFields: common_pb2.KeyValueList,
}


def _declared(fields: type) -> dict[str, protobuf.WireField]:
    return {name: value for name, value in vars(fields).items() if isinstance(value, protobuf.WireField)}


class TestWireFields:
    def test_every_class_of_fields_is_checked(self) -> None:
        """No class of field numbers escapes the test below, and each declares fields only."""
        classes = {value for value in vars(protobuf).values() if isinstance(value, type) and value.__name__.endswith("Fields")}
        assert classes == set(MESSAGES)
        for fields in MESSAGES:
            assert set(_declared(fields)) == {name for name in vars(fields) if not name.startswith("__")}, fields

    @pytest.mark.parametrize(("fields", "message"), MESSAGES.items(), ids=[m.DESCRIPTOR.name for m in MESSAGES.values()])
    def test_numbers_and_wire_types_are_the_descriptors(self, fields: type, message: Any) -> None:
        """Each named field is the message's field of that name: its number, and the wire type of its
        declared type (as protobuf maps types to wire types)."""
        descriptor = message.DESCRIPTOR
        assert fields.__name__ == descriptor.name + "Fields"
        declared = _declared(fields)
        assert declared
        for name, field in declared.items():
            proto = descriptor.fields_by_name[name]
            assert field.number == proto.number, f"{descriptor.full_name}.{name}"
            assert field.wire_type == type_checkers.FIELD_TYPE_TO_WIRE_TYPE[proto.type], f"{descriptor.full_name}.{name}"

    def test_wire_types_and_tags_are_protobufs(self) -> None:
        """The four wire types are protobuf's; a tag is the bytes protobuf's encoder writes for it,
        for every field here and past the one-byte tags (field 16 on)."""
        assert (protobuf.VARINT, protobuf.I64, protobuf.LEN, protobuf.I32) == (
            wire_format.WIRETYPE_VARINT, wire_format.WIRETYPE_FIXED64,
            wire_format.WIRETYPE_LENGTH_DELIMITED, wire_format.WIRETYPE_FIXED32)
        for fields in MESSAGES:
            for field in _declared(fields).values():
                assert protobuf.tag(field.number, field.wire_type) == encoder.TagBytes(field.number, field.wire_type)
        for number in (15, 16, 2_047, 2_048, 2**29 - 1):
            assert protobuf.tag(number, protobuf.LEN) == encoder.TagBytes(number, protobuf.LEN)

    def test_the_fixed_values_are_the_protos(self) -> None:
        """INFO is the proto's and the one make_record gives; a trace id and a span id have the sizes
        the official encoder writes; a record's fixed bytes are those protobuf writes for them."""
        info = logs_pb2.SeverityNumber.Value("SEVERITY_NUMBER_INFO")
        assert protobuf.SEVERITY_NUMBER_INFO == info == INFO.value
        assert protobuf.SEVERITY_TEXT.decode() == INFO.name
        from opentelemetry.exporter.otlp.proto.common._internal import _encode_span_id, _encode_trace_id

        assert len(_encode_trace_id(1)) == protobuf.TRACE_ID_BYTES
        assert len(_encode_span_id(1)) == protobuf.SPAN_ID_BYTES
        fixed = logs_pb2.LogRecord(time_unix_nano=1, severity_number=info,
                                   severity_text=protobuf.SEVERITY_TEXT.decode(), body=common_pb2.AnyValue(),
                                   observed_time_unix_nano=1)
        # _RECORD_FIXED_BYTES has the body's tag but not its length (here one byte: an empty body).
        assert len(fixed.SerializeToString()) == wire._RECORD_FIXED_BYTES + 1

    def test_the_export_method_is_the_services(self) -> None:
        """The gRPC method the written bytes are sent to is the Export method of LogsService."""
        service = logs_service_pb2.DESCRIPTOR.services_by_name["LogsService"]
        export = service.methods_by_name["Export"]
        assert export.input_type is logs_service_pb2.ExportLogsServiceRequest.DESCRIPTOR
        assert f"/{service.full_name}/{export.name}" == otlp_logs.EXPORT_METHOD
