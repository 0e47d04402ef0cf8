"""The start-up probe of the fast OTLP log path: wire's bytes must be the installed encoder's."""

from __future__ import annotations

from typing import Any

import pytest
from opentelemetry.sdk.version import __version__

from gyrinx_tracker._outputs.otlp import probe, wire

NEWER_THAN_1_39 = tuple(int(part) for part in __version__.split(".")[:2]) >= (1, 40)


class TestProbe:
    def test_the_installed_release_is_judged_as_the_suite_found_it(self) -> None:
        """1.40 on: the same bytes (the fast path); 1.39: they differ (the official exporter)."""
        assert probe.same_bytes() == NEWER_THAN_1_39

    def test_one_byte_of_difference_refuses_the_fast_path(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """A release whose encoding moved one byte away from ours sends logs the official way."""
        encode = wire.WireEncoder.encode

        def shifted(self: Any, *args: Any, **kwargs: Any) -> bytes:
            return encode(self, *args, **kwargs) + b"\x00"

        monkeypatch.setattr(wire.WireEncoder, "encode", shifted)
        assert not probe.same_bytes()

    def test_an_encoder_that_raises_refuses_the_fast_path(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """A renamed private helper (here: the value encoder failing) is a refusal, not an error."""
        def broken(value: Any) -> Any:
            raise TypeError("changed upstream")

        monkeypatch.setattr(wire, "_encode_value", broken)
        assert not probe.same_bytes()

    def test_a_wrong_cached_shape_refuses_the_fast_path(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """The probe writes records from cached shapes too: were the records written from a shape's
        lead to drift from those written part by part, the fast path is refused."""
        lead = wire.Shape._lead

        def drifted(self: Any, opening: bytes, measured: int, value: str) -> Any:
            pack, middle, size = lead(self, opening, measured, value)
            return pack, middle[:-1] + b"\x00", size

        monkeypatch.setattr(wire.Shape, "_lead", drifted)
        assert not probe.same_bytes()
