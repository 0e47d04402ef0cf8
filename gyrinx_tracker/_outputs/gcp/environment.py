"""Where on Google Cloud we are: project, region and the monitored resource for our entries.

Cloud Run sets ``K_SERVICE``/``K_REVISION``/``K_CONFIGURATION`` (services) or ``CLOUD_RUN_JOB``
(jobs) but not ``GOOGLE_CLOUD_PROJECT``, and never the region, so those come from the metadata
server, with a short timeout: this runs on the exporter thread, never at the call site, and a
missing answer only costs the entry its ``location`` label. ``GCE_METADATA_HOST`` is honoured as
google-auth does, which is also how tests point this at a local stand-in.
"""

from __future__ import annotations

import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field

from gyrinx_tracker._diagnostics import warn_limited

DEFAULT_METADATA_HOST = "metadata.google.internal"


def on_google_cloud(environ: Mapping[str, str]) -> bool:
    """The original tracker's rule (``GOOGLE_CLOUD_PROJECT`` set), widened to Cloud Run services and jobs."""
    return any(environ.get(name) for name in ("GOOGLE_CLOUD_PROJECT", "K_SERVICE", "CLOUD_RUN_JOB"))


@dataclass(frozen=True)
class GcpEnvironment:
    """The project and the monitored resource every entry of this process belongs to."""

    project_id: str | None
    resource_type: str = "global"
    resource_labels: dict[str, str] = field(default_factory=dict)


def detect(environ: Mapping[str, str], project_id: str | None, region: str | None,
           timeout: float) -> GcpEnvironment:
    """Build the environment from variables, asking the metadata server only for what is missing."""
    metadata = _Metadata(environ.get("GCE_METADATA_HOST") or DEFAULT_METADATA_HOST, timeout)
    cloud_run = bool(environ.get("K_SERVICE") or environ.get("CLOUD_RUN_JOB"))
    if not project_id and cloud_run:
        project_id = metadata.get("project/project-id")
    if not cloud_run:
        labels = {"project_id": project_id} if project_id else {}
        return GcpEnvironment(project_id, "global", labels)
    region = region or _last_part(metadata.get("instance/region"))
    return GcpEnvironment(project_id, *_cloud_run_resource(environ, project_id, region))


def instance_id(environ: Mapping[str, str], timeout: float) -> str | None:
    """This instance's id from the metadata server (Cloud Run, GCE), or None off Google Cloud."""
    if not (environ.get("K_SERVICE") or environ.get("CLOUD_RUN_JOB") or environ.get("GCE_METADATA_HOST")):
        return None
    return _Metadata(environ.get("GCE_METADATA_HOST") or DEFAULT_METADATA_HOST, timeout).get("instance/id")


def _cloud_run_resource(environ: Mapping[str, str], project_id: str | None,
                        region: str | None) -> tuple[str, dict[str, str]]:
    common = {"project_id": project_id or "", "location": region or ""}
    if environ.get("CLOUD_RUN_JOB"):
        return "cloud_run_job", {**common, "job_name": environ["CLOUD_RUN_JOB"]}
    return "cloud_run_revision", {
        **common,
        "service_name": environ.get("K_SERVICE", ""),
        "revision_name": environ.get("K_REVISION", ""),
        "configuration_name": environ.get("K_CONFIGURATION", ""),
    }


def _last_part(path: str | None) -> str | None:
    """``projects/123/regions/europe-west1`` → ``europe-west1``."""
    return path.rsplit("/", 1)[-1] if path else None


class _Metadata:
    """A minimal client for the metadata server: one GET per key, a short timeout, no retries."""

    def __init__(self, host: str, timeout: float) -> None:
        self._base = f"http://{host}/computeMetadata/v1/"
        self._timeout = timeout

    def get(self, key: str) -> str | None:
        request = urllib.request.Request(self._base + key, headers={"Metadata-Flavor": "Google"})
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as response:
                if response.headers.get("Metadata-Flavor") != "Google":
                    return None
                return str(response.read().decode("utf-8").strip()) or None
        except (OSError, ValueError) as error:
            warn_limited(f"metadata:{key}", "could not read %s from the metadata "
                                         "server (%s)", key, error)
            return None
