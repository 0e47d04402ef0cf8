"""The calls every implementation is measured on, built before any clock starts.

One event name and a realistic request label set (the seed document's own example:
``endpoint``, ``method``, ``status``, plus a ``user_id``) with a latency ``value``, so each call
exercises the log record, the counter and the histogram. Values cycle through a fixed pool of
1,000 distinct calls, the same for every implementation, so no implementation pays for building
its arguments and all of them see the same data.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from typing import Any

EVENT = "api_request"
ENDPOINTS = tuple(f"/api/v1/{name}" for name in (
    "fighters", "lists", "gangs", "equipment", "campaigns", "users",
    "skills", "weapons", "houses", "injuries", "battles", "packs"))
METHODS = ("GET", "POST", "PUT", "DELETE")
STATUSES = (200, 201, 204, 404, 500)
POOL = 1_000

Call = tuple[float, dict[str, Any]]


def request_calls(count: int, seed: int = 7) -> list[Call]:
    """``count`` calls cycling through a pool of 1,000 distinct (value, labels) pairs."""
    rng = random.Random(seed)
    pool = [(round(rng.lognormvariate(3.0, 1.0), 3), {
        "endpoint": rng.choice(ENDPOINTS),
        "method": rng.choice(METHODS),
        "status": rng.choice(STATUSES),
        "user_id": str(rng.randrange(1, 5_000)),
    }) for _ in range(POOL)]
    return [pool[i % POOL] for i in range(count)]


def low_cardinality(i: int) -> tuple[str, str, int]:
    """The ``(endpoint, method, status)`` of the ``i``-th event of the cardinality run."""
    return ENDPOINTS[i % len(ENDPOINTS)], METHODS[(i // 7) % len(METHODS)], STATUSES[(i // 3) % len(STATUSES)]


def unique_calls(start: int, stop: int) -> Iterator[Call]:
    """Events whose ids are all distinct: the cardinality bomb of a busy site.

    ``user_id`` and ``list_id`` are unique per event; ``path`` embeds the list id, so it is
    unique too although its key does not look like an id (the case the routing rule must fold).
    """
    for i in range(start, stop):
        endpoint, method, status = low_cardinality(i)
        list_id = str(uuid.UUID(int=i))
        yield float(i % 997), {
            "endpoint": endpoint, "method": method, "status": status,
            "user_id": f"user-{i}", "list_id": list_id, "path": f"/lists/{list_id}/fighters",
        }
