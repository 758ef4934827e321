# Slicewise: every command a developer or CI needs. `make up` and `make test` are the two that matter.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
LOCK := requirements/py311.lock
LOCKED := $(VENV)/.locked
# The image's subset of the lock: what the gateway, workers, agent and executor need at run time.
IMAGE_LOCK := requirements/image.lock
PYTEST_ARGS ?=

.PHONY: help install lock check-lock up up-local image test lint typecheck imports unit bench-quick schemas clean

help:  ## list targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | sed 's/:.*##/ —/'

# Every distribution in .venv comes from the lock, hash-checked; nothing is resolved on the day.
$(LOCKED): $(LOCK)
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes --no-deps -r $(LOCK)
	@touch $(LOCKED)

$(STAMP): $(LOCKED) pyproject.toml requirements/build.in
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	$(BIN)/python requirements/check_lock.py
	bash helm/install-tools.sh >/dev/null
	bash devstack/install-s3rver.sh >/dev/null
	@command -v chromium >/dev/null || { \
		echo "installing Debian's chromium for the browser tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }
	@command -v promtool >/dev/null || { \
		echo "installing Debian's prometheus for promtool (the alerting-rule check)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null; }
	@touch $(STAMP)

install: $(STAMP)  ## create .venv and install the project with every extra, from the lock

# `make lock` keeps every pin that pyproject.toml still allows; `make lock UPGRADE=1` moves every
# package to the newest release its ranges allow.
lock: $(LOCKED)  ## re-resolve the lock after a dependency change in pyproject.toml (UPGRADE=1: newest)
	$(BIN)/uv pip compile pyproject.toml requirements/build.in --extra dev --generate-hashes \
		--python-version 3.11 --python-platform x86_64-unknown-linux-gnu \
		$(if $(UPGRADE),--upgrade) --quiet -o $(LOCK)
	$(BIN)/uv pip compile pyproject.toml requirements/build.in --extra agent --extra executor \
		--extra server --generate-hashes -c $(LOCK) \
		--python-version 3.11 --python-platform x86_64-unknown-linux-gnu --quiet -o $(IMAGE_LOCK)
	$(BIN)/python requirements/check_lock.py --lock-only

check-lock: $(LOCKED)  ## fail if the lock and pyproject.toml disagree
	$(BIN)/python requirements/check_lock.py --lock-only

up: $(STAMP)  ## start the whole local stack on embedded defaults (Ctrl-C stops it)
	@bash devstack/install-s3rver.sh >/dev/null
	$(BIN)/slicewise up

up-local: $(STAMP)  ## the same with the demo cluster in the local control plane (real agent and executor)
	@bash devstack/install-s3rver.sh >/dev/null
	$(BIN)/slicewise up --cluster local

# Not part of `make test`: the first build fetches Debian and takes about five minutes.
image: $(STAMP)  ## build the OCI image slicewise:<version> into build/image without a container engine
	bash image/build.sh

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
