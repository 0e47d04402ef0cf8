"""The standard OTEL_EXPORTER_OTLP_* variables, read as the official Python exporters read them."""

from __future__ import annotations

import pytest
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter as OfficialHttpLogs
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter as OfficialHttpMetrics

from gyrinx_tracker._outputs.otlp import settings


def warnings_about(caplog: pytest.LogCaptureFixture, text: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if text in r.getMessage()]


class TestProtocol:
    @pytest.mark.parametrize(("environ", "logs", "metrics"), [
        ({}, "grpc", "grpc"),
        ({"OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf"}, "http/protobuf", "http/protobuf"),
        ({"OTEL_EXPORTER_OTLP_PROTOCOL": " HTTP/Protobuf "}, "http/protobuf", "http/protobuf"),
        ({"OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf", "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL": "grpc"},
         "http/protobuf", "grpc"),
        ({"OTEL_EXPORTER_OTLP_LOGS_PROTOCOL": "http/protobuf"}, "http/protobuf", "grpc"),
    ])
    def test_the_per_signal_variable_wins_over_the_generic_one(self, environ: dict[str, str], logs: str,
                                                                metrics: str) -> None:
        """Per signal first, then OTEL_EXPORTER_OTLP_PROTOCOL, then grpc."""
        assert (settings.protocol(environ, "LOGS"), settings.protocol(environ, "METRICS")) == (logs, metrics)

    def test_an_unknown_value_is_one_warning_naming_variable_value_and_default(
            self, caplog: pytest.LogCaptureFixture) -> None:
        """A typo is never silent: the variable, its value and the protocol used instead are named once."""
        environ = {"OTEL_EXPORTER_OTLP_LOGS_PROTOCOL": "http/protobuff"}
        assert [settings.protocol(environ, "LOGS") for _ in range(3)] == ["grpc"] * 3
        (warning,) = warnings_about(caplog, "OTEL_EXPORTER_OTLP_LOGS_PROTOCOL")
        assert "'http/protobuff'" in warning and "using the default, grpc" in warning

    def test_http_json_is_sent_as_http_protobuf_with_a_warning(self, caplog: pytest.LogCaptureFixture) -> None:
        """The official Python exporters have no JSON encoding; the warning says what is sent instead."""
        assert settings.protocol({"OTEL_EXPORTER_OTLP_PROTOCOL": "http/json"}, "METRICS") == "http/protobuf"
        assert any("offer no http/json" in w for w in warnings_about(caplog, "OTEL_EXPORTER_OTLP_PROTOCOL"))


class TestHttpSettingsAsTheOfficialExporterReadsThem:
    @pytest.mark.parametrize("environ", [
        {},
        {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"},
        {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318/"},
        {"OTEL_EXPORTER_OTLP_ENDPOINT": "https://gw.example/otlp"},
        {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://a:4318", "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT": "http://b:9/custom"},
        {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://a:4318", "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT": "http://c/m"},
    ])
    def test_endpoints_equal_the_official_exporters(self, environ: dict[str, str],
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
        """Path appended to the generic endpoint only; default http://localhost:4318/ (compared with
        the official exporters' resolved endpoint, a private attribute read by this test only)."""
        for name, value in environ.items():
            monkeypatch.setenv(name, value)
        assert settings.http_endpoint(environ, "LOGS") == OfficialHttpLogs()._endpoint
        assert settings.http_endpoint(environ, "METRICS") == OfficialHttpMetrics()._endpoint

    def test_headers_timeout_compression_and_certificates_per_signal_first(self) -> None:
        """Each setting takes the per-signal variable over the generic one."""
        environ = {
            "OTEL_EXPORTER_OTLP_HEADERS": "a=1,b=2", "OTEL_EXPORTER_OTLP_LOGS_HEADERS": "api-key=k%20v",
            "OTEL_EXPORTER_OTLP_TIMEOUT": "7", "OTEL_EXPORTER_OTLP_LOGS_TIMEOUT": "2.5",
            "OTEL_EXPORTER_OTLP_COMPRESSION": "GZIP", "OTEL_EXPORTER_OTLP_CERTIFICATE": "/ca.pem",
            "OTEL_EXPORTER_OTLP_LOGS_CLIENT_CERTIFICATE": "/c.pem", "OTEL_EXPORTER_OTLP_CLIENT_KEY": "/k.pem",
        }
        logs = settings.http_settings(environ, "LOGS")
        assert logs.headers == {"api-key": "k v"}
        assert (logs.timeout, logs.compression, logs.verify, logs.client_cert) == (2.5, "gzip", "/ca.pem",
                                                                                   ("/c.pem", "/k.pem"))
        metrics = settings.http_settings(environ, "METRICS")
        assert (metrics.headers, metrics.timeout, metrics.client_cert) == ({"a": "1", "b": "2"}, 7.0, None)
        assert settings.http_settings({}, "LOGS", timeout=3.0).timeout == 3.0
        assert settings.http_settings({}, "LOGS").verify is True

    @pytest.mark.parametrize(("name", "value", "reader", "default"), [
        ("OTEL_EXPORTER_OTLP_TIMEOUT", "ten", settings.http_timeout, 10.0),
        ("OTEL_EXPORTER_OTLP_LOGS_TIMEOUT", "-1", settings.http_timeout, 10.0),
        ("OTEL_EXPORTER_OTLP_COMPRESSION", "brotli", settings.compression, "none"),
    ])
    def test_a_bad_value_warns_naming_it_and_gives_the_default(self, name: str, value: str, reader: object,
                                                               default: object,
                                                               caplog: pytest.LogCaptureFixture) -> None:
        """Where the official exporter would raise, one warning and the default (never a silent 0)."""
        assert reader({name: value}, "LOGS") == default  # type: ignore[operator]
        (warning,) = warnings_about(caplog, name)
        assert repr(value) in warning and str(default) in warning
