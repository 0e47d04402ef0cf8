"""The tracker over OTLP/HTTP (``OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf``) to the real collector's HTTP port.

Before issue 24 the variable was ignored: gRPC went to the HTTP port and 0 of 1,000 events arrived.
The same app as the gRPC end-to-end test (``test_collector_e2e``); the collector's file exporter
is read back and compared with the app's books.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.integration.collector.collector_helpers import CollectorFactory
from tests.integration.collector.test_collector_e2e import APP, app_env, series_sum


@pytest.mark.parametrize("compression", ["none", "gzip"])
def test_http_protobuf_to_the_collectors_http_port(collectors: CollectorFactory, compression: str) -> None:
    """Logs, counters and the histogram arrive through the HTTP receiver; what arrived equals the books."""
    collector = collectors.start(["local.yaml"], name="local")
    env = app_env(collector, OTEL_EXPORTER_OTLP_PROTOCOL="http/protobuf",
                  OTEL_EXPORTER_OTLP_ENDPOINT=f"http://127.0.0.1:{collector.http_port}",
                  OTEL_EXPORTER_OTLP_COMPRESSION=compression)
    result = subprocess.run([sys.executable, "-c", APP], env=env, capture_output=True, text=True, timeout=90,
                            check=False)
    assert result.returncode == 0, result.stderr
    final = json.loads(result.stdout.splitlines()[1])["final"]
    assert final["emitted"] == final["exported"] == 54 and final["dropped"] == 0, (final, result.stderr)
    assert collector.stop() == 0  # drain the batch processor and the file exporter
    out = collector.read()
    logs = out.logs()
    assert len(logs) == final["exported"]
    assert {r.resource["service.name"] for r in logs} == {"e2e-app"}
    assert len({r.resource["service.instance.id"] for r in logs}) == 1
    assert series_sum(out, "tracker.checkout")[0] == 6
    assert series_sum(out, "tracker.page_view")[0] == 50
    assert series_sum(out, "tracker.signup")[0] == 1
    histogram = list(out.latest("tracker.checkout.value").values())
    assert sum(p.count for p in histogram) == 3
    assert sum(p.value for p in histogram) == pytest.approx(12.5 + 13.5 + 14.5)
