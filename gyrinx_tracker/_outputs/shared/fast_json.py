"""Compact JSON from CPython's C encoder, made once: the one use of a private interpreter function.

Every JSON output encodes each event's labels. ``json.dumps`` builds a new C encoder per call;
the public ``json.JSONEncoder(...).encode`` reuses its settings but still rebuilds the C encoder
per call. Made once from ``json.encoder.c_make_encoder`` and reused, the encoder does about half the
work of ``JSONEncoder.encode`` for a few labels: a visible share of an event's whole CPU cost in
local mode, where the target is parity with the original tracker. That is the reason this trick
exists.

It is fenced: the private function's nine positional arguments are named below, the result is
checked against the known text of a probe value at import, and any difference (a Python without the C
accelerator, a changed signature) falls back to the public encoder. ``tests/unit/test_fast_json.py``
compares both on a battery of values.
"""

from __future__ import annotations

import json
import json.encoder
from collections.abc import Callable
from typing import Any

Encode = Callable[[Any], str]

_PROBE: dict[str, Any] = {"s": "é\"\\\n\u2028", "i": -(2**53), "f": 0.1, "b": True, "z": None,
                          "l": [1.5e300, {"k": []}], "": {}}
# Written out, not computed: json.dumps itself goes through c_make_encoder, so it cannot be the
# judge of that function.
_PROBE_TEXT = '{"s":"é\\"\\\\\\n\u2028","i":-9007199254740992,"f":0.1,"b":true,"z":null,' \
              '"l":[1.5e+300,{"k":[]}],"":{}}'
_PROBE_DUMPS_TEXT = '{"s": "\\u00e9\\"\\\\\\n\\u2028", "i": -9007199254740992, "f": 0.1, "b": true, ' \
                    '"z": null, "l": [1.5e+300, {"k": []}], "": {}}'


def _reject(value: object) -> Any:
    raise TypeError(f"{type(value).__name__} is not JSON (labels are sanitised before this)")


def public_encoder() -> Encode:
    """The documented way to the same text: compact separators, UTF-8 kept, NaN refused."""
    return json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False,
                            check_circular=False, default=_reject).encode


def _c_encoder(compact: bool = True) -> Encode | None:
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:
        return None
    markers = None  # no circular-reference check: sanitised data is a tree
    indent = None
    key_separator, item_separator = (":", ",") if compact else (": ", ", ")
    encode_string = json.encoder.encode_basestring if compact else json.encoder.encode_basestring_ascii
    sort_keys = skip_keys = False
    allow_nan = not compact  # json.dumps' default writes NaN; sanitised data never holds one
    encoder = make(markers, _reject, encode_string, indent, key_separator,
                   item_separator, sort_keys, skip_keys, allow_nan)

    def encode(value: Any) -> str:
        return "".join(encoder(value, 0))

    return encode


def make_encoder() -> Encode:
    """The C encoder when it writes exactly the probe's known text, else the public one."""
    try:
        fast = _c_encoder()
        if fast is not None and fast(_PROBE) == _PROBE_TEXT:
            return fast
    except Exception:  # noqa: BLE001 - any surprise from a private API means: do not use it
        pass
    return public_encoder()


encode_json: Encode = make_encoder()
"""Compact JSON, UTF-8 kept as is, NaN rejected: the form the JSON outputs write."""


def make_dumps_encoder() -> Encode:
    """The C encoder set up as ``json.dumps(value)`` with no arguments, checked the same way."""
    try:
        fast = _c_encoder(compact=False)
        if fast is not None and fast(_PROBE) == _PROBE_DUMPS_TEXT:
            return fast
    except Exception:  # noqa: BLE001 - any surprise from a private API means: do not use it
        pass
    return json.JSONEncoder(check_circular=False, default=_reject).encode


encode_like_dumps: Encode = make_dumps_encoder()
"""Exactly ``json.dumps(value)``: the text the original tracker logged through ``gyrinx.tracker``."""
