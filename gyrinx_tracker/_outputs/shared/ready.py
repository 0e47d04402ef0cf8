"""Whether a gRPC channel has ever been ready: what tells a call that timed out before it was sent
from one that timed out after.

Both end ``DEADLINE_EXCEEDED``. A receiver that took the call and did not answer in time may have
stored it (``export_unknown``); a connection that never got as far as HTTP/2 (a TCP black hole:
the kernel accepts, nobody reads) sent nothing (``export_failed``). The channel's connectivity,
watched through ``grpc.Channel.subscribe`` (public API), separates the two: a call that timed out
while its channel had never been ready was not sent.
"""

from __future__ import annotations

from typing import Any

import grpc


class EverReady:
    """Watches one channel; ``seen()`` is True once it has been READY (or when it cannot be watched)."""

    def __init__(self, channel: Any) -> None:
        self._seen = channel is None  # nothing to watch: assume sent, the cautious books
        if channel is not None:
            try:
                channel.subscribe(self._on_state, try_to_connect=False)
            except (AttributeError, ValueError, RuntimeError):  # not a grpc channel, or closed
                self._seen = True

    def _on_state(self, state: grpc.ChannelConnectivity) -> None:
        if state == grpc.ChannelConnectivity.READY:
            self._seen = True

    def seen(self) -> bool:
        """Whether the channel has been ready at least once."""
        return self._seen
