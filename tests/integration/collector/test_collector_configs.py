"""Every shipped collector config passes the real binary's `validate`, and the binary holds
exactly the components the manifest names."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from tests.integration.collector.collector_helpers import CONFIG_DIR, clean_env

pytestmark = pytest.mark.collector

CONFIG_SETS = {
    "local": ["local.yaml"],
    "sidecar": ["sidecar.yaml"],
    "gateway": ["gateway.yaml"],
    "sidecar+file-overlay": ["sidecar.yaml", "overlays/sidecar-file.yaml"],
    "gateway+file-overlay": ["gateway.yaml", "overlays/gateway-file.yaml"],
    "front": ["front.yaml"],
    "front+dns-overlay": ["front.yaml", "overlays/front-dns.yaml"],
    "front+k8s-overlay": ["front.yaml", "overlays/front-k8s.yaml"],
}


def validate(binary: Path, configs: list[str], tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    args = [str(binary), "validate"]
    for config in configs:
        args += ["--config", config if config.startswith("yaml:") or Path(config).is_absolute() else str(CONFIG_DIR / config)]
    return subprocess.run(
        args,
        env=clean_env(
            {
                "GYRINX_COLLECTOR_FILE_PREFIX": str(tmp_path / "out"),
                "GYRINX_COLLECTOR_STORAGE_DIR": str(tmp_path / "storage"),
                "GYRINX_GATEWAYS": "[127.0.0.1:4317, 127.0.0.1:4327]",
                "GYRINX_GATEWAYS_DNS": "otel-gateway-headless.observability.svc.cluster.local",
                "GYRINX_GATEWAYS_K8S_SERVICE": "otel-gateway.observability",
                **env,
            }
        ),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_every_config_in_the_directory_is_covered() -> None:
    shipped = {p.relative_to(CONFIG_DIR).as_posix() for p in CONFIG_DIR.rglob("*.yaml")}
    # Not collector configs: the build manifest, the Cloud Run service, the generated Prometheus rules.
    shipped -= {"manifest.yaml", "cloudrun/service.yaml", "monitoring/prometheus/rules.yaml"}
    covered = {c for configs in CONFIG_SETS.values() for c in configs}
    assert shipped == covered


@pytest.mark.parametrize("name", sorted(CONFIG_SETS))
def test_config_validates(collector_binary: Path, tmp_path: Path, name: str) -> None:
    result = validate(collector_binary, CONFIG_SETS[name], tmp_path)
    assert result.returncode == 0, result.stderr


def test_validate_really_checks_fields(collector_binary: Path, tmp_path: Path) -> None:
    # Guard against a `validate` that passes anything: a misspelled field must fail.
    broken = tmp_path / "broken.yaml"
    config = yaml.safe_load((CONFIG_DIR / "local.yaml").read_text())
    config["exporters"]["file/logs"]["flush_intervall"] = "1s"
    broken.write_text(yaml.safe_dump(config))
    result = validate(collector_binary, [str(broken)], tmp_path)
    assert result.returncode != 0
    assert "flush_intervall" in result.stderr


def test_validate_catches_a_bad_ottl_condition(collector_binary: Path, tmp_path: Path) -> None:
    result = validate(
        collector_binary,
        ["sidecar.yaml", "yaml:processors::filter/drop-events::log_conditions: ['IsMatch(log.nonsense, \"x\")']"],
        tmp_path,
    )
    assert result.returncode != 0
    assert "nonsense" in result.stderr


def test_binary_has_exactly_the_manifest_components(collector_binary: Path) -> None:
    result = subprocess.run([str(collector_binary), "components"], capture_output=True, text=True, timeout=60, check=True)
    listed = yaml.safe_load(result.stdout)
    manifest = yaml.safe_load((CONFIG_DIR / "manifest.yaml").read_text())
    for section in ("receivers", "processors", "exporters", "connectors", "extensions"):
        in_binary = {entry["module"] for entry in listed.get(section) or []}
        in_manifest = {entry["gomod"] for entry in manifest[section]}
        assert in_binary == in_manifest, section
    assert listed["buildinfo"]["version"] == manifest["dist"]["version"]


def test_front_requires_its_gateways(collector_binary: Path, tmp_path: Path) -> None:
    # The front has no default gateway list: a front started without one must not validate.
    result = validate(collector_binary, ["front.yaml"], tmp_path, GYRINX_GATEWAYS="")
    assert result.returncode != 0


def test_front_routes_each_signal_by_its_key(collector_binary: Path) -> None:
    # Logs and traces by trace id (whole traces per gateway), metrics by stream; every exporter
    # of the front is a load balancer whose per-gateway exporter has no queue of its own.
    config = yaml.safe_load((CONFIG_DIR / "front.yaml").read_text())
    keys = {name: exporter["routing_key"] for name, exporter in config["exporters"].items()}
    assert keys == {"loadbalancing/logs": "traceID", "loadbalancing/metrics": "streamID", "loadbalancing/traces": "traceID"}
    for exporter in config["exporters"].values():
        assert exporter["sending_queue"]["storage"] == "file_storage/queue"
        assert exporter["protocol"]["otlp"]["sending_queue"]["enabled"] is False


@pytest.mark.parametrize("name", ["front.yaml", "gateway.yaml"])
def test_tier_configs_acknowledge_only_after_a_persistent_queue(name: str) -> None:
    # Durable by default: no batch processor (it acknowledges before exporting) in any pipeline,
    # and every exporter that has a sending queue keeps it on disk.
    config = yaml.safe_load((CONFIG_DIR / name).read_text())
    for pipeline in config["service"]["pipelines"].values():
        assert not any(p.split("/")[0] == "batch" for p in pipeline.get("processors", []))
    for exporter in config["exporters"].values():
        assert exporter["sending_queue"]["storage"] == "file_storage/queue"
    assert "file_storage/queue" in config["service"]["extensions"]


@pytest.mark.parametrize("overlay", ["overlays/front-dns.yaml", "overlays/front-k8s.yaml"])
def test_front_resolver_overlays_replace_the_static_resolver(overlay: str) -> None:
    # The load-balancing exporter accepts exactly one resolver: each overlay must null the static
    # one for every signal, or the front fails to start (validate catches that only at build time).
    config = yaml.safe_load((CONFIG_DIR / overlay).read_text())
    for name in ("loadbalancing/logs", "loadbalancing/metrics", "loadbalancing/traces"):
        resolver = config["exporters"][name]["resolver"]
        assert resolver["static"] is None
        assert len([k for k, v in resolver.items() if v is not None]) == 1
