# FireLater: `make run` and `make test` do all set-up on a fresh machine (see README.md).
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
PORT ?= 8000
HOST ?= 127.0.0.1

.PHONY: run test test-fast lint mutate bench install services test-services test-tools migrate seed superuser clean-data help

help:
	@echo "make run    - install, start services if needed, migrate, seed demo, serve on $(HOST):$(PORT)"
	@echo "make test   - install, start services if needed, run the whole test suite"
	@echo "make lint   - ruff, formatting, migrations check, mypy (strict on the cache)"

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "$(PYTHON) not found: install Python 3.11"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	@touch $@

install: $(STAMP)

services: install
	$(PY) scripts/ensure_services.py

migrate: services
	DEBUG=$${DEBUG:-1} $(PY) manage.py migrate_schemas --shared --verbosity 0
	DEBUG=$${DEBUG:-1} $(PY) manage.py setup_public --verbosity 0
	DEBUG=$${DEBUG:-1} $(PY) manage.py migrate_schemas --tenant --verbosity 0

seed: migrate
	DEBUG=$${DEBUG:-1} $(PY) manage.py seed_demo --if-empty

run: seed
	@echo ""
	@echo "FireLater is starting on http://$(HOST):$(PORT)"
	@echo "  Acme dashboard:      http://acme.localhost:$(PORT)/"
	@echo "  Acme API (browsable): http://acme.localhost:$(PORT)/api/v1/dashboard/"
	@echo "  API docs:            http://acme.localhost:$(PORT)/api/docs/"
	@echo "  Acme admin:          http://acme.localhost:$(PORT)/admin/"
	@echo "  Globex admin:        http://globex.localhost:$(PORT)/admin/"
	@echo "  Platform admin:      http://localhost:$(PORT)/admin/ (create a user: make superuser)"
	@echo "  Demo logins (each tenant), password firelater-demo:"
	@echo "    requester      files issues and requests, sees their own"
	@echo "    agent          works every issue and request, reads the dashboard"
	@echo "    changemanager  an agent who approves, rejects and schedules changes"
	@echo "    admin          tenant admin: everything, users and roles, the Cache page"
	@echo ""
	DEBUG=$${DEBUG:-1} $(PY) manage.py runserver $(HOST):$(PORT)

superuser: migrate
	DEBUG=$${DEBUG:-1} $(PY) manage.py createsuperuser

# The suite runs on its own PostgreSQL primary and hot standby (.data/pg, Unix sockets only),
# started here and by pytest itself (tests.support.pg_pair_plugin) unless DATABASE_URL is set.
# It keeps running afterwards (the next run starts in a fraction of a second), except with
# CI=true (a CI clone: CI=true bash .ci/run): then pytest alone starts it and stops it at
# the end of its run, passed or failed, so no postmaster outlives the clone's run.
test-services: install
	$(PY) scripts/ensure_services.py --tests

test: test-services test-tools
	$(PY) -m pytest

# The suite drives Debian's chromium and private redis-servers; installed when missing
# (a missing one fails its tests rather than skipping them).
test-tools: install
	$(PY) scripts/ensure_test_tools.py

test-fast: test-services
	$(PY) -m pytest -m "not slow"

mutate: services test-tools  # not part of make test: ~2 minutes, prints the survivors
	$(PY) scripts/mutate.py

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	DEBUG=1 $(PY) manage.py makemigrations --check --dry-run
	DEBUG=1 $(VENV)/bin/mypy

# Benchmarks, not part of `make test` (about 21 minutes on 2 cores): their own database
# (firelater_bench) and Redis db 14; results in bench/results/ (latest.md, latest.json, PNGs).
# BENCH_ARGS=--quick for a short smoke run (results in bench/results/quick/).
BENCH_STAMP := $(VENV)/.bench-installed-stamp

$(BENCH_STAMP): pyproject.toml $(STAMP)
	$(PY) -m pip install --quiet -e ".[dev,bench]"
	@touch $@

bench: services $(BENCH_STAMP)
	$(PY) -m bench.run $(BENCH_ARGS)

clean-data:  # stops the pair first (a cluster whose files vanish keeps running otherwise)
	-python3 scripts/pg_pair.py stop --all
	rm -rf .data
