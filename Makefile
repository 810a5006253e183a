# Every target creates and reuses the virtual environment in .venv itself: a fresh machine
# needs only Python 3 and make.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
BENCH_STAMP := $(VENV)/.installed-bench
PROFILE ?= thorough
MODULES ?=
DEFAULT_SPECS ?=
REPORTS ?= reports
JOBS ?= auto

.DEFAULT_GOAL := help
.PHONY: help venv verify test lint format typecheck bench clean browser

help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  make %-10s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,torch,jax]'
	@touch $@

venv: $(STAMP) ## create (or refresh) the virtual environment in .venv

# The registered specs as pytest items (spec x dtype x check), spread over all cores by
# pytest-xdist; only the controller writes the report. Without MODULES: the bundled specs/.
# MODULES="my_layers other/file.py" (dotted names or file paths): those modules' specs alone,
# plus the bundled ones with DEFAULT_SPECS=1.
verify: $(STAMP) ## verify the bundled specs, or MODULES=... alone (thorough profile, all cores); write reports/
	@$(BIN)/python -m pytest tests/test_registered_specs.py -q -p no:cacheprovider -n $(JOBS) \
		--harness-profile $(PROFILE) --harness-report $(REPORTS) \
		$(foreach m,$(MODULES),--harness-module $(m)) \
		$(if $(DEFAULT_SPECS),--harness-with-default-specs); \
	rc=$$?; if [ $$rc -eq 5 ]; then echo "no registered specs collected: failing"; exit 1; fi; \
	exit $$rc

# The registered specs themselves are `make verify`'s job (tests/test_registered_specs.py);
# the suite tests the harness.
test: $(STAMP) ## run the test suite (quick hypothesis profile, all cores)
	@HARNESS_PROFILE=quick $(BIN)/python -m pytest -n $(JOBS) --dist loadgroup -q \
		--ignore=tests/test_registered_specs.py; \
	rc=$$?; if [ $$rc -eq 5 ]; then echo "pytest collected no tests: failing"; exit 1; fi; exit $$rc

lint: $(STAMP) ## ruff (lint and format check) and mypy on harness/
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: $(STAMP) ## apply ruff's formatting and safe fixes
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

$(BENCH_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	@touch $@

bench: $(BENCH_STAMP) ## sensitivity, false alarms and speed against torch/jax/scipy (slow)
	$(BIN)/python benchmarks/bench.py

browser: ## install Debian's chromium for the browser test (needs root)
	@test -x /usr/bin/chromium || (apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null)

clean: ## remove the virtual environment, caches and generated reports
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
	find $(REPORTS) -mindepth 1 ! -name README.md ! -name .gitignore -delete 2>/dev/null || true
