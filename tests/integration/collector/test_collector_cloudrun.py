"""The Cloud Run service manifest has what Cloud Run needs to run the app with the collector as a
sidecar, and agrees with sidecar.yaml (ports, health check) and the manifest (image version)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import yaml

from tests.integration.collector.collector_helpers import CONFIG_DIR

SERVICE = CONFIG_DIR / "cloudrun" / "service.yaml"


def load_service() -> dict[str, Any]:
    data = yaml.safe_load(SERVICE.read_text())
    assert isinstance(data, dict)
    return data


def containers(service: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in service["spec"]["template"]["spec"]["containers"]}


def default_port(expression: str) -> int:
    """The port of a `${env:VAR:-host:port}` default in a collector config."""
    match = re.fullmatch(r"\$\{env:[A-Z_]+:-[^:}]+:(\d+)\}", expression)
    assert match, expression
    return int(match.group(1))


def sidecar_config() -> dict[str, Any]:
    data = yaml.safe_load((CONFIG_DIR / "sidecar.yaml").read_text())
    assert isinstance(data, dict)
    return data


def env_of(container: dict[str, Any]) -> dict[str, str]:
    return {e["name"]: e["value"] for e in container.get("env", [])}


def test_knative_service_shape() -> None:
    service = load_service()
    assert service["apiVersion"] == "serving.knative.dev/v1"
    assert service["kind"] == "Service"
    assert re.fullmatch(r"[a-z]([-a-z0-9]*[a-z0-9])?", service["metadata"]["name"])
    names = list(containers(service))
    assert sorted(names) == ["app", "collector"]
    for container in containers(service).values():
        assert container["image"]
        assert set(container["resources"]["limits"]) == {"cpu", "memory"}


def test_exactly_one_ingress_container_and_it_is_the_app() -> None:
    with_ports = [name for name, c in containers(load_service()).items() if c.get("ports")]
    assert with_ports == ["app"]


def test_app_starts_after_the_collector() -> None:
    annotations = load_service()["spec"]["template"]["metadata"]["annotations"]
    dependencies = json.loads(annotations["run.googleapis.com/container-dependencies"])
    assert dependencies == {"app": ["collector"]}
    # The collector must keep its CPU outside requests to export in the background.
    assert annotations["run.googleapis.com/cpu-throttling"] == "false"


def test_collector_startup_probe_hits_the_health_check_extension() -> None:
    collector = containers(load_service())["collector"]
    probe = collector["startupProbe"]["httpGet"]
    health = sidecar_config()["extensions"]["health_check"]
    assert probe["port"] == default_port(health["endpoint"])
    assert probe["path"] == health.get("path", "/")
    assert "health_check" in sidecar_config()["service"]["extensions"]
    # Liveness on the same endpoint, if any.
    if "livenessProbe" in collector:
        assert collector["livenessProbe"]["httpGet"]["port"] == probe["port"]


def test_app_exports_otlp_to_the_sidecar_receiver() -> None:
    env = env_of(containers(load_service())["app"])
    assert env["GYRINX_TRACKER_EXPORTER"] == "otlp"
    endpoint = env["OTEL_EXPORTER_OTLP_ENDPOINT"]
    grpc = sidecar_config()["receivers"]["otlp"]["protocols"]["grpc"]["endpoint"]
    assert re.fullmatch(r"http://(localhost|127\.0\.0\.1):(\d+)", endpoint)
    assert int(endpoint.rsplit(":", 1)[1]) == default_port(grpc)
    assert env["OTEL_SERVICE_NAME"]
    # Cloud Monitoring takes at most one point per series every 5 s.
    assert int(env.get("OTEL_METRIC_EXPORT_INTERVAL", "60000")) >= 5000


def test_collector_reads_its_config_from_the_mounted_secret() -> None:
    spec = load_service()["spec"]["template"]["spec"]
    collector = containers(load_service())["collector"]
    (arg,) = [a for a in collector["args"] if a.startswith("--config=")]
    config_path = arg.split("=", 1)[1]
    mounts = {m["name"]: m["mountPath"] for m in collector["volumeMounts"]}
    volumes = {v["name"]: v for v in spec["volumes"]}
    matching = [name for name, path in mounts.items() if config_path.startswith(path.rstrip("/") + "/")]
    assert len(matching) == 1
    secret = volumes[matching[0]]["secret"]
    assert secret["secretName"]
    assert [item["path"] for item in secret["items"]] == [config_path.rsplit("/", 1)[1]]


def test_collector_image_carries_the_distribution_version() -> None:
    manifest = yaml.safe_load((CONFIG_DIR / "manifest.yaml").read_text())
    image = containers(load_service())["collector"]["image"]
    assert image.endswith(":" + manifest["dist"]["version"])


@pytest.mark.parametrize("key", ["GYRINX_TRACKER_EXPORTER", "OTEL_EXPORTER_OTLP_ENDPOINT"])
def test_collector_does_not_get_app_settings(key: str) -> None:
    assert key not in env_of(containers(load_service())["collector"])
