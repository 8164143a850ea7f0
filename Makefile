# The two commands: `make run` and `make test`. Everything else is a convenience.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export DAGSTER_HOME ?= $(CURDIR)/data/dagster
export DSA_STORE_ROOT ?= $(CURDIR)/data/store
export DSA_CATALOG_URL ?=

.PHONY: install run test lint dev bench stress clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

$(DAGSTER_HOME)/dagster.yaml: dagster.yaml
	mkdir -p $(DAGSTER_HOME)
	cp dagster.yaml $(DAGSTER_HOME)/dagster.yaml

run: install $(DAGSTER_HOME)/dagster.yaml
	$(BIN)/python -m dsa_pipelines.demo

test: install
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

lint: install
	$(BIN)/ruff check .

# dagster dev + the reports server; Ctrl-C or SIGTERM stops both and leaves no process behind.
dev: install $(DAGSTER_HOME)/dagster.yaml
	$(BIN)/python -m dsa_pipelines.dev --host 127.0.0.1 --port $${DAGSTER_PORT:-3000}

bench: install
	$(BIN)/python -m dsa_pipelines_tests.bench $(BENCH_ARGS)

stress: install  # GC under fire at a larger setting: 4 writers x 30 rounds, 100 kill -9 trials
	DSA_GC_STRESS=1 $(BIN)/python -m pytest dsa_pipelines_tests/storage/test_gc_concurrency.py

clean:
	rm -rf data/store data/dagster data/landing data/bench
