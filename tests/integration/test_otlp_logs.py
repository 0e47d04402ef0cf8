"""The tracker's own records, through the real OTLP output (``exporter="otlp"``), encode as the
official OTLP encoder encodes them (the encoder on SDK records is tests/unit/test_otlp_logs.py).

The records go to an in-memory exporter, but the output's metric exporter is the real gRPC one
on the default endpoint, localhost:4317, where nothing listens: its retries and its shutdown
deadline are most of this test's time (about 8 s), which is why it is not a unit test.
"""

from __future__ import annotations

from opentelemetry.exporter.otlp.proto.common._log_encoder import encode_logs
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter

import gyrinx_tracker
from gyrinx_tracker._outputs.otlp.logs import encode_batch


class TestEncoding:
    def test_the_tracker_records_encode_identically(self) -> None:
        """What the OTLP output actually sends: the tracker's own records, with labels of every kind."""
        exporter = InMemoryLogRecordExporter()
        gyrinx_tracker.configure(exporter="otlp", log_exporter=exporter, local_metrics=False)
        for index in range(50):
            gyrinx_tracker.track("api_call", index % 3, value=index / 3 if index % 2 else None, endpoint=f"/{index % 4}",
                                 status=200, ok=index % 2 == 0, tags=["a", "b"], meta={"k": index})
        assert gyrinx_tracker.flush(10)
        records = list(exporter.get_finished_logs())
        assert len(records) == 50
        assert encode_batch(records) == encode_logs(records)
