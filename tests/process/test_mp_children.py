"""Events of ``multiprocessing`` children arrive when the child's work returns, whatever the start
method: counted at the loopback OTLP receiver, each exactly once.

Fork and forkserver children end with ``os._exit`` (no ``atexit`` hook runs), spawn children with
``sys.exit``. ``tests/processes/mp_children.py`` runs the tasks; nothing in it flushes.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from tests.faults import ROOT
from tests.servers.otlp import OtlpReceiver

pytest_plugins = ("tests.servers.fixtures",)

CHILD = Path(__file__).parents[1] / "processes" / "mp_children.py"
TASKS, PER_TASK = 4, 2_000


@pytest.mark.parametrize("kind", ["process", "pool", "pool_with", "executor"])
@pytest.mark.parametrize("method", ["fork", "forkserver", "spawn"])
def test_every_child_event_arrives_once(otlp_receiver: OtlpReceiver, method: str, kind: str) -> None:
    """Each of the 8,000 events tracked in children is at the receiver once, none missing."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GYRINX_TRACKER_", "OTEL_"))}
    env.update(PYTHONPATH=str(ROOT), GYRINX_TRACKER_EXPORTER="otlp", GYRINX_TRACKER_GLOBAL_PROVIDERS="never",
               OTEL_EXPORTER_OTLP_ENDPOINT=otlp_receiver.endpoint, GYRINX_TRACKER_METRIC_INTERVAL="60")
    done = subprocess.run([sys.executable, str(CHILD), method, kind, str(TASKS), str(PER_TASK)],
                          env=env, capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    assert f"DONE {TASKS * PER_TASK}" in done.stdout
    seqs = Counter(int(record["body"]["labels"]["seq"]) for record in otlp_receiver.log_records())
    assert sum(seqs.values()) == TASKS * PER_TASK, (len(seqs), done.stderr[-2000:])
    assert set(seqs) == set(range(TASKS * PER_TASK)) and max(seqs.values()) == 1
