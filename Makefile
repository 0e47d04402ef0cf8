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

.PHONY: install demo check test test-pythons typecheck lint unit suite bench bench-cli bench-catalogue collector dist clean

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

# In process and fast: no subprocesses, servers or builds (README: Tests).
unit: $(STAMP)
	$(PY) -m pytest tests/unit

# The whole suite: tests/unit, tests/integration, tests/process and tests/packaging.
suite: $(STAMP)
	$(PY) -m pytest

check: lint typecheck unit

test: typecheck lint suite

# Discovers the interpreters (python3.N on PATH, pyenv versions) and prints a summary table.
# tools/pythons.py is stdlib only, like build.py.
test-pythons:
	$(PYTHON) tools/pythons.py test

bench: $(STAMP)
	$(PY) -m benchmarks
	$(PY) benchmarks/request_latency.py
	$(PY) -m benchmarks.soak  # 3 minutes of overload; the RSS curve goes to benchmarks/SOAK.md

# `gyrinx-tracker summary` over 100k and 1M lines: peak RSS of the child process and time.
bench-cli: $(STAMP)
	$(PY) benchmarks/cli_summary.py

# The sdist and wheel a release would upload, in dist/ (README: Installing).
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

clean:
	rm -rf $(VENV) .venv-3.* .mypy_cache .pytest_cache build dist
