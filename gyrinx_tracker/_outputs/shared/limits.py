"""Size limits of the outputs, and the salvage of an entry that would exceed them.

Cloud Logging rejects an entry over 256 KB and a ``WriteLogEntries`` request over 10 MB or 1,000
entries (the API's quotas page). The sanitizer keeps labels under its own byte budget, so these
limits are rarely reached; when escapes or multi-byte characters push an entry over, the entry is
salvaged (largest labels dropped and counted in ``_dropped_labels``) rather than rejected. The
local and Cloud Run stdout outputs keep to the same entry limit so an event looks the same
wherever it lands.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from gyrinx_tracker._core.encode import JSON
from gyrinx_tracker._core.event import DROPPED_LABELS

# Leave room under the API's 256,000 bytes for the envelope that is not part of the payload.
ENTRY_LIMIT = 250_000
API_ENTRY_LIMIT = 256_000
API_REQUEST_LIMIT = 10_000_000
API_ENTRIES_PER_REQUEST = 1_000

def fit(body: dict[str, JSON], encode: Callable[[dict[str, JSON]], str],
        limit: int = ENTRY_LIMIT) -> tuple[str, bool]:
    """Encode ``body``; if the result exceeds ``limit`` bytes, drop the largest labels until it fits.

    The label estimate in ``Sanitizer.labels`` keeps this path rare (it costs an extra encode), but
    escapes and multi-byte characters can still push an entry over Cloud Logging's limit, and the
    entry must be salvaged rather than rejected.
    """
    text = encode(body)
    if len(text) <= limit // 4 or len(text.encode("utf-8")) <= limit:
        return text, False
    labels = dict(body.get("labels") or {})
    sizes = sorted(labels, key=lambda k: len(json.dumps(labels[k])), reverse=True)
    for key in sizes:
        labels.pop(key)
        labels[DROPPED_LABELS] = int(labels.get(DROPPED_LABELS, 0) or 0) + 1
        text = encode({**body, "labels": labels})
        if len(text.encode("utf-8")) <= limit:
            break
    return text, True
