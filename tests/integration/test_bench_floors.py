"""The benchmark's floors (benchmarks/floors.py, issue 27) write what the modes they stand for write, and
every call they take arrives: a floor that wrote less, or lost calls, would flatter nothing but itself
and make every "distance from the floor" in RESULTS.md a lie.

Each output is read where it landed (the sink file, the real loopback OTLP receiver) and compared with
the calls made, and with what the tracker itself writes for the same calls.
"""

from __future__ import annotations

import contextlib
import io
import json
from typing import Any

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import use_span

import gyrinx_tracker
from benchmarks import floors
from benchmarks.impls import BY_KEY, Env, Sink, running
from benchmarks.rounds import measure
from benchmarks.workload import EVENT, request_calls
from tests.servers import OtlpReceiver

pytest_plugins = ("tests.servers.fixtures",)

CALLS = request_calls(1_300)  # more than two batches of 512, so batching and the last part-batch are both seen


def _payloads(calls: list[tuple[float, dict[str, Any]]]) -> list[dict[str, Any]]:
    return [{"event": EVENT, "n": 1, "value": value, "labels": labels} for value, labels in calls]


def _play(track: Any, calls: list[tuple[float, dict[str, Any]]]) -> None:
    for value, labels in calls:
        track(EVENT, 1, value, **labels)


class TestLineFloors:
    def test_local_floor_writes_the_original_json_line_per_call_in_order(self) -> None:
        """floor_local's lines are json.dumps of the original payload, one per call, none lost."""
        stream = io.StringIO()
        floor = floors.BatchFloor(floors.local_lines(stream), stamped=False)
        _play(floor.track_function(), CALLS)
        floor.close()
        assert stream.getvalue().splitlines() == [json.dumps(payload) for payload in _payloads(CALLS)]

    def test_stdout_floor_writes_the_lines_the_tracker_writes_but_for_the_time(self, tmp_path: Any) -> None:
        """floor_stdout's Cloud Run lines have the keys, order and values of the tracker's stdout lines."""
        ours = tmp_path / "ours"
        with open(ours, "w") as stream, contextlib.redirect_stdout(stream):
            gyrinx_tracker.configure(exporter="gcp", gcp_transport="stdout", project_id="bench-project",
                                     gcp_metrics=False, global_providers="never")
            _play(gyrinx_tracker.track, CALLS)
            assert gyrinx_tracker.flush(30.0)
        floor_out = io.StringIO()
        floor = floors.BatchFloor(floors.CloudRunLines(floor_out, "bench-project"), stamped=True)
        _play(floor.track_function(), CALLS)
        floor.close()

        def without_time(text: str) -> list[list[tuple[str, Any]]]:
            return [[(k, v) for k, v in json.loads(line).items() if k != "time"] for line in text.splitlines()]

        written = floor_out.getvalue()
        assert without_time(written) == without_time(ours.read_text())
        assert len(written.splitlines()) == len(CALLS)
        assert all(json.loads(line)["time"].endswith("Z") for line in written.splitlines())

    def test_stdout_floor_writes_the_trace_fields_of_a_current_span(self) -> None:
        """A call made inside a span gets the trace fields Cloud Logging reads, as the tracker writes them."""
        stream = io.StringIO()
        floor = floors.BatchFloor(floors.CloudRunLines(stream, "proj"), stamped=True)
        span = TracerProvider().get_tracer("t").start_span("s")
        with use_span(span, end_on_exit=True):
            floor.track_function()(EVENT, 1, None, a="b")
        floor.close()
        line = json.loads(stream.getvalue())
        context = span.get_span_context()
        assert line["logging.googleapis.com/trace"] == f"projects/proj/traces/{context.trace_id:032x}"
        assert line["logging.googleapis.com/spanId"] == f"{context.span_id:016x}"
        assert line["logging.googleapis.com/trace_sampled"] is True
        assert list(line)[-4:] == ["event", "n", "value", "labels"]


class TestOtlpFloor:
    def test_every_call_arrives_as_the_record_the_tracker_would_send(self, otlp_receiver: OtlpReceiver) -> None:
        """floor_otlp's requests parse at the real receiver into one record per call, with the tracker's
        body, attributes, event name and severity."""
        requests = floors.OtlpRequests(otlp_receiver.address)
        floor = floors.BatchFloor(requests, stamped=True)
        calls = [*CALLS, (None, {}), (2.5, {"flag": True, "n2": -3, "ratio": 0.25})]  # None value, no labels, other types
        _play(floor.track_function(), calls)
        floor.close()
        requests.close()
        records = otlp_receiver.log_records()
        assert len(records) == len(calls)
        sizes = [sum(len(s.log_records) for r in q.resource_logs for s in r.scope_logs) for q in otlp_receiver.log_requests]
        assert sum(sizes) == len(calls) and max(sizes) <= floors.BATCH  # one call per batch of at most 512
        for record, (value, labels) in zip(records, calls, strict=True):
            body = {"event": EVENT, "n": 1, "labels": labels} if labels else {"event": EVENT, "n": 1}
            if value is not None:
                body["value"] = value
            assert record["body"] == body
            assert record["attributes"] == {"gyrinx.event": EVENT, **{f"gyrinx.label.{k}": v for k, v in labels.items()}}
            assert (record["event_name"], record["severity_text"]) == (EVENT, "INFO")
            assert record["time_unix_nano"] > 0 and record["observed_time_unix_nano"] >= record["time_unix_nano"]

    def test_the_floor_row_is_counted_at_the_receiver(self) -> None:
        """A round of floor_otlp through the benchmark's own receivers: delivered = calls, no problem."""
        from benchmarks.receivers import receivers

        sink = Sink()
        try:
            with receivers() as endpoints:
                env = Env(sink, endpoints)
                for key in ("floor_deque", "floor_local", "floor_stdout", "floor_otlp"):
                    with running(BY_KEY[key], env, warm_up=100) as runner:
                        sample, problems = measure(runner, CALLS)
                    assert problems == [], key
                    assert sample.cpu_us > 0
        finally:
            sink.close()
