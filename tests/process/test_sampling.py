"""Sampling decided by the trace id is the same in separate interpreters, whatever their hash seeds
(the sampling itself is tests/unit/test_sampling.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap


class TestTraceConsistency:
    def test_two_processes_agree_on_every_trace(self) -> None:
        """Separate interpreters (different hash seeds) keep exactly the same traces' events."""
        script = textwrap.dedent("""
            import json
            from opentelemetry import context, trace
            from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags
            from gyrinx_tracker import track
            from gyrinx_tracker.testing import capture_events
            with capture_events(sample_rates={"api_call": 0.2}) as captured:
                for i in range(1, 301):
                    span = NonRecordingSpan(SpanContext(i * 0x9E3779B97F4A7C15B7, 7, is_remote=True))
                    token = context.attach(trace.set_span_in_context(span))
                    track("api_call")
                    context.detach(token)
                print(json.dumps(sorted(event.trace_id for event in captured.events)))
        """)
        runs = [subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True,
                               env={**os.environ, "PYTHONHASHSEED": seed}) for seed in ("1", "2")]
        first, second = (json.loads(run.stdout.strip().splitlines()[-1]) for run in runs)
        assert first == second and 0 < len(first) < 300
