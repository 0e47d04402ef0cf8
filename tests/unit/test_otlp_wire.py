"""OTLP log requests written from events are the bytes the official encoder sends for the SDK's records.

The written bytes on the wire, to a real OTLP receiver on loopback, are tests/integration/test_otlp_wire.py.
"""

from __future__ import annotations

from typing import Any

import pytest
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk.resources import Resource

from gyrinx_tracker._core.event import Event
from gyrinx_tracker._outputs.otlp.exporters import fast_logs_available
from gyrinx_tracker._outputs.otlp.protobuf import varint
from gyrinx_tracker._outputs.otlp.wire import WireEncoder, any_value
from gyrinx_tracker._signals.otel_logs import scope_of
from gyrinx_tracker._signals.records import body_of
from tests.helpers.otlp_wire import _events, _split, official_bytes

# The byte-for-byte comparison with the official encoder of the installed release is what the fast
# path promises; where the start-up probe refuses it (1.39), the official exporter itself is used
# (tests/integration/test_otlp_http.py::TestFallback) and there is nothing of ours to compare.
pytestmark = pytest.mark.skipif(not fast_logs_available(), reason="the probe takes the official exporter here")


class TestWireFormat:
    @pytest.mark.parametrize("resource", [Resource({"service.name": "web", "n": 3}),
                                          Resource({"service.name": "web"}, schema_url="https://schema/1")],
                             ids=["resource", "resource with a schema url"])
    def test_the_bytes_equal_the_official_encoders(self, resource: Resource) -> None:
        """Every label kind, trace state, value and sample rate: byte for byte what encode_logs sends."""
        kept = _events()
        expected, observed = official_bytes(kept, resource)
        scope = scope_of(LoggerProvider(resource=resource).get_logger("gyrinx_tracker", "1.2.3"), ("gyrinx_tracker", "1.2.3"))
        clock = iter(observed)
        encoder = WireEncoder(resource, scope, 128, clock=lambda: next(clock))
        assert encoder.encode(*_split(kept)) == expected

    def test_string_attributes_are_cut_as_the_sdk_cuts_them(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """With OTEL_LOGRECORD_ATTRIBUTE_VALUE_LENGTH_LIMIT the bytes still equal the official encoding of
        the SDK's records: string attributes (the event name's too) cut to the limit, the body whole."""
        monkeypatch.setenv("OTEL_LOGRECORD_ATTRIBUTE_VALUE_LENGTH_LIMIT", "4")
        resource = Resource({"service.name": "web"})
        kept = _events()
        expected, observed = official_bytes(kept, resource)
        clock = iter(observed)
        scope = scope_of(LoggerProvider(resource=resource).get_logger("gyrinx_tracker", "1.2.3"), ("gyrinx_tracker", "1.2.3"))
        encoder = WireEncoder(resource, scope, 128, value_length_limit=4, clock=lambda: next(clock))
        assert encoder.encode(*_split(kept)) == expected
        attributes = ExportLogsServiceRequest.FromString(expected).resource_logs[0].scope_logs[0].log_records[0].attributes
        assert {kv.key: kv.value.string_value for kv in attributes}["gyrinx.event"] == "even"

    def test_a_body_left_to_the_encoder_is_the_payload(self) -> None:
        """Events without a body (nothing sampled: the payload is ``body_of(event)``), written from the
        event's fields, are the bytes of the same events with their bodies, and so the official ones."""
        kept = [(event, body_of(event)) for event, _ in _events()]
        resource = Resource({"service.name": "web"})
        expected, observed = official_bytes(kept, resource)
        scope = scope_of(LoggerProvider(resource=resource).get_logger("gyrinx_tracker", "1.2.3"), ("gyrinx_tracker", "1.2.3"))
        for bodies in ("none", "mixed"):
            encoder = WireEncoder(resource, scope, 128, clock=iter(observed).__next__)
            given = [(event, None if bodies == "none" or index % 2 else body) for index, (event, body) in enumerate(kept)]
            assert encoder.encode(*_split(given)) == expected, bodies
        assert WireEncoder(resource, scope, 128, clock=iter(observed).__next__).encode(
            [event for event, _ in kept]) == expected, "no bodies"

    def test_cached_pairs_encode_as_fresh_ones(self) -> None:
        """The second batch, written from the pair caches, is the same as the first."""
        kept = _events()
        resource = Resource({"service.name": "web"})
        scope = scope_of(LoggerProvider(resource=resource).get_logger("gyrinx_tracker", "1.2.3"), ("gyrinx_tracker", "1.2.3"))
        encoder = WireEncoder(resource, scope, 128, clock=lambda: 5)
        assert encoder.encode(*_split(kept)) == encoder.encode(*_split(kept))

    @pytest.mark.parametrize("value", [0, 1, 127, 128, 300, 2**53, -1, -(2**63), 2**63 - 1, 0.0, -0.0, 1e300, "",
                                       "ascii", "✓", True, False, None, [1, "a"], {"a": {"b": None}}, b"raw"])
    def test_a_value_encodes_as_the_official_any_value(self, value: Any) -> None:
        """Scalars at the varint and int64 edges, strings, containers: AnyValue bytes as protobuf's."""
        from opentelemetry.exporter.otlp.proto.common._internal import _encode_value

        assert any_value(value) == _encode_value(value).SerializeToString()

    def test_a_varint_matches_protobufs(self) -> None:
        """Lengths past one and two bytes are written as protobuf writes them."""
        for number in (0, 127, 128, 16_383, 16_384, 2**35):
            text = "x" * min(number, 20_000)
            assert any_value(text) == b"\x0a" + varint(len(text)) + text.encode()


class TestCacheHoldsNoLargeValues:
    def test_fresh_long_label_values_are_not_kept_by_the_encoder(self) -> None:
        """The encoder's caches never forget: a long value (a label cut to MAX_STRING) must not enter
        them, or 10,000 fresh 16 KB values stay in memory three times each (issue 26, the soak)."""
        resource = Resource({"service.name": "web"})
        scope = LoggerProvider(resource=resource).get_logger("gyrinx_tracker", "1.2.3").instrumentation_scope
        encoder = WireEncoder(resource, scope, 128, clock=lambda: 5)
        events = [Event("soak", 1, None, {"blob": f"{i:06d}" + "x" * 16_000, "route": "/api"},
                      time_ns=1_700_000_000_000_000_000) for i in range(50)]
        encoder.encode(events, [body_of(event, 1.0) for event in events])
        # The caches themselves (private): what they hold is the point.
        cached = [value for cache in (encoder._labels, encoder._pairs) for (_, _, value) in cache]
        assert "/api" in cached  # a short, repeated value is still cached
        assert max(len(value) for value in cached if isinstance(value, str)) <= 256
