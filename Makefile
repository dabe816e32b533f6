# Two commands matter: `make run` (the console on the simulated market) and `make test`.
# Each creates .venv with the Python found on PATH and installs what it needs on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test bench headless clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/watchfloor $(ARGS)

test: $(STAMP)
	$(BIN)/python -m pytest -n 2 --dist loadfile $(ARGS)

bench: $(STAMP)
	$(BIN)/watchfloor bench $(ARGS)

headless: $(STAMP)
	$(BIN)/watchfloor --headless --speed max --duration 300 $(ARGS)

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache .hypothesis
