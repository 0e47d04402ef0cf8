"""``configure()``: one typed keyword per row of the configuration table, code-only objects refused at
the call, and the caller's own type errors raised to the caller, never counted as internal errors."""

from __future__ import annotations

import inspect
import os
import typing
from collections.abc import Mapping, Sequence
from typing import Any

import pytest
from opentelemetry.sdk.metrics.export import InMemoryMetricReader, MetricExporter, MetricReader

import gyrinx_tracker
from gyrinx_tracker import _api, _config
from gyrinx_tracker._config import CODE_ONLY, VARIABLES, TrackerConfig
from gyrinx_tracker._signals.otel_logs import LogRecordExporter


class TestSignature:
    def test_one_keyword_only_parameter_per_option(self) -> None:
        """The parameters are exactly the table's fields plus the code-only ones, keyword-only, in no **options."""
        parameters = inspect.signature(gyrinx_tracker.configure).parameters
        assert set(parameters) == {variable.field for variable in VARIABLES} | set(CODE_ONLY)
        assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in parameters.values())

    def test_every_parameter_is_annotated_for_completion(self) -> None:
        """Each keyword has a type an IDE can show, and every annotation resolves (to the table's Literal types)."""
        names = {**vars(_config), "Mapping": Mapping, "Sequence": Sequence, "os": os, "MetricExporter": MetricExporter,
                 "MetricReader": MetricReader, "LogRecordExporter": LogRecordExporter}
        hints = typing.get_type_hints(_api.configure, localns=names)
        missing = [name for name in inspect.signature(gyrinx_tracker.configure).parameters if name not in hints]
        assert missing == []
        assert typing.get_args(hints["exporter"]) == ("auto", "console", "gcp", "otlp", "none")

    def test_a_keyword_left_out_is_not_passed(self) -> None:
        """catalogue=None is a value (no catalogue); a keyword not given keeps the environment's."""
        gyrinx_tracker.configure(exporter="none", max_queue=7)
        config = _api.current_config()
        assert config is not None and config.max_queue == 7 and config.batch_size == TrackerConfig().batch_size


class TestCodeOnlyOptions:
    @pytest.mark.parametrize(("option", "value"), [
        ("log_exporter", "not an exporter"),
        ("metric_exporter", 42),
        ("metric_reader", object()),
        ("mirror_to_logger", "yes"),
    ])
    def test_a_wrong_object_raises_type_error_naming_it(self, option: str, value: Any) -> None:
        """Refused at configure(), naming the option, instead of every event becoming export_failed."""
        with pytest.raises(TypeError, match=rf"configure\({option}=\.\.\.\) takes"):
            gyrinx_tracker.configure(**{option: value})

    def test_real_objects_are_accepted(self) -> None:
        """An SDK reader and None pass."""
        gyrinx_tracker.configure(exporter="console", metric_reader=InMemoryMetricReader(), log_exporter=None)


class TestCallerErrors:
    @pytest.mark.parametrize(("call", "error"), [
        (lambda: gyrinx_tracker.flush("x"), TypeError),  # type: ignore[arg-type]
        (lambda: gyrinx_tracker.flush(float("nan")), ValueError),
        (lambda: gyrinx_tracker.flush(-1), ValueError),
        (lambda: gyrinx_tracker.stats(1), TypeError),  # type: ignore[call-arg]
        (lambda: gyrinx_tracker.shutdown("soon"), TypeError),  # type: ignore[arg-type]
        (lambda: gyrinx_tracker.flush(timeout=1, wait=True), TypeError),  # type: ignore[call-arg]
    ])
    def test_raised_to_the_caller_and_not_counted(self, call: Any, error: type[Exception]) -> None:
        """A wrong argument raises like any function's; internal_errors (bugs of ours) stay empty."""
        gyrinx_tracker.configure(exporter="console", global_providers="never")
        with pytest.raises(error):
            call()
        assert gyrinx_tracker.stats()["internal_errors"] == {}

    def test_a_real_internal_error_is_still_counted(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """A TypeError raised inside (not by the call's arguments) is still the guard's: counted, not raised."""
        gyrinx_tracker.configure(exporter="console", global_providers="never")
        pipeline: Any = _api._pipeline
        monkeypatch.setattr(pipeline, "flush", lambda timeout: None + 1)
        try:
            assert gyrinx_tracker.flush(1) is False
        finally:
            monkeypatch.undo()  # before the autouse fixture shuts the pipeline down
        assert gyrinx_tracker.stats()["internal_errors"] == {"flush": 1}
