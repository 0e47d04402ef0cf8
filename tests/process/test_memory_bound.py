"""Memory held by the queue is bounded in bytes whatever the input, with the exporter hung.

Each case is a real process (tests/processes/hung_queue_memory.py) whose OTLP exporter is stuck on
a TCP black hole, so every event stays queued; it reports the growth of its peak RSS
(``resource.getrusage``) across the calls. Bounds are functional (megabytes), never timings.
The byte budget itself, in process, is tests/unit/test_memory_bound.py.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from gyrinx_tracker._pipeline.budget import QUEUED_FOOTPRINT

ROOT = Path(__file__).parents[2]


def hung_run(mode: str, count: int) -> dict[str, Any]:
    """Run the black-hole process and return its report, after checking nothing was exported."""
    done = subprocess.run([sys.executable, "-m", "tests.processes.hung_queue_memory", mode, str(count)],
                          capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    assert (result["exported"], result["waiting"]) == (0, count + 1), "the exporter must really be hung"
    return result


@pytest.mark.slow
class TestMemoryWithAHungExporter:
    def test_megabyte_strings_do_not_pile_up(self) -> None:
        """2,000 events with a fresh 1 MB string label each grow RSS by under 100 MB (2 GB before):
        the strings are cut to max_string on the caller, before they are queued."""
        assert hung_run("strings", 2_000)["growth_mb"] < 100

    def test_large_events_within_every_per_event_limit_share_one_byte_budget(self) -> None:
        """2,000 events of 200 KB each (25 labels of 8,000 characters, under every per-event limit)
        grow RSS by under 100 MB (400 MB before): past max_queue_bytes their labels are dropped."""
        assert hung_run("wide", 2_000)["growth_mb"] < 100

    @pytest.mark.parametrize("mode", ["small", "small4"])
    def test_events_queued_as_given_stay_within_their_footprint(self, mode: str) -> None:
        """The largest events queued as given hold at most QUEUED_FOOTPRINT bytes each, so the
        README's bound (max_queue times that, plus max_queue_bytes) holds."""
        result = hung_run(mode, 20_000)
        assert result["growth_mb"] * 1024 * 1024 / 20_000 < QUEUED_FOOTPRINT
