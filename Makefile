# Two commands on a fresh machine: `make run` serves the bundled model, `make test` tests it all.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
export KERAS_HOME ?= $(abspath ../shared/weights/keras)

.PHONY: run test lint openapi bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# Serving dependencies only: no TensorFlow.
$(VENV)/.serve-installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.dev-installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e ".[train,dev]"
	touch $@ $(VENV)/.serve-installed

run: $(VENV)/.serve-installed
	$(BIN)/uvicorn service.main:app --host $(HOST) --port $(PORT)

lint: $(VENV)/.dev-installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: lint
	$(BIN)/pytest

openapi: $(VENV)/.serve-installed
	$(BIN)/python -m service.openapi_export openapi/openapi.json

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache test-output
