"""The OpenTelemetry resource of our private providers, built without threads.

``Resource.create()`` runs its detectors on a ``ThreadPoolExecutor``. Our outputs are built on the
worker thread, which in a short script can still be doing so while the interpreter shuts down, and
by then ``concurrent.futures`` refuses new work ("cannot schedule new futures after interpreter
shutdown"): the script's events were lost. The standard variables (``OTEL_RESOURCE_ATTRIBUTES``,
``OTEL_SERVICE_NAME``) are all the detection we need, and ``OTELResourceDetector`` reads them
synchronously.
"""

from __future__ import annotations

import os
import sys

from opentelemetry.sdk.resources import SERVICE_NAME, OTELResourceDetector, Resource
from opentelemetry.sdk.version import __version__ as sdk_version

_SDK = Resource({
    "telemetry.sdk.language": "python",
    "telemetry.sdk.name": "opentelemetry",
    "telemetry.sdk.version": sdk_version,
})


def resource_from_env() -> Resource:
    """What ``Resource.create()`` gives with the default detectors, computed on this thread."""
    resource = _SDK.merge(OTELResourceDetector().detect())
    if not resource.attributes.get(SERVICE_NAME):
        name = "unknown_service" + (f":{os.path.basename(sys.executable)}" if sys.executable else "")
        resource = resource.merge(Resource({SERVICE_NAME: name}))
    return resource
