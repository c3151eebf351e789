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

## Run the hub on its embedded default (SQLite in ./var, seeded registry) at http://127.0.0.1:8000.
## With HALRIC_BROKER_URL set, a `halric worker` runs beside the server (stopped with it); without it the
## server runs the background jobs itself (in-process fallback). Mail stays in the hub's outbox, read at
## /admin/mail (HALRIC_MAIL_DELIVERY=smtp sends it instead).
run: $(VENV)/.installed
	$(BIN)/halric init
	@export HALRIC_MAIL_DELIVERY=$${HALRIC_MAIL_DELIVERY:-local}; \
	if [ -n "$$HALRIC_BROKER_URL" ]; then \
	  $(BIN)/halric worker & worker=$$!; \
	  trap 'kill $$worker 2>/dev/null; wait $$worker' EXIT INT TERM; \
	  $(BIN)/halric serve --host 127.0.0.1 --port 8000; \
	else \
	  $(BIN)/halric serve --host 127.0.0.1 --port 8000; \
	fi

## Run the whole test suite (SQLite + PostgreSQL + browser tests), scitacean's own backend tests, and the linters
test: $(VENV)/.test-installed
	bash scripts/ensure-test-services.sh
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -n $${HALRIC_TEST_WORKERS:-2} --dist loadfile
	bash tests/catalog/scitacean_backend/run.sh

lint: $(VENV)/.test-installed
	$(BIN)/ruff check src tests bench

format: $(VENV)/.test-installed
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

clean:
	rm -rf $(VENV) var build *.egg-info .pytest_cache .ruff_cache
