# community-attribution: `make run` serves the demo; `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test

.PHONY: run serve migrate demo test lint openapi worker fake-crm clean assets browser

## The dashboard's charting library, from the npm registry at the version package-lock.json pins,
## copied into the package (git-ignored, never edited by hand): nothing is fetched at run time.
VENDOR := app/dashboard/static/vendor
ASSETS := $(VENDOR)/chart.umd.min.js

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(TEST_STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@ $(STAMP)

$(ASSETS): package.json package-lock.json
	npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	mkdir -p $(VENDOR)
	cp node_modules/chart.js/dist/chart.umd.min.js $(VENDOR)/chart.umd.min.js
	cp node_modules/chart.js/LICENSE.md $(VENDOR)/chart.js-LICENSE.md

assets: $(ASSETS)

## Debian's Chromium for the dashboard's browser tests (installed when missing and root; never a
## browser download). Without it those tests skip, saying why.
browser:
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] \
		&& apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null; } \
		|| echo "chromium could not be installed: the dashboard's browser tests will skip"

## Set up, migrate the embedded SQLite database, load the demo company if empty (its key is printed
## then, once), and serve the API with the worker (sync jobs, queued runs) beside it.
run: $(STAMP) $(ASSETS)
	$(BIN)/commattr migrate
	$(BIN)/commattr demo --if-empty
	$(BIN)/commattr worker & worker=$$!; trap 'kill $$worker 2>/dev/null' EXIT INT TERM; $(BIN)/commattr serve

serve: $(STAMP) $(ASSETS)
	$(BIN)/commattr serve

migrate: $(STAMP)
	$(BIN)/commattr migrate

demo: $(STAMP)
	$(BIN)/commattr demo

worker: $(STAMP)
	$(BIN)/commattr worker

## Local servers speaking the Salesforce and HubSpot APIs, with seeded data, to try a sync.
fake-crm: $(TEST_STAMP)
	$(BIN)/python -m tests.fakes.serve

openapi: $(STAMP)
	$(BIN)/commattr openapi

## Lint, type-check, check import contracts and the Dockerfile, then the suite on SQLite and on a
## throwaway PostgreSQL.
test: $(TEST_STAMP) $(ASSETS) browser
	$(BIN)/ruff check app attribution connectors migrations tests benchmarks
	$(BIN)/mypy app attribution connectors
	$(BIN)/lint-imports
	$(BIN)/hadolint Dockerfile
	scripts/run-tests $(BIN)/pytest -n 2 $(PYTEST_ARGS)

lint: $(TEST_STAMP)
	$(BIN)/ruff check app attribution connectors migrations tests benchmarks
	$(BIN)/ruff format --check app attribution connectors migrations tests benchmarks
	$(BIN)/mypy app attribution connectors
	$(BIN)/hadolint Dockerfile

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache node_modules $(VENDOR)
