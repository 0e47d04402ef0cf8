"""Small, hot formatting helpers shared by the JSON outputs: JSON, timestamps and trace ids.

RFC 3339 formatting through ``datetime`` costs microseconds per event; events arrive in bursts
within the same second, so the ``YYYY-MM-DDTHH:MM:SS`` prefix is cached per second and only the
fraction is formatted per event. ``json.dumps`` builds a new C encoder on every call; one made
once and reused costs about 60% as much for a small dict.
"""

from __future__ import annotations

import json
import json.encoder
import time
from collections.abc import Callable
from typing import Any


def _reject(value: object) -> Any:
    raise TypeError(f"{type(value).__name__} is not JSON (labels are sanitised before this)")


def _make_encoder() -> Callable[[Any], str]:
    c_make_encoder = getattr(json.encoder, "c_make_encoder", None)
    if c_make_encoder is None:  # a Python without the C accelerator
        return json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode
    # (markers, default, encoder, indent, key_sep, item_sep, sort_keys, skipkeys, allow_nan):
    # no circular-reference markers, since sanitised data is a tree.
    encoder = c_make_encoder(None, _reject, json.encoder.encode_basestring, None, ":", ",",
                             False, False, False)

    def encode(value: Any) -> str:
        return "".join(encoder(value, 0))

    return encode


encode_json: Callable[[Any], str] = _make_encoder()
"""Compact JSON, UTF-8 kept as is, NaN rejected: the form every JSON output writes."""

_cache: tuple[int, str] = (-1, "")


def rfc3339(timestamp_ns: int) -> str:
    """``2026-11-28T05:39:51.123456Z`` for a Unix time in nanoseconds (UTC, microseconds)."""
    global _cache
    second, rest = divmod(timestamp_ns, 1_000_000_000)
    cached_second, prefix = _cache
    if second != cached_second:
        prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
        _cache = (second, prefix)
    return f"{prefix}.{rest // 1000:06d}Z"


def trace_hex(trace_id: int) -> str:
    """The 32-digit lower-case hex form Cloud Logging and OTLP tools show."""
    return format(trace_id, "032x")


def span_hex(span_id: int) -> str:
    """The 16-digit lower-case hex form of a span id."""
    return format(span_id, "016x")
