# The two commands a newcomer needs: `make demo` and `make test`. Both set up .venv themselves.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: demo test bench setup clean

$(BIN)/pml-policy: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test,durable,bench]'
	@touch $@

setup: $(BIN)/pml-policy

demo: setup          ## check the example runs against the starter policies
	@PATH="$(abspath $(BIN)):$$PATH" bash scripts/demo.sh

test: setup          ## unit tests, Gherkin scenarios, property tests
	$(BIN)/python -m pytest -q

bench: setup         ## engine throughput and check cold start
	$(BIN)/python bench/engine.py

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis *.egg-info
