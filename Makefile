# Each target does its own set-up first (tools/setup_env.sh is idempotent: a second run only
# checks). PY is the environment's python.
PY ?= .venv/bin/python
PYTEST_ARGS ?=

.PHONY: setup demo test test-fast lint

setup:
	bash tools/setup_env.sh

demo: setup
	$(PY) tools/demo.py

test: setup
	$(PY) -m pytest -q $(PYTEST_ARGS)

test-fast: setup
	$(PY) -m pytest -q -m "not slow" $(PYTEST_ARGS)

lint: setup
	$(PY) -m ruff check csg_mm tools tests configs
