# HALRIC Hub — the two commands: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
export HALRIC_DATA_DIR ?= $(CURDIR)/var

.PHONY: run test lint format bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e '.[embeddings]'
	touch $@

$(VENV)/.test-installed: $(VENV)/.installed pyproject.toml
	$(BIN)/pip install --quiet -e '.[embeddings,test]'
	touch $@

## Run the hub on its embedded default (SQLite in ./var, seeded registry) at http://127.0.0.1:8000
run: $(VENV)/.installed
	$(BIN)/halric init
	$(BIN)/halric serve --host 127.0.0.1 --port 8000

## Run the whole test suite (SQLite + PostgreSQL + browser tests), scitacean's own backend tests, and the linters
test: $(VENV)/.test-installed
	bash scripts/ensure-test-services.sh
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/python -m pytest
	bash tests/catalog/scitacean_backend/run.sh

lint: $(VENV)/.test-installed
	$(BIN)/ruff check src tests bench

format: $(VENV)/.test-installed
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

clean:
	rm -rf $(VENV) var build *.egg-info .pytest_cache .ruff_cache
