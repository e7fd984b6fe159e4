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

bench: setup         ## engines; audit log (appends, verify, cold start); report over 1M decisions; service; impact
	-$(BIN)/python bench/engine.py
	$(BIN)/python bench/audit.py
	$(BIN)/python bench/report.py
	$(BIN)/python bench/service.py --mlflow
	$(BIN)/python bench/impact.py

clean:
	rm -rf $(VENV) build .pytest_cache .hypothesis *.egg-info
