"""The collector manifest and build script: one release, the right components, a working cache.

These need no Go toolchain: the build script's cache is exercised with a stand-in ``go``.
"""

from __future__ import annotations

import importlib.util
import os
import re
import stat
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest
import yaml

from tests.integration.collector.collector_helpers import CONFIG_DIR

MANIFEST = CONFIG_DIR / "manifest.yaml"
BUILD = CONFIG_DIR / "build.py"

# What the pipelines need (issue: "naming exactly the components our pipelines use").
REQUIRED = {
    "receivers": {"otlpreceiver"},
    "processors": {
        "memorylimiterprocessor",
        "batchprocessor",
        "resourcedetectionprocessor",
        "resourceprocessor",
        "transformprocessor",
        "filterprocessor",
        "redactionprocessor",
        "probabilisticsamplerprocessor",
        "deltatocumulativeprocessor",
    },
    "exporters": {
        "googlecloudexporter",
        "googlemanagedprometheusexporter",
        "debugexporter",
        "fileexporter",
        "loadbalancingexporter",  # front.yaml: one trace per gateway replica
        "otlpexporter",
    },
    "connectors": {"countconnector"},
    "extensions": {"healthcheckextension", "filestorage"},  # filestorage: persistent sending queues
}


def load_build_module() -> ModuleType:
    """Import collector-config/build.py as a module (it is a script, not a package)."""
    spec = importlib.util.spec_from_file_location("gyrinx_collector_build", BUILD)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def manifest() -> dict[str, object]:
    data = yaml.safe_load(MANIFEST.read_text())
    assert isinstance(data, dict)
    return data


def gomods() -> list[tuple[str, str, str]]:
    """(section, module, version) for every component in the manifest."""
    out = []
    for section, entries in manifest().items():
        if isinstance(entries, list):
            for entry in entries:
                module, version = entry["gomod"].split()
                out.append((section, module, version))
        elif isinstance(entries, dict) and "gomod" in entries:
            module, version = entries["gomod"].split()
            out.append((section, module, version))
    return out


def test_every_module_is_at_one_collector_release() -> None:
    builder = re.search(r"^# builder-version: (v\S+)$", MANIFEST.read_text(), re.MULTILINE)
    assert builder is not None
    release = builder.group(1)  # e.g. v0.160.0
    minor = int(release.split(".")[1])
    stable = f"v1.{minor - 94}.0"  # the core's stable modules move in lock-step (v0.160.0 <-> v1.66.0)
    versions = {(module, version) for _, module, version in gomods()}
    for module, version in versions:
        if "/confmap/" in module:
            assert version == stable, (module, version)
        else:
            assert version == release, (module, version)
    dist = manifest()["dist"]
    assert isinstance(dist, dict)
    assert str(dist["version"]).startswith(release.lstrip("v") + "-"), dist["version"]
    assert dist["output_path"] == "./build"


def test_manifest_names_the_components_the_configs_use() -> None:
    by_section: dict[str, set[str]] = {}
    for section, module, _ in gomods():
        by_section.setdefault(section, set()).add(module.rsplit("/", 1)[-1])
    for section, needed in REQUIRED.items():
        assert needed <= by_section.get(section, set()), (section, needed - by_section.get(section, set()))
    # Nothing beyond what is listed above (plus providers and telemetry) sneaks in unexplained.
    for section, names in by_section.items():
        if section in REQUIRED:
            assert names == REQUIRED[section], (section, names - REQUIRED[section])


def fake_go(tmp_path: Path) -> Path:
    """A stand-in `go` that only answers `go version` (and fails anything else)."""
    script = tmp_path / "go"
    script.write_text(
        "#!/bin/sh\n"
        'if [ "$1" = version ]; then echo "go version go1.26.8 linux/amd64"; exit 0; fi\n'
        'echo "fake go: $*" >&2; exit 3\n'
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script


def run_build(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("GYRINX_", "GO"))}
    return subprocess.run(
        [sys.executable, str(BUILD)], env={**base, **env}, capture_output=True, text=True, timeout=60, check=False
    )


def test_build_without_go_says_so_and_prints_no_path(tmp_path: Path) -> None:
    result = run_build({"GO": str(tmp_path / "no-such-go"), "GYRINX_COLLECTOR_CACHE": str(tmp_path / "cache")})
    assert result.returncode == 1
    assert result.stdout == ""
    assert "Go toolchain not found" in result.stderr


def test_a_cached_binary_is_reused_and_its_path_is_the_last_stdout_line(tmp_path: Path) -> None:
    build = load_build_module()
    go = fake_go(tmp_path)
    cache = tmp_path / "cache"
    data, builder_version, name = build.read_manifest()
    key = build.cache_key(data, builder_version, "go version go1.26.8 linux/amd64")
    binary = cache / key / name
    binary.parent.mkdir(parents=True)
    binary.write_text("#!/bin/sh\n")
    binary.chmod(0o755)

    result = run_build({"GO": str(go), "GYRINX_COLLECTOR_CACHE": str(cache)})
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == str(binary)
    assert "cached" in result.stderr


def test_a_cache_miss_builds_and_a_failed_build_reports_on_stderr(tmp_path: Path) -> None:
    # With the stand-in go, installing the builder fails: the script must say so, exit non-zero
    # and print no path (so `$(make -s collector)` never yields a bogus binary).
    result = run_build({"GO": str(fake_go(tmp_path)), "GYRINX_COLLECTOR_CACHE": str(tmp_path / "cache")})
    assert result.returncode == 1
    assert result.stdout == ""
    assert "go install go.opentelemetry.io/collector/cmd/builder@" in result.stderr


def test_cache_key_covers_manifest_builder_and_go() -> None:
    build = load_build_module()
    base = build.cache_key(b"manifest", "v0.160.0", "go version go1.26.8 linux/amd64")
    assert base == build.cache_key(b"manifest", "v0.160.0", "go version go1.26.8 linux/amd64")
    assert base != build.cache_key(b"manifest2", "v0.160.0", "go version go1.26.8 linux/amd64")
    assert base != build.cache_key(b"manifest", "v0.161.0", "go version go1.26.8 linux/amd64")
    assert base != build.cache_key(b"manifest", "v0.160.0", "go version go1.26.9 linux/amd64")


def test_generated_go_mod_requires_every_manifest_module(tmp_path: Path) -> None:
    build = load_build_module()
    data, _, _ = build.read_manifest()
    build.write_go_mod(data, tmp_path)
    text = (tmp_path / "go.mod").read_text()
    assert text.startswith("module github.com/gyrinx/gyrinx-tracker/otelcol-gyrinx\n")
    for _, module, version in gomods():
        assert f"\t{module} {version}\n" in text
    assert "\tgo.opentelemetry.io/collector/otelcol v0.160.0\n" in text


@pytest.mark.parametrize("bad", ["# builder-version: v0.160.0\n", "  output_path: ./build\n"])
def test_manifest_without_what_build_py_relies_on_is_rejected(tmp_path: Path, bad: str) -> None:
    build = load_build_module()
    broken = tmp_path / "manifest.yaml"
    broken.write_text(MANIFEST.read_text().replace(bad, ""))
    with pytest.raises(build.BuildError):
        build.read_manifest(broken)
