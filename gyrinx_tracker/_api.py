"""The public functions, each behind the one guard: the tracker never raises into the application.

State is one module-level pipeline, created on the first ``track()`` from the environment (no
set-up call needed, as with the original tracker) or by ``configure()``. ``track`` reads it
without a lock: a reference read is atomic, and a replaced pipeline is closed, so a late event is
counted, not lost. Strict mode (``configure(strict=True)``, for test suites) is the only way an
error reaches the caller.
"""

from __future__ import annotations

import itertools
import os
import sys
import threading
from typing import TYPE_CHECKING, Any

from gyrinx_tracker import _diagnostics, _guard, _stats
from gyrinx_tracker._core.problems import TrackerInputError
from gyrinx_tracker._pipeline import process as _lifecycle
from gyrinx_tracker._stats import Snapshot, Stats

# The pipeline, its configuration table and the shutdown machinery pull in most of the stdlib
# (re, decimal, json, dataclasses, inspect) and the OpenTelemetry context: they are imported by
# the first ``track()`` or ``configure()``, not by ``import gyrinx_tracker`` (see _load()).
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from opentelemetry.sdk.metrics.export import MetricExporter, MetricReader

    from gyrinx_tracker._config import (
        Delivery,
        Exporter,
        GcpTransport,
        GlobalProviders,
        RequestFlush,
        TrackerConfig,
        WhenFull,
    )
    from gyrinx_tracker._pipeline.disabled import Disabled
    from gyrinx_tracker._pipeline.pipeline import Pipeline
    from gyrinx_tracker._pipeline.port import Output
    from gyrinx_tracker._signals.otel_logs import LogRecordExporter

# Defaults below the environment: set by the pytest plugin (synchronous, local), empty otherwise.
_defaults: dict[str, object] = {}
_caller = sys._getframe  # noqa: SLF001 - CPython's (and PyPy's) documented way to the call site
_install_lock = threading.Lock()
_pipeline: Pipeline | Disabled | None = None
# Whether this thread is building a pipeline, and how many of its own calls it dropped meanwhile:
# a ``track()`` on that same thread (a signal handler, a logging handler or a ``__del__`` that runs
# between two of its bytecodes) would take the install lock again (a deadlock) or import a module
# half-way through its own import (an ImportError). Such a call is dropped and counted
# (``reentrant``); the count goes into the new pipeline's books once it exists.
_building = threading.local()


def _strict() -> bool:
    pipeline = _pipeline
    return pipeline is not None and pipeline.config.strict


def track(event: str, /, n: int = 1, value: float | None = None, **labels: Any) -> None:
    """Record that ``event`` happened ``n`` times, with an optional measurement and labels.

    ``event`` is positional-only, so a label may be called ``event`` (``event="push"``); ``n`` and
    ``value`` stay keywords, so labels cannot take those two names.

    Returns at once: the event is queued and exported by a background thread. Bad input is
    repaired and reported (see docs/redaction.md); nothing here raises unless the tracker was
    configured with ``strict=True``. The guard is written inline rather than as a
    decorator: this is the hot path, and a wrapper call would be a tenth of its cost.
    """
    pipeline = _pipeline
    try:
        if pipeline is None:
            pipeline = _default_pipeline()
            if pipeline is None:
                return
        site = None
        if pipeline.wants_site:  # the local output puts the caller's thread and code on its records
            caller = _caller(1)
            site = (caller.f_code, caller.f_lasti)  # f_lineno would decode the line table here
        pipeline.submit(event, n, value, labels, site)
    except TrackerInputError:
        raise  # strict mode's verdict on the caller's input, meant for the caller
    except Exception as error:  # noqa: BLE001 - the guard around the hot path: counted in caught()
        books = getattr(pipeline, "stats", None)  # a Pipeline's (Disabled keeps none); no import here
        if isinstance(books, Stats):
            books.drop(_stats.TRACK_FAILED)  # submit() cannot fail after queueing
        _guard.caught("track", error, pipeline is not None and pipeline.config.strict)


_UNSET: Any = object()  # "not given": None is a value some options take (catalogue=None: none)


def configure(
    *,
    exporter: Exporter = _UNSET,
    gcp_transport: GcpTransport = _UNSET,
    cloud_logging_endpoint: str | None = _UNSET,
    cloud_monitoring_endpoint: str | None = _UNSET,
    gcp_metrics: bool = _UNSET,
    project_id: str | None = _UNSET,
    gcp_region: str | None = _UNSET,
    log_name: str = _UNSET,
    global_providers: GlobalProviders = _UNSET,
    delivery: Delivery = _UNSET,
    max_queue: int = _UNSET,
    when_full: WhenFull = _UNSET,
    block_timeout: float = _UNSET,
    max_queue_bytes: int = _UNSET,
    batch_size: int = _UNSET,
    flush_interval: float = _UNSET,
    shutdown_timeout: float = _UNSET,
    sigterm_flush_timeout: float = _UNSET,
    export_timeout: float = _UNSET,
    export_concurrency: int = _UNSET,
    request_flush: RequestFlush = _UNSET,
    request_flush_timeout: float = _UNSET,
    metadata_timeout: float = _UNSET,
    handle_sigterm: bool = _UNSET,
    strict: bool = _UNSET,
    redact_allow: str | Sequence[str] = _UNSET,
    redact_extra: str | Sequence[str] = _UNSET,
    redact_emails: bool = _UNSET,
    metric_labels: str | Mapping[str, Sequence[str]] = _UNSET,
    metric_label_values: int = _UNSET,
    metric_series_per_event: int = _UNSET,
    metric_events: int = _UNSET,
    metric_interval: float = _UNSET,
    local_metrics: bool = _UNSET,
    max_labels: int = _UNSET,
    max_string: int = _UNSET,
    sample_rates: str | Mapping[str, float] = _UNSET,
    sample_caps: str | Mapping[str, float] = _UNSET,
    catalogue: str | os.PathLike[str] | None = _UNSET,
    log_exporter: LogRecordExporter | None = _UNSET,
    metric_reader: MetricReader | None = _UNSET,
    metric_exporter: MetricExporter | None = _UNSET,
    mirror_to_logger: bool = _UNSET,
) -> None:
    """Replace the configuration: environment variables, overridden by the keywords given.

    One keyword per row of the configuration table (``_config.VARIABLES``; a test keeps the two
    equal), each parsed exactly as its environment variable is, so a bad value warns and keeps
    the default, as a bad variable does. The code-only objects (``log_exporter``,
    ``metric_reader``, ``metric_exporter``, ``mirror_to_logger``) have no variable: a wrong one
    raises ``TypeError`` here, at start-up, instead of turning every event into ``export_failed``.
    Events queued under the previous configuration are flushed to its outputs first, so calling
    this twice never duplicates or loses an event.
    """
    options = {name: value for name, value in locals().items() if value is not _UNSET}
    _install(options)


def _seconds(function: str, timeout: object, none_allowed: bool = False) -> None:
    """Refuse a timeout that is not a number of seconds: the caller's mistake, raised to them."""
    if timeout is None and none_allowed:
        return
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)):
        raise _guard.CallerTypeError(f"{function}(timeout=...) takes seconds as a number"
                                     f"{' or None' if none_allowed else ''}, not {type(timeout).__name__} {timeout!r}")
    if timeout != timeout or timeout < 0:  # NaN, or negative
        raise _guard.CallerValueError(f"{function}(timeout=...) takes seconds >= 0, not {timeout!r}")


@_guard.guarded("flush", False, _strict)
def flush(timeout: float = 5.0) -> bool:
    """Export everything tracked before this call; False if ``timeout`` seconds were not enough.

    Events other threads track meanwhile do not hold it up.
    """
    _seconds("flush", timeout)
    _lifecycle.install_pending()
    pipeline = _pipeline
    return True if pipeline is None else pipeline.flush(timeout)


@_guard.guarded("flush_request", False, _strict)
def flush_request(stage: str, timeout: float | None = None, when: str | None = None) -> bool:
    """Request-scoped delivery, for the web integrations: flush within the request's deadline.

    ``stage`` is ``"response"`` (the response is about to complete) or ``"end"`` (it was handed
    to the server); the configured ``request_flush`` (or ``when``) says at which stage to flush,
    and ``request_flush_timeout`` (or ``timeout``) for how long. With nothing queued or in
    flight there is nothing to wait for, and the call costs one look at the books. Only the log
    side is flushed: metrics are exported on their own interval, not once per request.
    """
    pipeline = _pipeline
    if pipeline is None:
        return True
    config = pipeline.config
    when = when or config.request_flush
    if when == "off" or (when == "after" and stage == "response"):
        return True
    books = pipeline.snapshot()
    if not books["queued"] and not books["in_flight"]:
        return True
    return pipeline.drain_here(config.request_flush_timeout if timeout is None else timeout)


@_guard.guarded("shutdown", False, _strict)
def shutdown(timeout: float | None = None) -> bool:
    """Flush and stop; later events are counted as dropped until ``configure()`` is called again."""
    _seconds("shutdown", timeout, none_allowed=True)
    pipeline = _pipeline
    if pipeline is None:
        return True
    return pipeline.shutdown(pipeline.config.shutdown_timeout if timeout is None else timeout)


@_guard.guarded("stats", Stats().snapshot(0), _strict)
def stats() -> Snapshot:
    """Counts for the current configuration: emitted = exported + dropped + sampled_out + queued + in_flight.

    ``dropped`` is the sum of ``dropped_by_reason``; its ``export_unknown`` events were sent and
    timed out, so the receiver holds between ``exported`` and ``exported + export_unknown``.
    """
    _lifecycle.install_pending()
    pipeline = _pipeline
    return Stats().snapshot(0, _guard.counts()) if pipeline is None else pipeline.snapshot()


def current_config() -> TrackerConfig | None:
    """The configuration in force, if a pipeline exists (for ``gyrinx_tracker.testing``)."""
    pipeline = _pipeline
    return None if pipeline is None else pipeline.config


def reset() -> None:
    """Shut the current pipeline down and forget it: the next ``track()`` starts from the environment.

    Not public API: ``gyrinx_tracker.testing`` and our own tests use it between cases.
    """
    global _pipeline
    with _install_lock:
        old, _pipeline = _pipeline, None
    if old is not None:
        old.shutdown(old.config.shutdown_timeout)


def _open_output(config: TrackerConfig, stats: Stats) -> Output:
    """Runs on the worker: builds the output (Google's libraries are imported there, when chosen)."""
    from gyrinx_tracker._outputs.choice import open_output

    return open_output(config, stats)


def _wants_site(config: TrackerConfig) -> bool:
    from gyrinx_tracker._outputs.choice import writes_stdlib_records

    return writes_stdlib_records(config, os.environ)


def _preload_outputs() -> None:
    """Import the output chooser (the logs and metrics SDKs) on the caller's thread, once.

    Not at ``import gyrinx_tracker`` (an app that never tracks pays nothing), and not only on the
    worker: some of these modules register a threading exit hook when imported, which raises once
    the interpreter has begun to exit, and a short script's first events would then be lost while
    the worker was still importing.
    """
    import gyrinx_tracker._outputs.choice  # noqa: F401 - imported for its side effect of being loaded


def _config(options: dict[str, object]) -> TrackerConfig:
    """The environment, over the defaults a host set (the pytest plugin), under ``options``."""
    from gyrinx_tracker._config import VARIABLE_OF, from_env, with_overrides

    environ = os.environ
    defaults = {name: value for name, value in _defaults.items() if VARIABLE_OF.get(name) not in environ}
    return with_overrides(from_env(environ), {**defaults, **options})


def default_config() -> TrackerConfig:
    """The configuration the first ``track()`` without ``configure()`` would build now.

    Not public API: the pytest plugin compares with it to undo a test's ``configure()``.
    """
    return _config({})


def set_defaults(defaults: dict[str, object]) -> None:
    """Replace the defaults that environment variables and ``configure()`` override.

    Not public API: the pytest plugin makes delivery synchronous and outputs local this way, and
    an explicit variable or ``configure()`` option still wins.
    """
    global _defaults
    from gyrinx_tracker._config import TrackerConfig, with_overrides

    with_overrides(TrackerConfig(), defaults)  # unknown names raise here, not at the first track()
    _defaults = dict(defaults)


def _default_pipeline() -> Pipeline | Disabled | None:
    """The first ``track()`` without ``configure()``: build from the environment, once.

    None (the call counted as dropped, ``reentrant``) when this thread is already building it.
    """
    if getattr(_building, "now", False):  # before any import: a module may be half-imported
        next(_building.dropped)  # a C-level step: a nested handler cannot interleave (``x += 1`` could)
        return None
    return _install({}, replace=False)


def _install(options: dict[str, object], replace: bool = True) -> Pipeline | Disabled | None:
    """Make the configuration of ``options`` current (or, with ``replace=False``, keep a pipeline
    another thread made). Re-entered on the building thread: ignored, said once."""
    if getattr(_building, "now", False):
        warn_reentrant()
        return _pipeline
    _building.dropped = itertools.count()  # before ``now``: a handler between the two would count into a reset
    _building.now = True
    try:
        new, old = _installed(options, replace)
    finally:
        _building.now = False
        _book_early_reentrant(_pipeline, next(_building.dropped))  # the count of calls made before
    if new is old:  # another thread built it first: nothing to retire or install
        return new
    if old is not None:
        _retire(old)
    _lifecycle.install(_at_exit, _after_fork_in_child, _on_sigterm, new.config.handle_sigterm)
    return new


def _installed(options: dict[str, object], replace: bool) -> tuple[Pipeline | Disabled, Pipeline | Disabled | None]:
    """(the current pipeline, the one it replaced), under the install lock."""
    global _pipeline
    config = _config(options)
    with _install_lock:
        if not replace and _pipeline is not None:
            return _pipeline, _pipeline
        old, _pipeline = _pipeline, _built(config)
    return _pipeline, old


def _built(config: TrackerConfig) -> Pipeline | Disabled:
    from gyrinx_tracker._pipeline.disabled import Disabled
    from gyrinx_tracker._pipeline.pipeline import Pipeline

    if config.exporter == "none":
        return Disabled(config)
    _preload_outputs()
    return Pipeline(config, _open_output, wants_site=_wants_site(config))


def _book_early_reentrant(new: Pipeline | Disabled | None, count: int) -> None:
    """Book the calls dropped while ``new`` was being built into its books."""
    books = getattr(new, "stats", None)
    if count and isinstance(books, Stats):
        books.drop(_stats.REENTRANT, count)


def warn_reentrant() -> None:
    """``configure()`` re-entered on the thread building a pipeline: ignored, said once."""
    _diagnostics.warn_limited("reentrant:configure", "gyrinx_tracker: configure() called while this "
                              "thread was already building a pipeline (from a signal or logging "
                              "handler?); ignored")


@_guard.guarded("replace", None)  # the new configuration must take over whatever the old one does
def _retire(old: Pipeline | Disabled) -> None:
    old.shutdown(old.config.shutdown_timeout)


# The exit hook's least time, even when an app's own SIGTERM handling used up the deadline: an
# exporter that works needs milliseconds, and the app chose to overrun.
EXIT_FLOOR = 0.5


@_guard.guarded("exit", None)  # exit must go on
def _at_exit() -> None:
    pipeline = _pipeline
    if pipeline is not None:
        from gyrinx_tracker._pipeline.lifecycle import DEADLINE  # loaded with the pipeline: a dictionary look-up

        left = DEADLINE.remaining(pipeline.config.shutdown_timeout)
        pipeline.finish_at_exit(max(left, EXIT_FLOOR))
    _diagnostics.report_suppressed()  # the warnings held back that no later message reported


@_guard.guarded("sigterm", None)  # runs between any two bytecodes of the app: it must not raise
def _on_sigterm(hands_on: bool) -> None:
    """Start the deadline and flush without taking a lock (see ``Pipeline.flush_from_signal``).

    Handing on to an app's handler: for ``sigterm_flush_timeout`` at most, so the app's own
    shutdown starts soon, and the exit hook gets the rest. Otherwise the signal kills the process
    next, so flush for the whole deadline and say in one line what could not be exported.
    """
    pipeline = _pipeline
    if pipeline is None or not pipeline.config.handle_sigterm:
        return
    from gyrinx_tracker._pipeline.lifecycle import DEADLINE  # loaded with the pipeline: a dictionary look-up

    config = pipeline.config
    budget = DEADLINE.remaining(config.shutdown_timeout)
    if hands_on:
        budget = min(budget, config.sigterm_flush_timeout)
    pipeline.flush_from_signal(budget)
    if not hands_on:
        pipeline.say_on_the_way_out()


def _install_at_import() -> None:
    """Install the SIGTERM handler now, on the main thread, unless the environment says not to.

    The first ``track()`` may run on a request thread, where Python refuses to install one.
    """
    name = "GYRINX_TRACKER_HANDLE_SIGTERM"
    raw = os.environ.get(name)
    wanted = True  # unset or empty: the default
    if raw:  # only a set variable needs the configuration table (and its imports) to be read
        from gyrinx_tracker._config import VARIABLES

        parse = next(variable.parse for variable in VARIABLES if variable.name == name)
        try:
            wanted = parse(raw)
        except ValueError:
            wanted = True  # the pipeline's own reading of the variable warns about it
    if wanted:
        _lifecycle.install(_at_exit, _after_fork_in_child, _on_sigterm, True)


def _after_fork_in_child() -> None:
    global _install_lock
    _install_lock = threading.Lock()
    _lifecycle.after_fork_in_child()
    shutdown_module = sys.modules.get("gyrinx_tracker._pipeline.lifecycle")
    if shutdown_module is not None:  # never imported: no deadline was ever started
        shutdown_module.DEADLINE.reset()
    _diagnostics.after_fork_in_child()
    _guard.after_fork_in_child()
    if _pipeline is not None:
        _pipeline.reset_after_fork()


_install_at_import()
