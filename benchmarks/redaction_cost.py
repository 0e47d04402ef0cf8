"""Per-event cost of cleaning (redaction included) on the exporter thread's path, ``Sanitizer.queued``.

Run: ``.venv/bin/python -m benchmarks.redaction_cost [events]``. Prints nanoseconds per event (best of
five rounds) for ordinary events of three short labels, with values that repeat (the plain-value
cache answers) and values that are new each time (every check runs), and for events carrying a
URL or a JSON string (the structured path). Under ``valgrind --tool=callgrind`` pass ``--once CASE``
to run one case for a stable instruction count.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

from gyrinx_tracker._config import TrackerConfig
from gyrinx_tracker._core.sanitize import Sanitizer


def _cases(events: int) -> dict[str, list[dict[str, object]]]:
    return {
        "repeating": [{"endpoint": "/api/v1/fighters", "method": "GET", "user_type": "premium"}] * events,
        "fresh": [{"endpoint": f"/api/v1/fighters/{i}", "method": "GET", "user_id": f"u{i:08d}"}
                  for i in range(events)],
        "fresh_words": [{"feature": f"bulk import {i}", "list_id": f"3f2a9c1e-{i:04x}-4e1b-9d2c-7a6b5c4d3e2f",
                         "stat": "ammo"} for i in range(events)],
        "url": [{"url": f"https://example.com/a?page={i}&q=shoes", "method": "GET", "status": "ok"}
                for i in range(events)],
        "json": [{"body": f'{{"page": {i}, "q": "shoes"}}', "method": "GET", "status": "ok"}
                 for i in range(events)],
    }


def _run(sanitizer: Sanitizer, labels: list[dict[str, object]]) -> float:
    queued: Callable[..., object] = sanitizer.queued
    start = time.perf_counter_ns()
    for item in labels:
        queued("api_call", 1, None, dict(item), 0, None, None, None)
    return (time.perf_counter_ns() - start) / len(labels)


def main(argv: list[str]) -> None:
    events = int(argv[0]) if argv and argv[0].isdigit() else 20_000
    if "--once" in argv:
        case = argv[argv.index("--once") + 1]
        _run(Sanitizer(TrackerConfig()), _cases(events)[case])
        return
    for name, labels in _cases(events).items():
        best = min(_run(Sanitizer(TrackerConfig()), labels) for _ in range(5))
        print(f"{name:12s} {best:8.0f} ns/event")


if __name__ == "__main__":
    main(sys.argv[1:])
