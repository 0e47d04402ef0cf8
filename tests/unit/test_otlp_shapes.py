"""The wire encoder's shape cache: records written from cached shapes are the official encoder's bytes."""

from __future__ import annotations

from typing import Any

import pytest
from opentelemetry.context import get_current
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk.resources import Resource

from gyrinx_tracker._core.event import Event
from gyrinx_tracker._outputs.otlp.exporters import fast_logs_available
from gyrinx_tracker._outputs.otlp.shapes import CACHE_CHARS, ShapeCache
from gyrinx_tracker._outputs.otlp.wire import WireEncoder
from gyrinx_tracker._signals.otel_logs import scope_of
from gyrinx_tracker._signals.records import body_of
from tests.helpers.otlp_wire import _events, _split, official_bytes

pytestmark = pytest.mark.skipif(not fast_logs_available(), reason="the probe takes the official exporter here")

RESOURCE = Resource({"service.name": "web"})


def _encoder(observed: list[int], shapes: ShapeCache | None = None) -> WireEncoder:
    scope = scope_of(LoggerProvider(resource=RESOURCE).get_logger("gyrinx_tracker", "1.2.3"), ("gyrinx_tracker", "1.2.3"))
    clock = iter(observed * 4)  # the same observed times for each encode of the same events
    return WireEncoder(RESOURCE, scope, 128, clock=clock.__next__, shapes=shapes)


def _event(labels: dict[str, Any], index: int = 0, value: Any = 1.5, n: int = 1) -> Event:
    return Event(f"event_{index % 2}", n, value, labels, time_ns=1_700_000_000_000_000_000 + index, context=get_current())


class TestHitsAndMisses:
    @pytest.mark.parametrize("bodies", ["payload", "sampled"])
    def test_a_hit_writes_the_bytes_of_a_miss_and_of_no_cache(self, bodies: str) -> None:
        """Every shape of the wire tests, payload and sampled bodies: the first encode (misses), the
        second (hits) and an encoder that caches no shape all write the official bytes."""
        kept = _events() if bodies == "sampled" else [(event, body_of(event)) for event, _ in _events()]
        expected, observed = official_bytes(kept, RESOURCE)
        events, given = _split(kept)
        given_or_none = given if bodies == "sampled" else None
        encoder = _encoder(observed)
        assert encoder.encode(events, given_or_none) == expected  # misses
        assert encoder.shapes.entries, "the repeated shapes are cached"
        assert encoder.encode(events, given_or_none) == expected  # hits
        assert _encoder(observed, ShapeCache(0, 0)).encode(events, given_or_none) == expected  # no cache

    def test_equal_labels_of_other_types_are_other_shapes(self) -> None:
        """1, True, 1.0, "1" (and 0, False, 0.0, -0.0) are equal or alike as keys, but each is written
        as its own type, whichever was cached first."""
        values: list[Any] = [1, True, 1.0, "1", 0, False, 0.0, -0.0, 1, True]
        kept = [(event, body_of(event)) for event in
                [_event({"a": value, "b": "x"}, index, value=None if index % 3 else 2.5, n=1 + index % 2)
                 for index, value in enumerate(values)]]
        expected, observed = official_bytes(kept, RESOURCE)
        encoder = _encoder(observed)
        for _ in range(2):
            assert encoder.encode([event for event, _ in kept]) == expected


class TestBounds:
    def test_many_distinct_label_sets_stay_within_both_bounds(self) -> None:
        """3,000 label sets that never repeat (a user id): the cache stays within its entries and
        bytes, clearing itself, and the records are still the official ones."""
        kept = [(event, body_of(event)) for event in
                [_event({"route": "/api", "user": f"user-{index}"}, index) for index in range(3_000)]]
        expected, observed = official_bytes(kept, RESOURCE)
        shapes = ShapeCache(max_entries=100, max_bytes=64_000)
        encoder = _encoder(observed, shapes)
        events = [event for event, _ in kept]
        sizes = []
        for start in range(0, len(events), 500):
            encoder.encode(events[start:start + 500])
            sizes.append((len(shapes.entries), shapes.size))
        assert max(entries for entries, _ in sizes) <= 100 and max(size for _, size in sizes) <= 64_000
        assert _encoder(observed, ShapeCache(max_entries=100, max_bytes=64_000)).encode(events) == expected

    def test_large_values_are_never_cached(self) -> None:
        """A label past CACHE_CHARS (a value cut to MAX_STRING) keeps its shape out of the cache, and
        its bytes are the official ones; a short repeated label set is still cached."""
        events = [_event({"blob": f"{index:06d}" + "x" * 16_000, "route": "/api"}, index) for index in range(50)]
        events.append(_event({"route": "/api"}, 50))
        kept = [(event, body_of(event)) for event in events]
        expected, observed = official_bytes(kept, RESOURCE)
        encoder = _encoder(observed)
        assert encoder.encode(events) == expected
        held = [item for key in encoder.shapes.entries for item in key if isinstance(item, str)]
        assert "/api" in held
        assert max(len(item) for item in held) <= CACHE_CHARS

    def test_unhashable_labels_are_written_uncached(self) -> None:
        """A list or dict label cannot be in a key: the record is written as before, not cached."""
        events = [_event({"tags": ["a", 1], "meta": {"k": 1}}, index) for index in range(3)]
        kept = [(event, body_of(event)) for event in events]
        expected, observed = official_bytes(kept, RESOURCE)
        encoder = _encoder(observed)
        assert encoder.encode(events) == expected
        assert not encoder.shapes.entries
