"""Living alongside an application's own OpenTelemetry set-up (e.g. ``opentelemetry-instrument``).

Global providers can be set once per process, so each case runs in a subprocess.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

APP_WITH_GLOBALS = textwrap.dedent("""
    import json, logging
    from opentelemetry import _logs, metrics
    from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
    from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader

    exporter = InMemoryLogRecordExporter()
    logger_provider = LoggerProvider()
    logger_provider.add_log_record_processor(SimpleLogRecordProcessor(exporter))
    _logs.set_logger_provider(logger_provider)
    reader = InMemoryMetricReader()
    metrics.set_meter_provider(MeterProvider(metric_readers=[reader]))
    # What opentelemetry-instrument's logging integration does: every stdlib record becomes an OTel record.
    logging.getLogger().addHandler(LoggingHandler(logger_provider=logger_provider))
    logging.getLogger().setLevel(logging.INFO)

    from gyrinx_tracker import track, flush
    track("api_call", endpoint="/a", status=200)
    track("api_call", endpoint="/a", status=200)
    assert flush(5)
    records = [r.log_record for r in exporter.get_finished_logs()]
    data = reader.get_metrics_data()
    points = [] if data is None else [
        (m.name, dict(p.attributes), p.value)
        for rm in data.resource_metrics
        for sm in rm.scope_metrics for m in sm.metrics if m.name.startswith("tracker.")
        for p in m.data.data_points
    ]
    print(json.dumps({
        "events": [r.event_name for r in records],
        "bodies": [r.body for r in records],
        "points": points,
        "same_provider": _logs.get_logger_provider() is logger_provider,
    }))
""")


def _run(script: str, **env: str) -> dict[str, object]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("GYRINX_TRACKER_", "OTEL_"))}
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60,
                            env={**clean, **env})
    assert result.returncode == 0, result.stderr
    output: dict[str, object] = json.loads(result.stdout.strip().splitlines()[-1])
    return output


class TestAppProviders:
    def test_events_go_into_the_apps_providers_exactly_once(self) -> None:
        """With global SDK providers installed, records and metrics land there, once each, with no duplicate via logging."""
        output = _run(APP_WITH_GLOBALS)
        assert output["events"] == ["api_call", "api_call"]
        assert output["bodies"] == [{"event": "api_call", "n": 1, "labels": {"endpoint": "/a", "status": 200}}] * 2
        assert output["points"] == [["tracker.api_call", {"endpoint": "/a", "status": 200}, 2]]
        assert output["same_provider"] is True

    def test_never_mode_keeps_private_providers(self) -> None:
        """GYRINX_TRACKER_GLOBAL_PROVIDERS=never leaves the app's providers alone and prints local JSON."""
        output = _run(APP_WITH_GLOBALS, GYRINX_TRACKER_GLOBAL_PROVIDERS="never")
        # The app's LoggingHandler on root sees our gyrinx.tracker JSON lines: that is the app's routing,
        # and each event still appears exactly once; then the metric line of gyrinx.tracker.metrics.
        lines = [json.loads(body) for body in output["bodies"]]  # type: ignore[attr-defined]
        assert output["events"] == [None] * len(lines)
        assert [line["event"] for line in lines if "event" in line] == ["api_call", "api_call"]
        assert [line for line in lines if "metric" in line] == [
            {"metric": "tracker.api_call", "unit": "{event}", "attributes": {"endpoint": "/a", "status": 200}, "value": 2}]
        assert output["points"] == []


    def test_sampling_leaves_the_apps_metrics_exact(self) -> None:
        """With a rate of 0, no record reaches the app's logger provider, but its meter counts both calls."""
        output = _run(APP_WITH_GLOBALS, GYRINX_TRACKER_SAMPLE_RATES="api_call=0")
        assert output["events"] == []
        assert output["points"] == [["tracker.api_call", {"endpoint": "/a", "status": 200}, 2]]


class TestNoTakeover:
    def test_tracking_never_installs_global_providers(self) -> None:
        """An app without OpenTelemetry set-up still has the API's proxy providers after tracking."""
        script = textwrap.dedent("""
            import json
            from opentelemetry import _logs, metrics, trace
            from gyrinx_tracker import track, flush
            track("user_login")
            flush(5)
            print(json.dumps({"logs": type(_logs.get_logger_provider()).__name__,
                              "metrics": type(metrics.get_meter_provider()).__name__,
                              "trace": type(trace.get_tracer_provider()).__name__}))
        """)
        assert _run(script) == {"logs": "ProxyLoggerProvider", "metrics": "_ProxyMeterProvider",
                                "trace": "ProxyTracerProvider"}


APP_CORRELATION = textwrap.dedent("""
    import json
    from opentelemetry import _logs, metrics, trace
    from opentelemetry.sdk._logs import LoggerProvider
    from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider

    resource = Resource.create({"service.name": "shop", "deployment.environment": "prod"})
    exporter = InMemoryLogRecordExporter()
    logger_provider = LoggerProvider(resource=resource)
    logger_provider.add_log_record_processor(SimpleLogRecordProcessor(exporter))
    _logs.set_logger_provider(logger_provider)
    reader = InMemoryMetricReader()
    metrics.set_meter_provider(MeterProvider(metric_readers=[reader], resource=resource))
    trace.set_tracer_provider(TracerProvider(resource=resource))

    from gyrinx_tracker import track, flush
    with trace.get_tracer("shop").start_as_current_span("checkout") as span:
        track("api_call", value=12.5, endpoint="/pay")
    assert flush(5)
    (record,) = [r for r in exporter.get_finished_logs() if r.log_record.event_name == "api_call"]
    resources = [dict(rm.resource.attributes) for rm in reader.get_metrics_data().resource_metrics]
    print(json.dumps({
        "span": [span.get_span_context().trace_id, span.get_span_context().span_id],
        "record": [record.log_record.trace_id, record.log_record.span_id],
        "record_resource": dict(record.resource.attributes),
        "metric_resources": resources,
        "app": dict(resource.attributes),
    }))
""")


class TestCorrelationAndResource:
    def test_records_carry_the_span_and_both_signals_the_apps_resource(self) -> None:
        """GLOBAL_PROVIDERS=auto: the record is on the caller's span; logs and metrics have the app's resource."""
        out = _run(APP_CORRELATION)
        assert out["record"] == out["span"]
        assert out["record_resource"] == out["app"]
        assert out["metric_resources"] == [out["app"]]
