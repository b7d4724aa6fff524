# The two commands a new user needs: `make up` (the whole system with demo data) and `make test`.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: up down status test test-unit browser schemas asyncapi venv lint

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

up: $(STAMP)  ## start Kafka, PostgreSQL, Keycloak and every service, load the demo, print the URLs and demo users
	deploy/pdf.sh
	$(PY) -m deploy.stack up
	$(PY) -m deploy.demo

down:  ## stop every service, Kafka, PostgreSQL and Keycloak
	@if [ -x $(PY) ]; then $(PY) -m deploy.stack down; else deploy/kafka.sh stop; deploy/postgres.sh stop; deploy/keycloak.sh stop; fi

status: $(STAMP)
	$(PY) -m deploy.stack status

test: $(STAMP)  ## every test; starts its own Kafka and PostgreSQL on other ports
	deploy/browser.sh
	deploy/pdf.sh
	deploy/asyncapi.sh install
	deploy/axe.sh install
	$(PY) -m pytest $(PYTEST_ARGS)

browser:  ## Debian's chromium for the browser tests (tests/browser)
	deploy/browser.sh

test-unit: $(STAMP)
	deploy/pdf.sh
	$(PY) -m pytest tests/unit $(PYTEST_ARGS)

schemas: $(STAMP)  ## regenerate contracts/schemas/ from the models
	$(PY) -m contracts.export_schemas

asyncapi: $(STAMP)  ## regenerate docs/asyncapi.yaml from the code (topics, catalogue, ACLs)
	$(PY) -m deploy.asyncapi

lint: $(STAMP)
	$(VENV)/bin/ruff check .
