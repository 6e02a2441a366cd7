# Dunning - every target creates .venv and installs what it needs on first use.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-dev
PYTEST := $(BIN)/python -m pytest
WORKERS ?= 2

.PHONY: help install demo test unit integration template reliability lint bench pdftools browser console layers figures clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is required")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP) ## create .venv and install Dunning with its dev tools

pdftools: ## install poppler-utils (pdftotext) for the letter tests when possible
	@command -v pdftotext >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
	  (apt-get update -qq >/dev/null && apt-get install -y -qq poppler-utils >/dev/null) || \
	  echo "pdftotext not installed (not root / no apt-get): letter tests fall back to pypdf"; }

browser: ## install Debian's chromium and chromium-driver (the browser tests' headless browser) when possible
	@{ command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; } || \
	  { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
	  (apt-get update -qq >/dev/null && apt-get install -y -qq chromium chromium-driver >/dev/null) || \
	  echo "chromium not installed (not root / no apt-get): the browser tests are skipped"; }

console: $(STAMP) ## the local stack with the demo data, the console and one demo user per group (prints how to sign in)
	$(BIN)/dunning local up --demo

demo: $(STAMP) ## run the collections path on the embedded local AWS; results in out/
	$(BIN)/dunning demo --out out

test: $(STAMP) pdftools browser ## unit, template, integration, reliability and browser tests
	$(PYTEST) -q -n $(WORKERS) --durations=20 -m "not slow" tests/unit tests/template tests/integration tests/reliability
	$(PYTEST) -q -p no:xdist -m "not slow" tests/browser

unit: $(STAMP)
	$(PYTEST) -q tests/unit

integration: $(STAMP)
	$(PYTEST) -q tests/integration

template: $(STAMP)
	$(PYTEST) -q tests/template

lint: $(STAMP) ## ruff, mypy, cfn-lint and the schema check
	$(BIN)/ruff check .
	$(BIN)/mypy shared/dunning functions
	$(BIN)/cfn-lint template.yaml
	$(BIN)/dunning events schemas --check

bench: $(STAMP) pdftools ## benchmarks (not part of make test); writes tests/benchmarks/RESULTS.md
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	@$(BIN)/python -c 'import weasyprint' >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
	  (apt-get update -qq >/dev/null && apt-get install -y -qq libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 >/dev/null) || \
	  echo "WeasyPrint cannot load its system libraries (Pango): its comparison is reported as not measured"; }
	@# both suites run; a benchmark that misses its target (or fails) makes the target fail after RESULTS.md is written
	@rc=0; $(PYTEST) -q -p no:xdist -p no:cacheprovider -m "slow or not slow" tests/benchmarks || rc=$$?; \
	  $(PYTEST) -q -n $(WORKERS) -p no:cacheprovider -m slow tests/reliability || rc=$$?; exit $$rc

LAYERS_OUT ?= .aws-sam/layers
PYTHON313  ?= $(shell command -v python3.13 2>/dev/null)
layers: $(STAMP) ## build the Lambda layers (arm64, as sam build does), print their zipped sizes, import-check them
	$(MAKE) -s -f infra/layers/Makefile build-DunningCoreLayer ARTIFACTS_DIR=$(abspath $(LAYERS_OUT))/core
	$(MAKE) -s -f infra/layers/Makefile build-DunningLettersLayer ARTIFACTS_DIR=$(abspath $(LAYERS_OUT))/letters
	$(BIN)/python infra/layers/layer_tool.py disjoint $(LAYERS_OUT)/core $(LAYERS_OUT)/letters
	$(BIN)/python infra/layers/layer_tool.py size $(LAYERS_OUT)/core $(LAYERS_OUT)/letters
	PYTHON313=$(PYTHON313) $(PYTEST) -q -p no:xdist -p no:cacheprovider -m slow tests/template/test_layers.py

figures: $(STAMP) pdftools ## reliability figures (a command, not a test); writes tests/reliability/FIGURES.md
	$(BIN)/python -m tests.reliability.figures $(if $(SLOW),--slow)

clean:
	rm -rf out .pytest_cache .mypy_cache .ruff_cache
