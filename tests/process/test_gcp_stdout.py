"""Cloud Run structured JSON on stdout, parsed from a real subprocess's output."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from typing import Any

SCRIPT = textwrap.dedent("""
    import logging
    logging.basicConfig(level=logging.INFO)  # the app logs to stderr; our lines must still be on stdout, once
    from opentelemetry.sdk.trace import TracerProvider
    from gyrinx_tracker import track
    tracer = TracerProvider().get_tracer("app")
    with tracer.start_as_current_span("request") as span:
        track("api_call", endpoint="/api/v1/fighters", method="GET", status=200)
        ctx = span.get_span_context()
        print(f"TRACE {ctx.trace_id:032x} {ctx.span_id:016x}", flush=True)
    track("operation_duration", value=12.5, operation="generate_report")
""")


def _run() -> tuple[list[dict[str, Any]], list[str]]:
    env = {**os.environ, "GOOGLE_CLOUD_PROJECT": "proj", "GYRINX_TRACKER_GCP_TRANSPORT": "stdout"}
    env.pop("GYRINX_TRACKER_EXPORTER", None)
    result = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=60, env=env)
    assert result.returncode == 0, result.stderr
    entries = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    others = [line for line in result.stdout.splitlines() if not line.startswith("{")]
    assert '"event"' not in result.stderr
    return entries, others


class TestStructuredStdout:
    def test_each_event_is_one_structured_line_with_the_payload_at_top_level(self) -> None:
        """severity, time and the original tracker's payload keys sit at the top level of one line per event."""
        entries, _ = _run()
        assert [entry["event"] for entry in entries] == ["api_call", "operation_duration"]
        first, second = entries
        assert first["severity"] == "INFO" and first["time"].endswith("Z")
        assert first["n"] == 1 and first["labels"] == {"endpoint": "/api/v1/fighters", "method": "GET", "status": 200}
        assert second["value"] == 12.5 and "value" not in first

    def test_trace_fields_use_cloud_loggings_special_keys(self) -> None:
        """logging.googleapis.com/trace, spanId and trace_sampled correlate the line with the request trace."""
        entries, others = _run()
        _, trace_id, span_id = others[0].split()
        first, second = entries
        assert first["logging.googleapis.com/trace"] == f"projects/proj/traces/{trace_id}"
        assert first["logging.googleapis.com/spanId"] == span_id
        assert first["logging.googleapis.com/trace_sampled"] is True
        assert not any(key.startswith("logging.googleapis.com/") for key in second)
