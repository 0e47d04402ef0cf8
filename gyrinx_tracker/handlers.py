"""A logging handler for a stream that several processes share (gunicorn workers' stdout/stderr).

The public path of ``gyrinx_tracker._outputs.shared.handlers``, where the implementation and its reasons live.
"""

from gyrinx_tracker._outputs.shared.handlers import (
    SharedStreamHandler,
)

__all__ = ["SharedStreamHandler"]
