# Two commands do everything on a fresh machine: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
UV_VERSION := 0.13.9
export AIRFLOW_HOME := $(CURDIR)/.airflow
export AIRFLOW__CORE__DAGS_FOLDER := $(CURDIR)/dags
export AIRFLOW__CORE__PLUGINS_FOLDER := $(CURDIR)/plugins
export AIRFLOW__CORE__LOAD_EXAMPLES := False
export AIRFLOW__CORE__PARALLELISM := 4
export AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT := 60
export AIRFLOW__DATABASE__SQL_ALCHEMY_CONN := sqlite:///$(CURDIR)/.airflow/airflow.db
export AIRFLOW__LOGGING__BASE_LOG_FOLDER := $(CURDIR)/.airflow/logs
export LISTENING_HOME := $(CURDIR)
export PYTHONWARNINGS := ignore::DeprecationWarning,ignore::FutureWarning

.PHONY: help setup airflow-init run airflow airflow-stop test test-fast lint lock bench eval clean

help:
	@echo "make run    - set up everything and run the pipeline on the bundled demo"
	@echo "make test   - set up everything and run the test suite"
	@echo "make airflow - a real Airflow here (UI on 127.0.0.1:8080); make airflow-stop ends it (FOREGROUND=1 to stay)"
	@echo "make lint   - ruff check . and the import contracts (lint-imports)"
	@echo "make lock   - re-resolve requirements.lock from pyproject.toml"
	@echo "make bench  - naive vs project pipeline benchmark (BENCH_ARGS=...)"
	@echo "make eval   - sentiment accuracy, stock vs retrained model"

# The venv is rebuilt only when the lock or the project file changes.
$(VENV)/.installed: requirements.lock pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found (Python 3.11 is required)"; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@test -x $(BIN)/uv || $(BIN)/python -m pip install -q --disable-pip-version-check uv==$(UV_VERSION)
	$(BIN)/uv pip sync -q -p $(BIN)/python requirements.lock
	$(BIN)/uv pip install -q -p $(BIN)/python --no-deps -e .
	@touch $@

setup: $(VENV)/.installed

# Project-local Airflow: SQLite metadata DB, migrated, with airflow_settings.yaml applied.
airflow-init: setup
	@mkdir -p .airflow data
	$(BIN)/airflow db migrate >.airflow/migrate.log 2>&1 || { tail -30 .airflow/migrate.log; exit 1; }
	$(BIN)/listening airflow-settings apply airflow_settings.yaml

run: airflow-init
	$(BIN)/listening demo run

# A real Airflow: api-server (UI + REST on 127.0.0.1:8080), scheduler, dag-processor, LocalExecutor;
# migrates the metadata DB, applies airflow_settings.yaml, then queues day-wide ingest runs of the
# recorded demo days (BACKFILL_DAYS=0 to skip).
BACKFILL_DAYS ?= 14
airflow: setup
	$(BIN)/listening airflow start --backfill-days $(BACKFILL_DAYS) $(if $(FOREGROUND),--foreground)

airflow-stop:
	@test -x $(BIN)/listening && $(BIN)/listening airflow stop || true

test: setup
	bash scripts/install_system_deps.sh
	$(BIN)/ruff check .
	$(BIN)/lint-imports --no-cache
	$(BIN)/pytest -q $(PYTEST_ARGS)

test-fast: setup
	$(BIN)/pytest -q -m "not slow" $(PYTEST_ARGS)

lint: setup
	$(BIN)/ruff check .
	$(BIN)/lint-imports --no-cache

# Naive path (SnowNLP per text, ORM row by row) vs the project's path, same data, one run.
# Quick: make bench BENCH_ARGS="--n 10000 --naive-n 200 --no-pg"; memory: BENCH_ARGS=--million
bench: setup
	$(BIN)/python bench/bench_pipeline.py $(BENCH_ARGS)

# Sentiment accuracy, stock vs retrained, on a held-out split of ../shared/datasets (this machine only).
eval: setup
	$(BIN)/python bench/eval_sentiment.py

lock:
	$(BIN)/uv pip compile -q --python-version 3.11 --extra dev pyproject.toml -o requirements.lock

clean:
	rm -rf .airflow data .pytest_cache
