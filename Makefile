# The two commands a newcomer needs: `make demo` and `make test`. Both set up .venv themselves.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: demo test lint test-quick bench setup clean

$(BIN)/pml-policy: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test,lint,durable,bench]'
	@touch $@

setup: $(BIN)/pml-policy

demo: setup          ## check the example runs against the starter policies
	@PATH="$(abspath $(BIN)):$$PATH" bash scripts/demo.sh

test: lint           ## the static checks, then every tier (unit, integration, e2e), in parallel
	$(BIN)/python -m pytest -q -n auto --dist loadgroup --hypothesis-profile ci

test-quick: setup    ## the unit tier only (no server, no subprocess), fewer Hypothesis examples: seconds
	$(BIN)/python -m pytest -q -n auto tests/unit --hypothesis-profile quick

lint: setup          ## ruff (lines <= 120), mypy on the package, the layers of DESIGN.md (import-linter)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

bench: setup         ## every bench at full size (~30 min; figures kept in bench/results/), then bench/README.md
	$(BIN)/python bench/engine.py --record bench/results
	$(BIN)/python bench/audit.py --record bench/results
	$(BIN)/python bench/report.py --record bench/results
	$(BIN)/python bench/impact.py --record bench/results
	$(BIN)/python bench/mlflow_reads.py --record bench/results
	$(BIN)/python bench/service.py --mlflow --record bench/results
	$(BIN)/python bench/readme.py

clean:
	rm -rf $(VENV) build .pytest_cache .hypothesis *.egg-info
