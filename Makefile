# Two commands on a fresh machine: `make run` (the whole stack) and `make test`.
# With no DATABASE_URL / REDIS_URL / MQTT_URL set, PostgreSQL, Redis and an MQTT broker are started
# from Python packages under .data/ (see backoffice/devstack.py); set the URLs to use real services.

PYTHON_BOOT := $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.requirements.stamp
DEVSTACK := $(PY) -m backoffice.devstack
BENCH_ARGS ?=
PYTEST_ARGS ?=
DATA_DIR := $(or $(CSMS_DATA_DIR),.data)

.DEFAULT_GOAL := help
.PHONY: help venv run manage stop test lint bench clean

help: ## show this help
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-6s %s\n", $$1, $$2}'

venv: $(STAMP) ## create .venv and install requirements.txt (again only when it changed)

$(STAMP): requirements.txt
	@test -x $(PY) || $(PYTHON_BOOT) -m venv $(VENV)
	$(PY) -m pip install --quiet -r requirements.txt
	@touch $@

run: venv ## run the whole stack (embedded services unless the URLs are set); Ctrl-C stops it
	$(DEVSTACK) run

ARGS ?= help
manage: venv ## manage.py against the running stack: make manage ARGS="gateway_set_password CP-1" (or ./csms ...)
	$(DEVSTACK) exec -- $(PY) manage.py $(ARGS)

stop: ## stop a stack running on .data (from another terminal; Ctrl-C in its own does the same)
	@if [ -x $(PY) ]; then $(DEVSTACK) stop; fi

lint: venv ## ruff and mypy (django-stubs, djangorestframework-stubs; configured in pyproject.toml)
	$(PY) -m ruff check .
	$(PY) -m mypy .

test: venv lint ## lint, migrations check, pytest (PYTEST_ARGS="-k foo" to select)
	$(DEVSTACK) --data-dir $(DATA_DIR)/test exec -- $(PY) manage.py makemigrations --check --dry-run
	$(DEVSTACK) test $(PYTEST_ARGS)

bench: venv ## benchmarks (BENCH_ARGS="..." are passed on)
	$(PY) -m bench $(BENCH_ARGS)

clean: ## stop anything running on .data, then delete .data and collected static files
	@if [ -x $(PY) ]; then $(DEVSTACK) stop; fi
	rm -rf $(DATA_DIR) staticfiles
