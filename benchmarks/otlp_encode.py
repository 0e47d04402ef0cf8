"""Encoding one batch of the tracker's OTLP log records: the SDK's encode_logs against encode_batch.

Standalone: ``python benchmarks/otlp_encode.py``. Records are made by the real pipeline (public
API, ``log_exporter=`` an in-memory exporter), then both encoders run on the same batch in
interleaved rounds; process CPU per record, medians.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

from opentelemetry.exporter.otlp.proto.common._log_encoder import encode_logs
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter

import gyrinx_tracker
from gyrinx_tracker._outputs.otlp.logs import encode_batch

BATCH = 512
ROUNDS = 15


def records() -> list[Any]:
    exporter = InMemoryLogRecordExporter()
    gyrinx_tracker.configure(exporter="console", log_exporter=exporter, local_metrics=False, handle_sigterm=False)
    for index in range(BATCH):
        gyrinx_tracker.track("api_call", endpoint=f"/api/v1/{index % 5}", method="GET", status=200,
                             user_id=f"u{index}")
    assert gyrinx_tracker.flush(30)
    found = list(exporter.get_finished_logs())
    assert encode_batch(found) == encode_logs(found)
    return found


def main() -> None:
    batch = records()
    timings: dict[str, list[float]] = {"encode_logs": [], "encode_batch": []}
    for _ in range(ROUNDS):
        for name, encode in (("encode_logs", encode_logs), ("encode_batch", encode_batch)):
            start = time.process_time()
            for _ in range(5):
                encode(batch)
            timings[name].append((time.process_time() - start) / (5 * len(batch)) * 1e6)
    for name, values in timings.items():
        print(f"{name:13} {statistics.median(values):6.2f} µs per record (min {min(values):.2f}, max {max(values):.2f})")


if __name__ == "__main__":
    main()
