# Two commands matter on a fresh machine with python3 and make: `make demo` and `make test`.
# Both create the virtualenv and install the project with the extras the suite needs.
# `make check` is the inner loop while editing, under a minute: lint, mypy and tests/unit only;
# `make test` is lint, mypy and the whole suite (tests/unit, integration, process, packaging).
# `make test-pythons` runs the fast tests and mypy on every other CPython >= 3.10 found
# (one .venv-3.X each); the default interpreter is `make test`'s.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install demo check test test-pythons typecheck lint unit suite bench bench-cli bench-catalogue collector fleet dist clean test-otel-range

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[gcp,otlp,test]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(PY) examples/demo.py

typecheck: $(STAMP)
	$(PY) -m mypy

# Lint (ruff check; formatting is left to each author) and the import contracts of the layers
# (pyproject.toml, [tool.importlinter]; docs/design.md draws them).
lint: $(STAMP)
	$(PY) -m ruff check gyrinx_tracker tests examples collector-config benchmarks
	$(VENV)/bin/lint-imports --no-cache

# In process and fast: no subprocesses, servers or builds (docs/maintainers.md: Tests).
unit: $(STAMP)
	$(PY) -m pytest tests/unit

# The whole suite: tests/unit, tests/integration, tests/process and tests/packaging.
suite: $(STAMP)
	$(PY) -m pytest

check: lint typecheck unit

test: typecheck lint suite test-otel-range

# The OTLP and metrics tests on the oldest and the newest OpenTelemetry release the package supports
# (pyproject: >=1.39,<2), each in its own virtualenv (.venv-otel-1.39, .venv-otel-newest): the private
# pieces used for speed are probed at start-up, so another release may cost speed, never correctness;
# the fallback tests force the public path on both. About a minute per release once installed.
OTEL_OLDEST := 1.39.1
OTEL_PACKAGES := opentelemetry-api opentelemetry-sdk opentelemetry-proto opentelemetry-exporter-otlp-proto-common \
	opentelemetry-exporter-otlp-proto-grpc opentelemetry-exporter-otlp-proto-http
OTEL_RANGE_TESTS := tests/unit/test_otlp_settings.py tests/unit/test_otlp_probe.py tests/unit/test_resource.py tests/unit/test_units.py \
	tests/unit/test_otlp_wire.py tests/unit/test_otlp_wire_fields.py tests/unit/test_otel_logs.py \
	tests/unit/test_metric_export.py tests/unit/test_metric_routing.py tests/integration/test_otlp.py tests/integration/test_otlp_wire.py \
	tests/integration/test_otlp_http.py tests/integration/test_metric_export.py \
	tests/process/test_global_providers.py tests/process/test_instance_ids.py

.venv-otel-1.39/.installed: pyproject.toml
	$(PYTHON) -m venv .venv-otel-1.39
	.venv-otel-1.39/bin/python -m pip install --quiet --upgrade pip
	.venv-otel-1.39/bin/python -m pip install --quiet -e '.[otlp,test]' $(foreach p,$(OTEL_PACKAGES),$(p)==$(OTEL_OLDEST))
	touch $@

.venv-otel-newest/.installed: pyproject.toml
	$(PYTHON) -m venv .venv-otel-newest
	.venv-otel-newest/bin/python -m pip install --quiet --upgrade pip
	.venv-otel-newest/bin/python -m pip install --quiet --upgrade -e '.[otlp,test]' $(OTEL_PACKAGES)
	touch $@

test-otel-range: .venv-otel-1.39/.installed .venv-otel-newest/.installed
	@for venv in .venv-otel-1.39 .venv-otel-newest; do \
		echo "== $$venv: opentelemetry-sdk $$($$venv/bin/python -c 'from opentelemetry.sdk.version import __version__ as v; print(v)')"; \
		$$venv/bin/python -m pytest -q -p no:cacheprovider $(OTEL_RANGE_TESTS) || exit 1; \
	done

# Discovers the interpreters (python3.N on PATH, pyenv versions) and prints a summary table.
# tools/pythons.py is stdlib only, like build.py.
test-pythons:
	$(PYTHON) tools/pythons.py test

bench: $(STAMP)
	$(PY) -m benchmarks
	$(PY) benchmarks/request_latency.py
	$(PY) -m benchmarks.soak  # two 3-minute overloads (WHEN_FULL block and drop), PASS/MISS against the RSS bound; curves in benchmarks/SOAK.md

# `gyrinx-tracker summary` over 100k and 1M lines: peak RSS of the child process and time.
bench-cli: $(STAMP)
	$(PY) benchmarks/cli_summary.py

# The sdist and wheel a release would upload, in dist/ (docs/installing.md).
dist: $(STAMP)
	rm -rf dist
	$(PY) -m build --outdir dist .

# CPU per event with a 100-event catalogue vs without (and instructions, when valgrind is installed).
bench-catalogue: $(STAMP)
	$(PY) -m benchmarks.catalogue_cost

# Builds (or finds in the cache) the project's collector distribution and prints the binary's path.
# build.py is stdlib only: no virtualenv needed.
collector:
	@$(PYTHON) collector-config/build.py

# The collector tier under load and faults (docs/fleet.md): apps -> front -> gateways (the real
# binary, built once by build.py) -> files; writes benchmarks/fleet/RESULTS.md. A few minutes.
fleet: $(STAMP)
	$(PY) -m benchmarks.fleet

clean:
	rm -rf $(VENV) .venv-3.* .venv-otel-* .mypy_cache .pytest_cache build dist
