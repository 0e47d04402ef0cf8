"""Configuration: read from the environment, overridden in code, bad values warned and ignored."""

from __future__ import annotations

import pytest

import gyrinx_tracker
from gyrinx_tracker import _api
from gyrinx_tracker._config import TrackerConfig, from_env, with_overrides


class TestFromEnv:
    def test_no_variables_give_the_defaults(self) -> None:
        """An empty environment is the documented default configuration."""
        assert from_env({}) == TrackerConfig()

    @pytest.mark.parametrize(("variable", "raw", "field", "expected"), [
        ("GYRINX_TRACKER_EXPORTER", " OTLP ", "exporter", "otlp"),
        ("GYRINX_TRACKER_GCP_TRANSPORT", "stdout", "gcp_transport", "stdout"),
        ("GYRINX_TRACKER_MAX_QUEUE", "100", "max_queue", 100),
        ("GYRINX_TRACKER_FLUSH_INTERVAL", "0.05", "flush_interval", 0.05),
        ("GYRINX_TRACKER_HANDLE_SIGTERM", "off", "handle_sigterm", False),
        ("GYRINX_TRACKER_REDACT_ALLOW", "token_count, session_length", "redact_allow",
         ("token_count", "session_length")),
        ("GYRINX_TRACKER_METRIC_LABELS", "api_call=endpoint,method;login=method", "metric_labels",
         {"api_call": ("endpoint", "method"), "login": ("method",)}),
        ("GOOGLE_CLOUD_PROJECT", "proj", "project_id", "proj"),
        ("GCLOUD_PROJECT", "legacy", "project_id", "legacy"),
    ])
    def test_each_variable_is_parsed(self, variable: str, raw: str, field: str, expected: object) -> None:
        """Each documented variable sets its field, trimmed and typed."""
        assert getattr(from_env({variable: raw}), field) == expected

    @pytest.mark.parametrize(("variable", "raw"), [
        ("GYRINX_TRACKER_EXPORTER", "datadog"),
        ("GYRINX_TRACKER_MAX_QUEUE", "-5"),
        ("GYRINX_TRACKER_MAX_QUEUE", "lots"),
        ("GYRINX_TRACKER_FLUSH_INTERVAL", "nan"),
        ("GYRINX_TRACKER_HANDLE_SIGTERM", "maybe"),
        ("GYRINX_TRACKER_METRIC_LABELS", "endpoint,method"),
    ])
    def test_a_bad_value_warns_once_and_keeps_the_default(
            self, variable: str, raw: str, caplog: pytest.LogCaptureFixture) -> None:
        """A typo in a deployment never stops the app: one warning naming the variable, then the default."""
        assert from_env({variable: raw}) == TrackerConfig()
        assert from_env({variable: raw}) == TrackerConfig()
        warnings = [r for r in caplog.records if variable in r.getMessage()]
        assert len(warnings) == 1 and warnings[0].name == "gyrinx_tracker"


class TestConfigure:
    def test_unknown_options_raise_type_error(self) -> None:
        """A misspelt keyword fails at start-up like any bad keyword argument."""
        with pytest.raises(TypeError, match="max_queu"):
            gyrinx_tracker.configure(max_queu=5)  # type: ignore[call-arg]

    def test_bad_option_values_warn_and_keep_the_default(self, caplog: pytest.LogCaptureFixture) -> None:
        """configure(exporter='bogus', max_queue=True) keeps the defaults for both and says so."""
        config = with_overrides(TrackerConfig(), {"exporter": "bogus", "max_queue": True, "batch_size": 7})
        assert (config.exporter, config.max_queue, config.batch_size) == ("auto", 20_000, 7)
        assert "exporter='bogus'" in caplog.text and "max_queue=True" in caplog.text

    def test_options_override_the_environment(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Environment first, then configure() keywords on top."""
        monkeypatch.setenv("GYRINX_TRACKER_MAX_QUEUE", "10")
        monkeypatch.setenv("GYRINX_TRACKER_BATCH_SIZE", "3")
        gyrinx_tracker.configure(batch_size=4)
        pipeline = _api._pipeline
        assert pipeline is not None
        assert (pipeline.config.max_queue, pipeline.config.batch_size) == (10, 4)

    def test_the_none_exporter_does_nothing(self) -> None:
        """exporter='none' disables tracking: nothing is queued, flush is immediate."""
        gyrinx_tracker.configure(exporter="none")
        gyrinx_tracker.track("user_login")
        assert gyrinx_tracker.flush(0.01)
        assert gyrinx_tracker.stats()["emitted"] == 0


class TestOptionsParsedLikeVariables:
    """configure() keywords go through the same parser as their environment variables."""

    @pytest.mark.parametrize(("field", "given", "expected"), [
        ("max_queue", "100", 100),
        ("max_queue", 100, 100),
        ("exporter", "GCP", "gcp"),
        ("gcp_transport", "STDOUT", "stdout"),
        ("redact_allow", "session_id", ("session_id",)),
        ("redact_allow", ["session_id", "token_count"], ("session_id", "token_count")),
        ("redact_extra", "a, b", ("a", "b")),
        ("metric_labels", {"api_call": ["endpoint"]}, {"api_call": ("endpoint",)}),
        ("metric_labels", "api_call=endpoint,method", {"api_call": ("endpoint", "method")}),
        ("handle_sigterm", "off", False),
        ("strict", True, True),
        ("flush_interval", "0.5", 0.5),
        ("flush_interval", 2, 2.0),
        ("project_id", " proj ", "proj"),
        ("cloud_logging_endpoint", None, None),
    ])
    def test_a_value_from_code_means_what_the_variable_would(self, field: str, given: object, expected: object) -> None:
        """configure(max_queue='100') is GYRINX_TRACKER_MAX_QUEUE=100: a number, not a string."""
        assert getattr(with_overrides(TrackerConfig(), {field: given}), field) == expected

    @pytest.mark.parametrize(("field", "given"), [
        ("max_queue", None),
        ("max_queue", 1.5),
        ("max_queue", "-3"),
        ("exporter", 3),
        ("exporter", "datadog"),
        ("redact_allow", 5),
        ("handle_sigterm", "perhaps"),
        ("metric_labels", ["api_call"]),
        ("log_name", ""),
    ])
    def test_a_bad_value_from_code_warns_and_keeps_the_previous(
            self, field: str, given: object, caplog: pytest.LogCaptureFixture) -> None:
        """A value its variable's parser refuses is refused in code too, with a warning naming it."""
        assert with_overrides(TrackerConfig(), {field: given}) == TrackerConfig()
        assert f"configure({field}=" in caplog.text

    def test_a_string_max_queue_no_longer_breaks_every_track(self) -> None:
        """configure(max_queue='100') used to make every later track() fail inside the guard."""
        gyrinx_tracker.configure(max_queue="100", log_exporter=_memory(), global_providers="never")
        gyrinx_tracker.track("user_login")
        assert gyrinx_tracker.flush(5.0)
        books = gyrinx_tracker.stats()
        assert (books["emitted"], books["exported"], books["internal_errors"]) == (1, 1, {})


def _memory() -> object:
    from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter

    return InMemoryLogRecordExporter()
