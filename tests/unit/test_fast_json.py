"""The fenced C JSON encoder writes exactly what json.dumps writes, and steps aside when it cannot."""

from __future__ import annotations

import json
import json.encoder
from typing import Any

import pytest

from gyrinx_tracker._outputs.shared import fast_json

BATTERY: list[Any] = [
    {},
    {"endpoint": "/api/v1/fighters", "method": "GET", "status": 200},
    {"quote": 'a "b" \\ c', "newline": "x\ny\r\t", "control": "\x00\x1f", "line_sep": "\u2028\u2029"},
    {"unicode": "Zoë 🚀 日本", "escaped": "\udcff".encode("utf-8", "backslashreplace").decode()},
    {"floats": [0.1, 1e300, -0.0, 1.5e-320, 123456789.123], "ints": [0, -(2**53), 2**53]},
    {"nested": {"a": [1, {"b": [None, True, False]}]}, "": ""},
    ["a", 1, 2.5, None],
    "plain",
]


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


class TestFastJson:
    @pytest.mark.parametrize("value", BATTERY)
    def test_the_chosen_encoder_matches_json_dumps(self, value: Any) -> None:
        """Whatever encoder was chosen at import writes json.dumps' compact, UTF-8 text."""
        assert fast_json.encode_json(value) == _dumps(value)

    @pytest.mark.parametrize("value", BATTERY)
    def test_the_public_fallback_matches_json_dumps(self, value: Any) -> None:
        """The documented JSONEncoder path writes the same text."""
        assert fast_json.public_encoder()(value) == _dumps(value)

    def test_nan_and_unknown_types_are_refused(self) -> None:
        """NaN and non-JSON objects raise: labels are sanitised before they reach an encoder."""
        for encode in (fast_json.encode_json, fast_json.public_encoder()):
            with pytest.raises(ValueError):
                encode({"x": float("nan")})
            with pytest.raises(TypeError):
                encode({"x": object()})

    def test_without_the_c_accelerator_the_public_encoder_is_used(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """A Python without json.encoder.c_make_encoder gets the public encoder."""
        monkeypatch.setattr(json.encoder, "c_make_encoder", None)
        encode = fast_json.make_encoder()
        assert encode.__qualname__ == "JSONEncoder.encode"
        assert encode(BATTERY[2]) == _dumps(BATTERY[2])

    def test_a_changed_private_signature_falls_back(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """If the private function takes other arguments, or writes other text, it is not used."""
        def changed(*args: Any) -> Any:
            raise TypeError("c_make_encoder() takes 10 positional arguments")

        monkeypatch.setattr(json.encoder, "c_make_encoder", changed)
        assert fast_json.make_encoder().__qualname__ == "JSONEncoder.encode"

        def different(*args: Any) -> Any:
            return lambda value, level: ["{}"]

        monkeypatch.setattr(json.encoder, "c_make_encoder", different)
        assert fast_json.make_encoder().__qualname__ == "JSONEncoder.encode"

    def test_the_c_encoder_is_used_where_it_exists(self) -> None:
        """On CPython the fast path is taken (the reason this module exists)."""
        if getattr(json.encoder, "c_make_encoder", None) is None:
            pytest.skip("this Python has no C JSON accelerator")
        assert fast_json.encode_json.__qualname__ != "JSONEncoder.encode"
