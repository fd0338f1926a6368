# Every target creates and uses the project's own virtualenv, so a fresh clone needs only python3.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: venv test lint typecheck unit crds crds-check demo bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

lint: $(STAMP)
	$(VENV)/bin/ruff check operator tests
	$(VENV)/bin/ruff format --check operator tests

typecheck: $(STAMP)
	$(VENV)/bin/mypy

## The README's test command: installs everything, then lint, types and the whole test suite.
test: $(STAMP) lint typecheck
	$(PY) -m pytest -n 2 --dist loadgroup --ignore=tests/integration
	# The integration suite runs one operator against the emulators; serial keeps its timing honest on 2 cores.
	$(PY) -m pytest tests/integration

crds: $(STAMP)
	$(PY) -m tyk_portal_operator.cli crds --output-dir crds

## The README's first command: a local sandbox (Kubernetes API emulator + Tyk emulator + operator).
## `make demo MODE=gateway`: the provider drives the open-source Gateway's API instead of the Dashboard's.
MODE ?= dashboard
demo: $(STAMP)
	$(PY) -m tests.sandbox --mode $(MODE)

## Benchmarks print figures (the operator beside a floor script making only the calls the work
## needs, requests per resync, CPU, memory); no pass/fail. Results: docs/operations.md.
bench: $(STAMP)
	$(PY) -m tests.benchmarks.drift --objects 200 --resyncs 5
	$(PY) -m tests.benchmarks.issuance --requests 1000 --sequential 200
	$(PY) -m tests.benchmarks.startup --counts 1000 5000 10000

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
