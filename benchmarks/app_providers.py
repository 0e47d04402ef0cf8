"""What the tracker adds on top of the app's own SDK pipeline (issue 24): ``ours_app`` over ``sdk_otlp``.

``ours_app`` is the tracker with ``GLOBAL_PROVIDERS=auto`` emitting into the app's global SDK logger
and meter providers; ``sdk_otlp`` is that same app emitting the equivalent log record, counter
increment and histogram record itself. Their per-round CPU ratio is what the tracker costs beyond
work the app's SDK pipeline does either way (``Logger.emit``, the instruments, the encoder). The
full run (``python -m benchmarks``) reports it as a target row (``targets.app_overhead``);
``python -m benchmarks.app_providers`` runs only these two, interleaved, for a quick reading.
"""

from __future__ import annotations

import argparse
import statistics

from benchmarks.impls import BY_KEY, Env, Sink, shutdown_app_providers
from benchmarks.receivers import receivers
from benchmarks.rounds import Row, middle_half, run_rounds
from benchmarks.workload import request_calls

KEYS = ("sdk_otlp", "ours_app")


def overhead(rows: dict[str, Row]) -> tuple[float, float, float, float]:
    """(median ratio, low and high quartile, median extra CPU µs/event) of ``ours_app`` over ``sdk_otlp``, per round."""
    pairs = list(zip(rows["ours_app"].samples, rows["sdk_otlp"].samples, strict=True))
    median, low, high = middle_half([ours.cpu_us / sdk.cpu_us for ours, sdk in pairs])
    return median, low, high, statistics.median(ours.cpu_us - sdk.cpu_us for ours, sdk in pairs)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.app_providers", description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--events", type=int, default=4_000)
    args = parser.parse_args()
    sink = Sink()
    with receivers() as endpoints:
        rows = run_rounds(tuple(BY_KEY[key] for key in KEYS), args.rounds, request_calls(args.events),
                          Env(sink, endpoints))
        shutdown_app_providers()
    sink.close()
    median, low, high, extra = overhead(rows)
    for key in KEYS:
        print(f"{key}: CPU µs/event median {statistics.median(s.cpu_us for s in rows[key].samples):.1f}"
              + (f" ({'; '.join(rows[key].problems)})" if rows[key].problems else ""))
    print(f"ours_app / sdk_otlp: {median:.2f}× ({low:.2f}–{high:.2f}), {extra:+.1f} µs/event")


if __name__ == "__main__":
    main()
