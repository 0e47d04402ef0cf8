"""``make fleet`` (``python -m benchmarks.fleet``): the collector tier under load and under faults.

Builds (or finds in the cache) the collector with collector-config/build.py, then runs each
scenario once (apps -> front -> gateways -> files, plus a single gateway without a front for the
per-core baseline, plus variants that turn one setting off to measure what it is for), prints
every result as JSON and writes benchmarks/fleet/RESULTS.md. Exits non-zero if any run's books
disagree with its files or a trace was split between gateways.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from benchmarks.fleet.report import write_results
from benchmarks.fleet.run import Scenario, run
from benchmarks.fleet.tier import CONFIG_DIR

NO_GATEWAY_RETRY = "yaml:exporters: {loadbalancing/logs: {protocol: {otlp: {retry_on_failure: {enabled: false}}}}}"
NO_EXPORTER_BATCH = "yaml:exporters: {loadbalancing/logs: {sending_queue: {batch: null}}}"


def scenarios(apps: int, events: int) -> list[Scenario]:
    """The runs of ``make fleet``, in order."""
    kw: dict[str, Any] = {"apps": apps, "events": events}
    return [
        Scenario("one gateway, no front", gateways=1, front=False, **kw),
        Scenario("front + 2 gateways", **kw),
        Scenario("front + 2 gateways, paced: 4 apps x 250 events/s", apps=4, events=2_500, rate=250.0),
        Scenario("gateway SIGKILLed 2 s", fault="gateway-kill", **kw),
        Scenario("gateway memory limiter refusing", fault="refusal", **kw),
        Scenario("front SIGKILLed and restarted", fault="front-restart", **kw),
        Scenario("slow gateway (SIGSTOP 60 %)", fault="slow-gateway", **kw),
        Scenario("variant: no per-gateway retry, gateway SIGKILLed", fault="gateway-kill", front_configs=[NO_GATEWAY_RETRY], **kw),
        Scenario("variant: gateway down 8 s, default front queue", fault="gateway-kill", down_s=8.0, **kw),
        Scenario("variant: gateway down 8 s, front queue of 20 requests", fault="gateway-kill", down_s=8.0,
                 front_env={"GYRINX_COLLECTOR_QUEUE_SIZE": "20"}, **kw),
        Scenario("variant: no exporter-side batch on the front", front_configs=[NO_EXPORTER_BATCH], **kw),
    ]


def collector() -> Path:
    """The binary build.py prints last (building it once if the cache has none)."""
    out = subprocess.run([sys.executable, str(CONFIG_DIR / "build.py")], check=True, capture_output=True, text=True)
    return Path(out.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--apps", type=int, default=6)
    parser.add_argument("--events", type=int, default=10_000, help="events per app")
    parser.add_argument("--only", help="run only scenarios whose name contains this")
    parser.add_argument("--results", type=Path, default=Path(__file__).with_name("RESULTS.md"))
    args = parser.parse_args()
    binary = collector()
    results = []
    with tempfile.TemporaryDirectory(prefix="fleet-") as tmp:
        for index, scenario in enumerate(scenarios(args.apps, args.events)):
            if args.only and args.only not in scenario.name:
                continue
            result = run(binary, scenario, Path(tmp) / f"run-{index}")
            print(json.dumps(result), flush=True)
            results.append(result)
    write_results(args.results, results, binary)
    bad = [r["scenario"] for r in results if not all(r["checks"].values())]
    if bad:
        print("books and files disagree in: " + ", ".join(bad), file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
