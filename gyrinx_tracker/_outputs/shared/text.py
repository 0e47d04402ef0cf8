"""Small, hot text helpers shared by the outputs: timestamps and trace ids.

RFC 3339 formatting through ``datetime`` costs microseconds per event; events arrive in bursts
within the same second, so the ``YYYY-MM-DDTHH:MM:SS`` prefix is cached per second and only the
fraction is formatted per event.
"""

from __future__ import annotations

import time

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
