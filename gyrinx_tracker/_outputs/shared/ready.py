"""Whether a call that timed out was sent: is its gRPC channel connected?

Both end ``DEADLINE_EXCEEDED``: a receiver that took the call and did not answer in time (it may
have stored it: ``export_unknown``), and a connection that never got as far as HTTP/2 (a TCP black
hole: the kernel accepts, nobody reads; nothing was sent: ``export_failed``). The channel tells
them apart: connected (READY) in the first case, still CONNECTING in the second. It is asked at
the time of the timeout through ``grpc.channel_ready_future`` (public API), for ``WAIT`` seconds
at most, then the watch is cancelled (a standing ``subscribe`` would outlive a channel the
exporter closes and replaces, and its polling thread then raises).
"""

from __future__ import annotations

from typing import Any

import grpc

WAIT = 0.05  # seconds: a READY channel answers at once; a connecting one has had the whole timeout


def connected(channel: Any) -> bool:
    """Whether ``channel`` is connected now; True when it cannot be asked (the cautious books)."""
    if channel is None:
        return True
    try:
        future = grpc.channel_ready_future(channel)
    except Exception:  # noqa: BLE001 - not a grpc channel, or closed: assume the call was sent
        return True
    try:
        future.result(timeout=WAIT)
    except grpc.FutureTimeoutError:
        return False
    except Exception:  # noqa: BLE001 - closed meanwhile: assume sent
        return True
    finally:
        future.cancel()
    return True
