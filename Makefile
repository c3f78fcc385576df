# FireLater: `make run` and `make test` do all set-up on a fresh machine (see README.md).
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
PORT ?= 8000
HOST ?= 127.0.0.1

.PHONY: run test test-fast lint bench install services migrate seed superuser clean-data help

help:
	@echo "make run    - install, start services if needed, migrate, seed demo, serve on $(HOST):$(PORT)"
	@echo "make test   - install, start services if needed, run the whole test suite"
	@echo "make lint   - ruff, formatting and migrations check"

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
	@echo "  Acme dashboard API:  http://acme.localhost:$(PORT)/api/v1/"
	@echo "  Acme admin:          http://acme.localhost:$(PORT)/admin/"
	@echo "  Globex admin:        http://globex.localhost:$(PORT)/admin/"
	@echo "  Platform admin:      http://localhost:$(PORT)/admin/ (create a user: make superuser)"
	@echo "  Demo login (each tenant): admin / firelater-demo"
	@echo ""
	DEBUG=$${DEBUG:-1} $(PY) manage.py runserver $(HOST):$(PORT)

superuser: migrate
	DEBUG=$${DEBUG:-1} $(PY) manage.py createsuperuser

test: services
	$(PY) -m pytest

test-fast: services
	$(PY) -m pytest -m "not slow"

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	DEBUG=1 $(PY) manage.py makemigrations --check --dry-run

clean-data:
	rm -rf .data
