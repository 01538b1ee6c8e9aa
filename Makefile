# The two commands: `make demo` (the main job) and `make test` (lint + tests).
# Both create .venv/ from the pinned requirements.lock on first use.
SHELL := /bin/bash
.SHELLFLAGS := -eo pipefail -c
VENV := .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed

# Offline operation (DESIGN.md conventions).
export PREFECT_SERVER_ANALYTICS_ENABLED := false
export PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS := 120
export PREFECT_LOGGING_LEVEL := WARNING
export MLFLOW_DISABLE_TELEMETRY := true
export GX_ANALYTICS_ENABLED := false
export DVC_NO_ANALYTICS := 1
export RAY_USAGE_STATS_ENABLED := 0
export HF_HUB_OFFLINE := 1

.PHONY: setup demo test lint format bench

setup: $(INSTALLED)

$(INSTALLED): requirements.lock pyproject.toml scripts/install.sh
	bash scripts/install.sh
	touch $(INSTALLED)

demo: setup
	PATH=$(CURDIR)/$(VENV)/bin:$$PATH bash scripts/demo.sh

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: setup
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

test: lint
	PATH=$(CURDIR)/$(VENV)/bin:$$PATH $(PY) -m pytest

bench: setup
	PATH=$(CURDIR)/$(VENV)/bin:$$PATH $(PY) -m bench
