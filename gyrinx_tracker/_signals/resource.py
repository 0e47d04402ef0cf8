"""The OpenTelemetry resource of our private providers: what ``Resource.create()`` gives, built without threads.

``Resource.create()`` runs its detectors on a ``ThreadPoolExecutor``. Our outputs are built on the
worker thread, which in a short script can still be doing so while the interpreter shuts down, and
by then ``concurrent.futures`` refuses new work ("cannot schedule new futures after interpreter
shutdown"): the script's events were lost. So the same detectors run here, on this thread:
``OTELResourceDetector`` (``OTEL_RESOURCE_ATTRIBUTES``, ``OTEL_SERVICE_NAME``), the detectors named
in ``OTEL_EXPERIMENTAL_RESOURCE_DETECTORS`` (cloud ones among them), and a ``service.instance.id``.

Why the instance id matters: without it two gunicorn workers sent identical resources, attributes
and metric names, and a backend that keys cumulative series by identity (Prometheus, Cloud
Monitoring through the collector) kept one worker's totals (110 of 220 requests). SDK releases from
1.40 add one per process (``ServiceInstanceIdResourceDetector``), and we take the same, so the app's
traces and our logs and metrics name one instance; on 1.39 it is ours: a random UUID per process.
Both are new in a forked child (the pipeline rebuilds its outputs there); ``process.pid`` is beside it.

When the application runs its own SDK providers, their resource (public ``.resource``) is merged
over ours, so our metrics and logs carry the app's service name and attributes; only the instance
id and pid stay this process's own (``_PER_PROCESS``).
"""

from __future__ import annotations

import os
import sys
import threading
import uuid
from collections.abc import Mapping
from importlib.metadata import entry_points
from typing import Any

from opentelemetry.sdk.resources import SERVICE_NAME, OTELResourceDetector, Resource
from opentelemetry.sdk.version import __version__ as sdk_version

from gyrinx_tracker._diagnostics import warn_limited

SERVICE_INSTANCE_ID = "service.instance.id"
PROCESS_PID = "process.pid"
_BUILT_IN = frozenset({"otel", "service_instance"})  # the detectors always run (below)

_SDK = Resource({
    "telemetry.sdk.language": "python",
    "telemetry.sdk.name": "opentelemetry",
    "telemetry.sdk.version": sdk_version,
})

_instance_lock = threading.Lock()
_instance: tuple[int, str] | None = None  # (the pid it was made in, the id)


def instance_id() -> str:
    """This process's ``service.instance.id``: the SDK's own where it has one (1.40 on: the id its
    ``Resource.create()`` gives the app's providers in this process), else a UUID made once per
    process; a forked child gets a new one either way."""
    global _instance
    try:
        from opentelemetry.sdk.resources import ServiceInstanceIdResourceDetector  # public, from 1.40
    except ImportError:
        pass
    else:
        return str(ServiceInstanceIdResourceDetector().detect().attributes[SERVICE_INSTANCE_ID])
    pid = os.getpid()
    with _instance_lock:
        if _instance is None or _instance[0] != pid:
            _instance = (pid, str(uuid.uuid4()))
        return _instance[1]


def resource_from_env(environ: Mapping[str, str] | None = None, app: Resource | None = None) -> Resource:
    """What ``Resource.create()`` gives with the configured detectors, computed on this thread,
    with the app's own resource (``app_resource()``), when it has one, merged over it."""
    environ = os.environ if environ is None else environ
    resource = _SDK.merge(Resource({SERVICE_INSTANCE_ID: instance_id(), PROCESS_PID: os.getpid()}))
    for detected in _configured_detectors(environ):
        resource = resource.merge(detected)
    resource = resource.merge(OTELResourceDetector().detect())  # the variables win, as in create()
    if not resource.attributes.get(SERVICE_NAME):
        name = "unknown_service" + (f":{os.path.basename(sys.executable)}" if sys.executable else "")
        resource = resource.merge(Resource({SERVICE_NAME: name}))
    if app is None:
        return resource
    ours = {key: resource.attributes[key] for key in _PER_PROCESS}
    return resource.merge(app).merge(Resource(ours))  # see _PER_PROCESS


# The app's provider may have been made before a fork (gunicorn --preload) and carry the master's
# instance id into every worker; this process's own id and pid are kept over the app's.
_PER_PROCESS = (SERVICE_INSTANCE_ID, PROCESS_PID)


def _configured_detectors(environ: Mapping[str, str]) -> list[Resource]:
    """The resources of the detectors ``OTEL_EXPERIMENTAL_RESOURCE_DETECTORS`` names (their entry
    points, as ``Resource.create()`` finds them); one that fails is named in a warning and skipped."""
    names = [name.strip() for name in environ.get("OTEL_EXPERIMENTAL_RESOURCE_DETECTORS", "").split(",")]
    wanted = [name for name in dict.fromkeys(names) if name and name not in _BUILT_IN]
    if not wanted:
        return []
    found = {point.name: point for point in entry_points(group="opentelemetry_resource_detector")}
    resources = []
    for name in wanted:
        try:
            resources.append(found[name].load()().detect())
        except Exception as error:  # noqa: BLE001 - a detector must not stop the output: warned
            warn_limited(f"resource:{name}", "gyrinx_tracker: the resource detector %r named in "
                         "OTEL_EXPERIMENTAL_RESOURCE_DETECTORS failed (%r); its attributes are left out",
                         name, error)
    return resources


def app_resource() -> Resource | None:
    """The resource of the application's own SDK tracer or logger provider, if it installed one."""
    from opentelemetry import trace

    from gyrinx_tracker._signals.otel_logs import app_logger_provider

    for provider in (trace.get_tracer_provider(), app_logger_provider()):
        resource: Any = getattr(provider, "resource", None)
        if isinstance(resource, Resource):
            return resource
    return None
