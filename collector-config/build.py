#!/usr/bin/env python3
"""Build (or find in the cache) gyrinx-tracker's OpenTelemetry Collector distribution.

Usage: ``python collector-config/build.py`` (what ``make collector`` runs). The last line on stdout
is the absolute path of the collector binary; all progress goes to stderr, so callers can do
``COLLECTOR=$(make -s collector | tail -n1)``.

Why a script and not a Makefile recipe:

* The binary takes minutes to build on a 2-core machine, so it is cached under a key that changes
  whenever anything that could change the binary changes: the manifest's bytes (which carry every
  module version and the builder version), and ``go version``. Same key, same binary: reuse it.
* The builder (``ocb``) itself comes from the Go module proxy with ``go install ...@<version>``, into
  a cache-local GOBIN, so nothing is installed into the user's ``~/go/bin`` and two builder versions
  never overwrite each other.
* A build goes into a temporary directory beside the final one and is renamed into place only when
  it succeeded, so an interrupted build never leaves a half-written cache entry that looks valid.

Only the standard library is used, so this runs before (or without) the project's virtualenv.

Environment:

``GYRINX_COLLECTOR_CACHE``
    Cache root (default ``${XDG_CACHE_HOME:-~/.cache}/gyrinx-tracker/collector``).
``GYRINX_COLLECTOR_REBUILD=1``
    Ignore a cached binary and build again.
``GO``
    The ``go`` command to use (default: ``go`` on PATH).
``GOFLAGS``, ``GOMODCACHE``, ``GOCACHE``, ``GOPROXY``
    Passed through to Go untouched, except that ``-buildvcs=false`` is ensured in GOFLAGS: the
    generated sources are not in a VCS checkout and VCS stamping would only make builds differ.
``GOTOOLCHAIN``
    Defaults to ``local``: the modules of this release declare ``go 1.26.0``, and an older Go must
    fail clearly rather than fetch another toolchain behind the cache key's back.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
MANIFEST = HERE / "manifest.yaml"
#: Bump when this script changes how it builds in a way that changes the binary.
BUILD_SCRIPT_REVISION = "2"
_BUILDER_MODULE = "go.opentelemetry.io/collector/cmd/builder"


class BuildError(RuntimeError):
    """The collector could not be built; the message says what to do."""


def log(message: str) -> None:
    """Progress goes to stderr so that stdout's last line is always the binary path."""
    print(f"[collector] {message}", file=sys.stderr, flush=True)


def read_manifest(path: Path = MANIFEST) -> tuple[bytes, str, str]:
    """Return the manifest bytes, the builder version and the distribution name it declares.

    The builder version is written in the manifest (``# builder-version: vX.Y.Z``) so that all
    versions live in one file; the distribution name decides the binary's file name.
    """
    data = path.read_bytes()
    text = data.decode("utf-8")
    version = re.search(r"^#\s*builder-version:\s*(v\d+\.\d+\.\d+\S*)\s*$", text, re.MULTILINE)
    if version is None:
        raise BuildError(f"{path}: no '# builder-version: vX.Y.Z' line")
    name = re.search(r"^\s+name:\s*([A-Za-z0-9_.-]+)\s*$", text, re.MULTILINE)
    if name is None:
        raise BuildError(f"{path}: no dist.name")
    if not re.search(r"^\s+output_path:\s*\./build\s*$", text, re.MULTILINE):
        raise BuildError(f"{path}: dist.output_path must be ./build (build.py relies on it)")
    return data, version.group(1), name.group(1)


def go_command() -> str:
    """The Go toolchain to use; a missing Go is a BuildError with a clear reason."""
    go = os.environ.get("GO", "go")
    resolved = shutil.which(go)
    if resolved is None:
        raise BuildError(f"Go toolchain not found ({go!r} is not on PATH); install Go 1.26 or newer to build the collector")
    return resolved


def go_version(go: str) -> str:
    """``go version`` output: part of the cache key, since a new compiler makes a new binary."""
    return subprocess.run([go, "version"], check=True, capture_output=True, text=True).stdout.strip()


def cache_root() -> Path:
    """Where builders and binaries are kept (see module docstring)."""
    explicit = os.environ.get("GYRINX_COLLECTOR_CACHE")
    if explicit:
        return Path(explicit).expanduser().resolve()
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg).expanduser().resolve() / "gyrinx-tracker" / "collector"


def cache_key(manifest: bytes, builder_version: str, go_ver: str) -> str:
    """sha256 over everything that determines the binary; 16 hex digits are plenty for a cache."""
    digest = hashlib.sha256()
    for part in (manifest, builder_version.encode(), go_ver.encode(), BUILD_SCRIPT_REVISION.encode()):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()[:16]


def go_env(go: str) -> dict[str, str]:
    """Environment for Go: the caller's, with VCS stamping off (see module docstring)."""
    env = dict(os.environ)
    flags = env.get("GOFLAGS", "").split()
    if not any(f.startswith("-buildvcs") for f in flags):
        flags.append("-buildvcs=false")
    env["GOFLAGS"] = " ".join(flags)
    # A toolchain switch would silently change the compiler behind the cache key's back.
    env.setdefault("GOTOOLCHAIN", "local")
    return env


def ensure_builder(go: str, version: str, root: Path, env: dict[str, str]) -> Path:
    """Install ``ocb`` at exactly ``version`` into ``<root>/builder/<version>/`` unless it is there."""
    gobin = root / "builder" / version
    builder = gobin / "builder"
    if builder.is_file() and os.access(builder, os.X_OK):
        return builder
    gobin.mkdir(parents=True, exist_ok=True)
    log(f"installing the collector builder {_BUILDER_MODULE}@{version} from the Go module proxy")
    started = time.monotonic()
    result = subprocess.run(
        [go, "install", f"{_BUILDER_MODULE}@{version}"],
        env={**env, "GOBIN": str(gobin)},
        stdout=sys.stderr,
        stderr=sys.stderr,
        check=False,
    )
    if result.returncode != 0 or not builder.is_file():
        raise BuildError(f"'go install {_BUILDER_MODULE}@{version}' failed (exit {result.returncode})")
    log(f"builder installed in {time.monotonic() - started:.0f}s")
    return builder


def manifest_modules(manifest: bytes) -> list[tuple[str, str]]:
    """Every ``gomod: <module> <version>`` the manifest names, in order."""
    pairs = re.findall(r"^\s*-?\s*gomod:\s*(\S+)\s+(v\S+)\s*$", manifest.decode("utf-8"), re.MULTILINE)
    if not pairs:
        raise BuildError("the manifest names no gomod modules")
    return pairs


def write_go_mod(manifest: bytes, source_dir: Path) -> None:
    """Write the distribution's go.mod: a require for every manifest module, plus otelcol itself.

    The builder would write the same file and then run a plain ``go mod tidy``; we write it
    ourselves (see ``resolve_modules`` for why) from the same inputs.
    """
    text = manifest.decode("utf-8")
    module = re.search(r"^\s+module:\s*(\S+)\s*$", text, re.MULTILINE)
    if module is None:
        raise BuildError("the manifest has no dist.module")
    modules = manifest_modules(manifest)
    service = [v for m, v in modules if m == "go.opentelemetry.io/collector/service"]
    if not service:
        raise BuildError("the manifest must name go.opentelemetry.io/collector/service (telemetry)")
    lines = [f"module {module.group(1)}", "", "go 1.25", "", "require ("]
    lines += [f"\t{m} {v}" for m, v in modules]
    lines += [f"\tgo.opentelemetry.io/collector/otelcol {service[0]}", ")", ""]
    (source_dir / "go.mod").write_text("\n".join(lines), encoding="utf-8")


def resolve_modules(go: str, source_dir: Path, env: dict[str, str], manifest: bytes) -> None:
    """Resolve the full module graph, tolerating unavailable *test-only* dependencies of components.

    ``go mod tidy`` also resolves the imports of the components' own tests. At this release some
    of those (e.g. the file exporter's tests import otlpencodingextension v0.160.0) are not served
    by the module proxy, so the builder's plain ``go mod tidy`` fails although the collector itself
    needs none of them. ``go mod tidy -e`` records everything that can be resolved; ``go build``
    (which runs with -mod=readonly) then fails loudly if anything the binary needs is missing.

    Because the builder's own strict version check is bypassed, the same check is done here:
    every collector core/contrib module in the resolved graph must be at a version the manifest
    names, so one release is really one release.
    """
    result = subprocess.run(
        [go, "mod", "tidy", "-e", "-compat=1.25"], cwd=source_dir, env=env, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        sys.stderr.write(result.stderr)
        raise BuildError(f"go mod tidy -e failed (exit {result.returncode}) in {source_dir}")
    skipped = sorted(set(re.findall(r"^\s*(\S+): \S+@v\S+: reading \S+: 4\d\d ", result.stderr, re.MULTILINE)))
    if skipped:
        log("not served by the module proxy, needed only by components' own tests (ignored): " + ", ".join(skipped))
    wanted = {v for _, v in manifest_modules(manifest)}
    resolved = re.findall(
        r"^\s*(go\.opentelemetry\.io/collector\S*|github\.com/open-telemetry/opentelemetry-collector-contrib/\S+)\s+(v\S+)",
        (source_dir / "go.mod").read_text(encoding="utf-8"),
        re.MULTILINE,
    )
    stray = sorted(f"{m} {v}" for m, v in resolved if v not in wanted)
    if stray:
        raise BuildError("collector modules resolved to versions the manifest does not name: " + ", ".join(stray))


def run_go(argv: list[str], cwd: Path, env: dict[str, str], what: str) -> None:
    """Run a Go (or builder) command with its output on stderr; raise BuildError on failure."""
    result = subprocess.run(argv, cwd=cwd, env=env, stdout=sys.stderr, stderr=sys.stderr, check=False)
    if result.returncode != 0:
        raise BuildError(f"{what} failed (exit {result.returncode}) in {cwd}")


def build(force: bool = False) -> Path:
    """Return the path of a collector binary built from ``manifest.yaml``, building it if needed.

    Steps: ``ocb`` generates the Go sources (main.go, components.go) from the manifest; we write
    go.mod, resolve modules (``resolve_modules``) and compile with the builder's own flags
    (``-trimpath``, ``-ldflags=-s -w``, CGO off) so the result is what ``ocb`` alone would produce.
    """
    manifest, builder_version, dist_name = read_manifest()
    go = go_command()
    go_ver = go_version(go)
    root = cache_root()
    key = cache_key(manifest, builder_version, go_ver)
    entry = root / key
    binary = entry / dist_name
    if binary.is_file() and os.access(binary, os.X_OK) and not force:
        log(f"cached: {binary}")
        return binary

    env = go_env(go)
    builder = ensure_builder(go, builder_version, root, env)

    staging = root / f".{key}.tmp-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    source_dir = staging / "build"
    (staging / "manifest.yaml").write_bytes(manifest)
    log(f"building {dist_name} with builder {builder_version} and {go_ver} (a cold build takes several minutes)")
    started = time.monotonic()
    try:
        run_go(
            [str(builder), "--config", "manifest.yaml", "--skip-get-modules", "--skip-compilation"],
            staging,
            env,
            "source generation (ocb)",
        )
        write_go_mod(manifest, source_dir)
        resolve_modules(go, source_dir, env, manifest)
        log(f"modules resolved in {time.monotonic() - started:.0f}s; compiling")
        run_go(
            [go, "build", "-trimpath", "-ldflags=-s -w", "-o", dist_name, "."],
            source_dir,
            {**env, "CGO_ENABLED": "0"},
            "go build",
        )
    except BuildError as err:
        raise BuildError(f"{err}; the generated sources are kept in {source_dir}") from None
    elapsed = time.monotonic() - started
    # Keep the binary, the manifest it came from and the resolved go.mod/go.sum (what was actually
    # built); drop the rest of the generated sources.
    for name in ("go.mod", "go.sum"):
        shutil.copy2(source_dir / name, staging / name)
    shutil.move(str(source_dir / dist_name), str(staging / dist_name))
    shutil.rmtree(source_dir)
    (staging / "BUILD_INFO").write_text(
        f"builder {builder_version}\n{go_ver}\nbuild_seconds {elapsed:.0f}\n", encoding="utf-8"
    )
    if entry.exists():
        shutil.rmtree(entry)
    try:
        staging.rename(entry)
    except OSError:
        # Another process finished the same build first: use its result.
        shutil.rmtree(staging, ignore_errors=True)
    log(f"built in {elapsed:.0f}s: {binary}")
    return binary


def main() -> int:
    """CLI entry point: print the binary path as the last stdout line, or explain on stderr."""
    try:
        binary = build(force=os.environ.get("GYRINX_COLLECTOR_REBUILD") == "1")
    except BuildError as err:
        log(f"error: {err}")
        return 1
    print(binary)
    return 0


if __name__ == "__main__":
    sys.exit(main())
