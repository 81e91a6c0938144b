# Two entry points, each installs what it needs into .venv first:
#   make demo   track the sample video in data/ -> out/sample.json + out/sample_paths.png
#   make test   run every test (what .ci/run runs)
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: install demo test lint

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $@

install: $(VENV)/.installed

demo: install
	$(VENV)/bin/persontrack track data/sample.mp4 -o out/sample.json --plot out/sample_paths.png

lint: install
	$(VENV)/bin/ruff check persontrack tests benchmarks
	$(VENV)/bin/ruff format --check persontrack tests benchmarks
	$(VENV)/bin/mypy

test: lint
	$(PY) -m pytest
