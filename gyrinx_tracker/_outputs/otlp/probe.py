"""The start-up check that ``wire`` still writes what the installed official encoder writes.

``wire`` copies the official encoder's output field by field and leans on its private value
encoders; the suite checks the bytes on the releases it runs (``make test-otel-range``), but a
release it never saw could encode something differently (1.39 raises on a ``None`` value where
later releases write an empty one, and encodes resources differently). So, once per process,
before the fast path is used, a handful of events of every label kind are written both ways and
compared byte for byte (each twice, so that the second is written from the shape the first left in
the encoder's cache, as most records are): any difference (or error) sends the logs through the official exporter,
which costs CPU, never correctness.
"""

from __future__ import annotations

from typing import Any

from gyrinx_tracker._core.event import Event

_LABELS: tuple[dict[str, Any], ...] = (
    {"endpoint": "/api", "method": "GET", "status": 200, "ok": True, "ratio": 0.5, "none": None},
    {"tags": ["a", "b"], "counts": [1, 2], "meta": {"k": 1, "deep": {"x": [1]}}, "text": "é ✓", "big": 2**53},
    {"endpoint": "/api", "method": "GET", "status": 200, "ok": True},  # a shape the encoder caches
    {},
)


def same_bytes() -> bool:
    """Whether ``WireEncoder`` writes the official ``encode_logs`` bytes for the SDK's records of sample events."""
    try:
        return _written() == _official()
    except Exception:  # noqa: BLE001 - whatever fails here means: use the official exporter
        return False


def _events() -> list[Event]:
    """Each sample twice, n 1 and 2, with a float value, an int one and none (the second of each
    written from its cached shape)."""
    return [Event(f"probe_{index % 2}", 1 + index % 2, (None, 1.5, 7)[index % 3], dict(labels),
                  time_ns=1_700_000_000_000_000_000 + index)
            for index, labels in enumerate(_LABELS + _LABELS)]


_OBSERVED = 1_700_000_000_500_000_000
_SCOPE = ("gyrinx_tracker.probe", "1")


def _resource() -> Any:
    from opentelemetry.sdk.resources import Resource

    return Resource({"service.name": "probe", "n": 3}, schema_url="https://opentelemetry.io/schemas/1.21.0")


def _written() -> bytes:
    from opentelemetry.sdk.util.instrumentation import InstrumentationScope

    from gyrinx_tracker._outputs.otlp.wire import WireEncoder

    encoder = WireEncoder(_resource(), InstrumentationScope(*_SCOPE), 128, None, clock=lambda: _OBSERVED)
    return encoder.encode(_events())


def _official() -> bytes:
    from opentelemetry.exporter.otlp.proto.common._log_encoder import encode_logs

    from gyrinx_tracker._signals.otel_logs import Collector, make_record, private_logger_provider
    from gyrinx_tracker._signals.records import attributes_of, body_of

    collector = Collector()
    logger = private_logger_provider(_resource(), collector).get_logger(*_SCOPE)
    for event in _events():
        logger.emit(make_record(event.time_ns, event.context, body_of(event), attributes_of(event), event.name))
    records = collector.take()
    for record in records:
        record.log_record.observed_timestamp = _OBSERVED
    encoded: bytes = encode_logs(records).SerializeToString()  # type: ignore[arg-type]
    return encoded
