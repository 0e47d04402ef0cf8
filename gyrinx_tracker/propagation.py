"""The caller's trace from request headers, for integrations and for apps writing their own.

The public path of ``gyrinx_tracker._integrations.propagation``, where the implementation and its reasons live.
"""

from gyrinx_tracker._integrations.propagation import (
    asgi_headers,
    caller_context,
    context_from_headers,
    remote_context,
    wsgi_headers,
)

__all__ = ["asgi_headers", "caller_context", "context_from_headers", "remote_context", "wsgi_headers"]
