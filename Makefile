# Every target sets itself up: a virtual environment in .venv with the package and its test
# extras, and Debian's LLVM 19 tools (for differential tests) where apt-get can install them.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: setup demo test bench lint clean

setup: $(STAMP)
	@tools/install_llvm.sh

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

demo: setup
	$(VENV)/bin/amdrt demo

test: setup
	$(PY) -m pytest -n 2 -q

bench: setup
	$(PY) tools/bench.py

lint: setup
	$(VENV)/bin/ruff check .

clean:
	rm -rf $(VENV) bench.json .pytest_cache .hypothesis
