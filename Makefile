# The two commands a newcomer needs (README): `make demo` and `make test`.
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test install bench

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "make: $(PYTHON) not found (set PYTHON=/path/to/python3.11)"; exit 1; }
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

install: $(VENV)/.installed

# Installs, generates a messy 2,000-row French Excel export, and runs the whole pipeline on it.
demo: install
	$(BIN)/refinery sample --rows 2000 --out sample.csv
	$(BIN)/refinery run sample.csv --controller demo --out out

test: install
	./.ci/test-services
	$(BIN)/python -m pytest -q

bench: install
	$(BIN)/python -m bench.bench_pipeline
