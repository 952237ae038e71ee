# Two commands do everything on a fresh machine: `make demo` and `make test`. Both are idempotent.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
STAMP := $(VENV)/.installed
APT_STAMP := var/.apt-ok
PYTEST_ARGS ?=

.PHONY: demo test setup apt vendor services lint bench clean

setup: apt $(STAMP) vendor

vendor:
	@bash scripts/vendor-frontend.sh

apt: $(APT_STAMP)
$(APT_STAMP): scripts/apt-packages.txt
	@bash scripts/ensure-apt.sh scripts/apt-packages.txt
	@mkdir -p var && touch $@

$(PY):
	@command -v $(PYTHON) >/dev/null || { echo "need $(PYTHON)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip

# torch is pinned to the CPU build that pip finds on local disk; transformers follows it.
$(STAMP): pyproject.toml $(PY)
	$(PIP) install -q 'torch==2.13.0'
	$(PIP) install -q -e '.[dev,ml]'
	$(VENV)/bin/callback-service transcribe --model-info >/dev/null
	touch $@

services:
	@bash scripts/ensure-services.sh

test: setup services
	$(VENV)/bin/pytest $(PYTEST_ARGS)

demo: setup
	$(VENV)/bin/callback-service demo

lint: setup
	$(VENV)/bin/ruff check callback_service tests benchmarks
	$(VENV)/bin/mypy callback_service

bench: setup services
	@for b in benchmarks/*.py; do echo "== $$b"; $(PY) $$b; done

clean:
	rm -rf var/demo test-output
