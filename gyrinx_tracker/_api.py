"""The public functions, each behind one guard: the tracker never raises into the application.

State is one module-level pipeline, created on the first ``track()`` from the environment (no
set-up call needed, as in the seed) or by ``configure()``. ``track`` reads it without a lock: a
reference read is atomic, and a replaced pipeline is closed, so a late event is counted, not lost.
"""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING, Any, TypedDict

from gyrinx_tracker import _diagnostics, _lifecycle
from gyrinx_tracker._config import TrackerConfig, from_env, with_overrides
from gyrinx_tracker._diagnostics import warn_once
from gyrinx_tracker._outputs import build
from gyrinx_tracker._pipeline import Pipeline, TrackerInputError
from gyrinx_tracker._stats import Snapshot, Stats

if TYPE_CHECKING:  # typing.Unpack is 3.11+; typing_extensions is not a dependency, type checkers ship it
    from typing_extensions import Unpack


class Options(TypedDict, total=False):
    """``configure()`` keywords: the fields of ``TrackerConfig`` (see its table in the README)."""

    exporter: str
    gcp_transport: str
    cloud_logging_endpoint: str | None
    project_id: str | None
    gcp_region: str | None
    log_name: str
    global_providers: str
    max_queue: int
    batch_size: int
    flush_interval: float
    shutdown_timeout: float
    export_timeout: float
    metadata_timeout: float
    handle_sigterm: bool
    strict: bool
    redact_allow: list[str] | tuple[str, ...]
    redact_extra: list[str] | tuple[str, ...]
    metric_labels: dict[str, list[str] | tuple[str, ...]]
    metric_label_values: int
    metric_series_per_event: int
    metric_events: int
    max_labels: int
    max_string: int
    log_exporter: Any
    metric_reader: Any


class _Disabled:
    """The ``none`` exporter: a pipeline that does nothing, at the cost of one method call."""

    def __init__(self, config: TrackerConfig) -> None:
        self.config = config

    def submit(self, event: object, n: object, value: object, labels: dict[str, Any]) -> None:
        return None

    def flush(self, timeout: float) -> bool:
        return True

    def shutdown(self, timeout: float) -> bool:
        return True

    def reset_after_fork(self) -> None:
        return None

    def finish_at_exit(self, timeout: float) -> bool:
        return True

    def snapshot(self) -> Snapshot:
        return Stats().snapshot(0)


_install_lock = threading.Lock()
_pipeline: Pipeline | _Disabled | None = None


def track(event: str, n: int = 1, value: float | None = None, **labels: Any) -> None:
    """Record that ``event`` happened ``n`` times, with an optional measurement and labels.

    Returns at once: the event is queued and exported by a background thread. Bad input is
    repaired and reported once (see the README's validation rules); nothing here raises unless
    the tracker was configured with ``strict=True``.
    """
    pipeline = _pipeline
    try:
        if pipeline is None:
            pipeline = _default_pipeline()
        pipeline.submit(event, n, value, labels)
    except Exception as error:  # noqa: BLE001 - the one guard around the hot path
        if pipeline is not None and pipeline.config.strict:
            raise
        warn_once(f"internal:track:{type(error).__name__}", "gyrinx_tracker.track failed: %r", error)


def configure(**options: Unpack[Options]) -> None:
    """Replace the configuration: environment variables, overridden by ``options``.

    Events queued under the previous configuration are flushed to its outputs first, so calling
    this twice never duplicates or loses an event. Unknown option names raise ``TypeError``.
    """
    config = with_overrides(from_env(os.environ), options)
    _install(config)


def flush(timeout: float = 5.0) -> bool:
    """Export everything tracked so far; False if ``timeout`` seconds were not enough."""
    pipeline = _pipeline
    if pipeline is None:
        return True
    try:
        return pipeline.flush(timeout)
    except Exception as error:  # noqa: BLE001
        return _failed("flush", error, pipeline)


def shutdown(timeout: float | None = None) -> bool:
    """Flush and stop; later events are counted as dropped until ``configure()`` is called again."""
    pipeline = _pipeline
    if pipeline is None:
        return True
    try:
        return pipeline.shutdown(pipeline.config.shutdown_timeout if timeout is None else timeout)
    except Exception as error:  # noqa: BLE001
        return _failed("shutdown", error, pipeline)


def stats() -> Snapshot:
    """Counts for the current configuration: emitted = exported + dropped + queued + in_flight."""
    pipeline = _pipeline
    return Stats().snapshot(0) if pipeline is None else pipeline.snapshot()


def reset() -> None:
    """Shut the current pipeline down and forget it: the next ``track()`` starts from the environment.

    Not public API: ``gyrinx_tracker.testing`` and our own tests use it between cases.
    """
    global _pipeline
    with _install_lock:
        old, _pipeline = _pipeline, None
    if old is not None:
        old.shutdown(old.config.shutdown_timeout)


def _failed(where: str, error: Exception, pipeline: Pipeline | _Disabled) -> bool:
    if pipeline.config.strict:
        raise error
    warn_once(f"internal:{where}", "gyrinx_tracker.%s failed: %r", where, error)
    return False


def _default_pipeline() -> Pipeline | _Disabled:
    """The first ``track()`` without ``configure()``: build from the environment, once."""
    return _install(from_env(os.environ), replace=False)


def _install(config: TrackerConfig, replace: bool = True) -> Pipeline | _Disabled:
    """Make ``config`` current (or, with ``replace=False``, keep a pipeline another thread made)."""
    global _pipeline
    with _install_lock:
        if not replace and _pipeline is not None:
            return _pipeline
        old = _pipeline
        new: Pipeline | _Disabled = _Disabled(config) if config.exporter == "none" else Pipeline(config, build)
        _pipeline = new
    if old is not None:
        try:
            old.shutdown(old.config.shutdown_timeout)
        except Exception as error:  # noqa: BLE001 - the new configuration must still take over
            warn_once("internal:replace", "gyrinx_tracker: shutting the previous pipeline down failed: %r", error)
    _lifecycle.install(_at_exit, _after_fork_in_child, _on_sigterm, config.handle_sigterm)
    return new


def _at_exit() -> None:
    pipeline = _pipeline
    if pipeline is not None:
        try:
            pipeline.finish_at_exit(pipeline.config.shutdown_timeout)
        except Exception as error:  # noqa: BLE001 - exit must go on
            _failed("exit", error, pipeline)


def _on_sigterm() -> None:
    """Runs inside a signal handler, between any two bytecodes of the app: it must not raise."""
    pipeline = _pipeline
    if pipeline is not None:
        try:
            pipeline.flush(pipeline.config.shutdown_timeout)
        except Exception as error:  # noqa: BLE001
            warn_once("internal:sigterm", "gyrinx_tracker: flushing on SIGTERM failed: %r", error)


def _after_fork_in_child() -> None:
    global _install_lock
    _install_lock = threading.Lock()
    _lifecycle.after_fork_in_child()
    _diagnostics.after_fork_in_child()
    if _pipeline is not None:
        _pipeline.reset_after_fork()


__all__ = ["TrackerInputError", "configure", "flush", "shutdown", "stats", "track"]
