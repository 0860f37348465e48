# Every target sets itself up: a virtual environment in .venv with the package and its test
# extras, and Debian's LLVM 19 tools (for differential tests) where apt-get can install them.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: setup demo test bench lint clean

setup: $(STAMP)
	@tools/install_llvm.sh

# Reinstall when the project or a top-level package changes (an editable install records them).
$(STAMP): pyproject.toml $(wildcard */__init__.py)
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

# The main job: the runtime end to end on two simulated GPUs (AMDRT_SIM=N for another count).
demo: setup
	AMDRT_SIM=$${AMDRT_SIM-2} $(VENV)/bin/amdrt info
	AMDRT_SIM=$${AMDRT_SIM-2} $(VENV)/bin/amdrt smoke

test: setup
	$(PY) -m pytest -n 2 -q

bench: setup
	$(PY) tools/bench.py

lint: setup
	$(VENV)/bin/ruff check .

clean:
	rm -rf $(VENV) bench.json .pytest_cache .hypothesis
