# The two commands a newcomer needs: `make demo` and `make test`. Both set up .venv themselves.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: demo test lint test-quick bench setup clean

# The main job needs the package alone; the tests, the linters, the benches and the docs need the
# project's dependency groups (pyproject.toml, PEP 735) on top, with the durable_rules backend.
$(BIN)/pml-policy: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade 'pip>=25.1'
	$(BIN)/pip install --quiet -e .
	@touch $@

$(VENV)/.dev: $(BIN)/pml-policy
	$(BIN)/pip install --quiet -e '.[durable]' --group dev
	@touch $@

setup: $(VENV)/.dev

demo: $(BIN)/pml-policy  ## check the example runs against the starter policies (the package alone)
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
	$(BIN)/python bench/analyze.py --record bench/results
	$(BIN)/python bench/mlflow_reads.py --record bench/results
	$(BIN)/python bench/reconcile.py --record bench/results
	$(BIN)/python bench/service.py --mlflow --record bench/results
	$(BIN)/python bench/readme.py

clean:
	rm -rf $(VENV) build .pytest_cache .hypothesis *.egg-info
