# Slicewise: every command a developer or CI needs. `make up` and `make test` are the two that matter.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: help install up test lint typecheck imports unit bench-quick schemas clean

help:  ## list targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | sed 's/:.*##/ —/'

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade 'pip>=24,<27'
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	bash helm/install-tools.sh >/dev/null
	@command -v chromium >/dev/null || { \
		echo "installing Debian's chromium for the browser tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }
	@touch $(STAMP)

install: $(STAMP)  ## create .venv and install the project with every extra

up: $(STAMP)  ## start the whole local stack on embedded defaults (Ctrl-C stops it)
	$(BIN)/slicewise up

lint: $(STAMP)  ## ruff lint and format check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)  ## mypy --strict
	$(BIN)/mypy

imports: $(STAMP)  ## import-linter contracts of ARCHITECTURE.md §2
	$(BIN)/lint-imports

test: lint typecheck imports  ## install, lint, type-check, import contracts and run every test
	$(BIN)/pytest $(PYTEST_ARGS)

unit: $(STAMP)  ## unit tests only
	$(BIN)/pytest tests/unit $(PYTEST_ARGS)

schemas: $(STAMP)  ## re-export protocol JSON Schemas after a model change
	$(BIN)/python -m protocol.schema_export

clean:  ## remove the virtual environment and caches
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
