"""Sampling: logs keep a share of high-frequency events, metrics and the books keep every one.

Statistical checks use 5-sigma binomial bounds, so a correct sampler fails them about once in
three million runs; a sampler that ignores its rate, or keeps everything, fails them every time.
Trace-consistency is checked against the real SDK's ``TraceIdRatioBased`` sampler, not against a
copy of its formula; that two interpreters agree is tests/process/test_sampling.py.
"""

from __future__ import annotations

import json
import logging
import math
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from opentelemetry import context, trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.sampling import TraceIdRatioBased
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags

import gyrinx_tracker
from gyrinx_tracker import _api, track
from gyrinx_tracker._config import from_env
from gyrinx_tracker.testing import Capture, MetricPoint, capture_events

CALLS = 4_000


def within_five_sigma(kept: int, calls: int, rate: float) -> bool:
    """Whether ``kept`` out of ``calls`` is a plausible binomial draw at ``rate``."""
    sigma = math.sqrt(calls * rate * (1 - rate))
    return abs(kept - calls * rate) <= 5 * sigma


@contextmanager
def in_trace(trace_id: int, sampled: bool = True) -> Iterator[None]:
    """Make a remote span with ``trace_id`` current, as a propagated ``traceparent`` would."""
    span_context = SpanContext(trace_id, 0x1234, is_remote=True,
                               trace_flags=TraceFlags(TraceFlags.SAMPLED if sampled else 0))
    token = context.attach(trace.set_span_in_context(NonRecordingSpan(span_context)))
    try:
        yield
    finally:
        context.detach(token)


def points(captured: Capture, name: str) -> list[MetricPoint]:
    return [point for point in captured.metric_points() if point.name == name]


def books_balance(stats: gyrinx_tracker.Snapshot) -> bool:
    return stats["emitted"] == (stats["exported"] + stats["dropped"] + stats["sampled_out"]
                                + stats["queued"] + stats["in_flight"])


class TestExactMetrics:
    def test_counters_and_histograms_count_every_call_while_logs_keep_the_share(self) -> None:
        """At rate 0.1 the counter is the number of calls and the histogram's count and sum are exact."""
        with capture_events(sample_rates={"page_view": 0.1}) as captured:
            for i in range(CALLS):
                track("page_view", value=float(i % 7), page="home")
            kept = len(captured.events)
            (counter,) = points(captured, "tracker.page_view")
            (histogram,) = points(captured, "tracker.page_view.value")
            stats = gyrinx_tracker.stats()
        assert counter.value == CALLS
        assert histogram.count == CALLS
        assert histogram.sum == sum(float(i % 7) for i in range(CALLS))
        assert within_five_sigma(kept, CALLS, 0.1), kept
        assert stats["sampled_out"] == CALLS - kept and books_balance(stats)

    def test_sampled_out_events_are_their_own_line_of_the_books(self) -> None:
        """Sampled-out events are counted as such, never as drops, and the books balance."""
        with capture_events(sample_rates={"page_view": 0.25}) as captured:
            for _ in range(CALLS):
                track("page_view")
            kept = len(captured.events)
            stats = gyrinx_tracker.stats()
            (self_metric,) = points(captured, "gyrinx_tracker.sampled_out")
        assert stats["dropped"] == 0 and stats["dropped_by_reason"] == {}
        assert stats["exported"] == kept
        assert stats["sampled_out"] == CALLS - kept == self_metric.value
        assert books_balance(stats)

    def test_rate_zero_writes_no_logs_but_counts_everything(self) -> None:
        """A rate of 0 silences an event's logs; its counter still counts every call."""
        with capture_events(sample_rates="heartbeat=0") as captured:
            for _ in range(100):
                track("heartbeat", n=2)
            track("user_login")
            assert [event.event for event in captured.events] == ["user_login"]
            assert captured.count("heartbeat") == 200
            assert gyrinx_tracker.stats()["sampled_out"] == 100

    def test_events_not_named_keep_every_record_by_default(self) -> None:
        """Without a ``*`` entry, events not named are never sampled; with one, they are."""
        with capture_events(sample_rates={"page_view": 0}) as captured:
            for _ in range(50):
                track("api_call")
            assert len(captured.events) == 50
        with capture_events(sample_rates={"user_login": 1, "*": 0}) as captured:
            track("user_login")
            track("api_call")
            assert [event.event for event in captured.events] == ["user_login"]


class TestTraceConsistency:
    @pytest.mark.parametrize("rate", [0.1, 0.5, 0.9])
    def test_the_decision_is_the_sdk_trace_id_ratio_samplers(self, rate: float) -> None:
        """Inside spans of a TracerProvider sampling at the same rate, exactly the sampled traces' events are kept."""
        provider = TracerProvider(sampler=TraceIdRatioBased(rate))
        tracer = provider.get_tracer("test")
        sampled_traces = set()
        with capture_events(sample_rates={"api_call": rate}) as captured:
            for _ in range(400):
                with tracer.start_as_current_span("request") as span:
                    span_context = span.get_span_context()
                    if span_context.trace_flags.sampled:
                        sampled_traces.add(f"{span_context.trace_id:032x}")
                    track("api_call")
            kept_traces = {event.trace_id for event in captured.events}
        assert kept_traces == sampled_traces
        assert 0 < len(sampled_traces) < 400

    def test_all_events_of_one_trace_are_kept_or_dropped_together_across_threads(self) -> None:
        """Four threads track events of the same 200 traces; each trace is all kept or all dropped."""
        trace_ids = [(i * 0x9E3779B97F4A7C15 + 0x1F) % (1 << 128) | 1 for i in range(1, 201)]

        def worker() -> None:
            for trace_id in trace_ids:
                with in_trace(trace_id):
                    for _ in range(3):
                        track("page_view")

        with capture_events(sample_rates={"page_view": 0.3}) as captured:
            threads = [threading.Thread(target=worker) for _ in range(4)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            per_trace: dict[str | None, int] = {}
            for event in captured.events:
                per_trace[event.trace_id] = per_trace.get(event.trace_id, 0) + 1
            stats = gyrinx_tracker.stats()
        assert set(per_trace.values()) == {12}  # 4 threads x 3 events, every kept trace whole
        expected = {f"{t:032x}" for t in trace_ids
                    if TraceIdRatioBased(0.3).should_sample(None, t, "x").decision.is_sampled()}
        assert set(per_trace) == expected
        assert stats["sampled_out"] == 12 * (len(trace_ids) - len(expected))

    def test_the_decision_ignores_the_traces_sampled_flag(self) -> None:
        """The trace id decides, not the upstream flag: an unsampled parent does not silence logs."""
        trace_id = next(t for t in range(1, 10_000)
                        if TraceIdRatioBased(0.5).should_sample(None, t, "x").decision.is_sampled())
        with capture_events(sample_rates={"page_view": 0.5}) as captured:
            with in_trace(trace_id, sampled=False):
                track("page_view")
            assert [event.trace_id for event in captured.events] == [f"{trace_id:032x}"]

    def test_without_a_trace_the_decision_is_random(self) -> None:
        """Events outside any span are kept at the rate's share, not all or none."""
        with capture_events(sample_rates={"page_view": 0.5}) as captured:
            for _ in range(CALLS):
                track("page_view")
            kept = len(captured.events)
        assert within_five_sigma(kept, CALLS, 0.5), kept


class TestRateCarried:
    def test_kept_entries_carry_their_rate_and_others_keep_the_original_shape(self) -> None:
        """A kept sampled entry has a top-level ``sample_rate``; an entry at rate 1 has no such key."""
        with capture_events(sample_rates={"page_view": 0.5}) as captured:
            for _ in range(200):
                track("page_view", value=1.5, page="home")
            track("user_login", method="password")
            events = captured.events
        sampled = [event.body for event in events if event.event == "page_view"]
        (login,) = [event.body for event in events if event.event == "user_login"]
        assert sampled and all(body == {"event": "page_view", "n": 1, "value": 1.5, "labels": {"page": "home"},
                                        "sample_rate": 0.5} for body in sampled)
        assert login == {"event": "user_login", "n": 1, "labels": {"method": "password"}}

    def test_the_local_json_line_carries_the_rate(self, caplog: pytest.LogCaptureFixture) -> None:
        """The local record's message has ``sample_rate`` after the labels, and stays valid JSON."""
        caplog.set_level(logging.INFO, logger="gyrinx.tracker")
        gyrinx_tracker.configure(exporter="console", sample_rates="page_view=0.5", global_providers="never")
        with in_trace(next(t for t in range(1, 10_000)
                           if TraceIdRatioBased(0.5).should_sample(None, t, "x").decision.is_sampled())):
            track("page_view", page="home")
        track("user_login")
        gyrinx_tracker.flush()
        lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "gyrinx.tracker"]
        assert [line.get("sample_rate") for line in lines] == [0.5, None]
        assert list(lines[0]) == ["event", "n", "labels", "sample_rate"]


class TestRateCap:
    def test_a_spike_is_cut_to_the_cap_per_second_and_counted(self) -> None:
        """At most ``cap`` records per second of call time are written; the rest are sampled out, metrics exact."""
        cap = 50
        with capture_events(sample_caps={"page_view": cap}) as captured:
            first = time.time_ns() // 10**9
            for _ in range(600):
                track("page_view")
            seconds = time.time_ns() // 10**9 - first + 1
            per_second: dict[int, int] = {}
            for event in captured.events:
                per_second[event.timestamp_ns // 10**9] = per_second.get(event.timestamp_ns // 10**9, 0) + 1
            stats = gyrinx_tracker.stats()
            assert captured.count("page_view") == 600
        assert max(per_second.values()) == cap
        assert sum(per_second.values()) <= cap * seconds < 600
        assert stats["sampled_out"] == 600 - sum(per_second.values()) and books_balance(stats)

    def test_the_cap_applies_after_the_rate_and_only_to_events_it_names(self) -> None:
        """A ``*`` cap covers unnamed events; an event with its own cap uses that one."""
        with capture_events(sample_caps="*=5,user_login=1000") as captured:
            first = time.time_ns() // 10**9
            for _ in range(100):
                track("api_call")
                track("user_login")
            seconds = time.time_ns() // 10**9 - first + 1
            names = [event.event for event in captured.events]
        assert names.count("user_login") == 100
        assert 5 <= names.count("api_call") <= 5 * seconds


class TestConfiguration:
    def test_the_variable_is_read_and_a_bad_entry_is_ignored_with_a_warning(
            self, caplog: pytest.LogCaptureFixture) -> None:
        """``GYRINX_TRACKER_SAMPLE_RATES`` keeps its good entries and warns once about the bad ones."""
        config = from_env({"GYRINX_TRACKER_SAMPLE_RATES": "page_view=0.1, api_call=oops,x=2,*=1,nonsense"})
        assert config.sample_rates == {"page_view": 0.1, "*": 1.0}
        (warning,) = [r for r in caplog.records if "sample rate" in r.getMessage()]
        assert "api_call=oops" in warning.getMessage() and "x=2" in warning.getMessage()

    def test_code_and_environment_mean_the_same(self) -> None:
        """``configure(sample_rates=...)`` takes the string form and a mapping, parsed alike."""
        with capture_events(sample_rates="page_view=0.1,*=1"):
            from_string = _api._pipeline.config.sample_rates  # type: ignore[union-attr]
        with capture_events(sample_rates={"page_view": "0.1", "*": 1}):
            from_mapping = _api._pipeline.config.sample_rates  # type: ignore[union-attr]
        assert from_string == from_mapping == {"page_view": 0.1, "*": 1.0}

    def test_by_default_nothing_is_sampled(self) -> None:
        """With no rates every event is written and ``sampled_out`` stays 0."""
        with capture_events() as captured:
            for _ in range(100):
                track("page_view")
            assert len(captured.events) == 100
            assert gyrinx_tracker.stats()["sampled_out"] == 0
