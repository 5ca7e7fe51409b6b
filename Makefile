# The two commands a newcomer needs: `make demo` and `make test`. Both set everything up first.
SHELL := /bin/bash
PYTHON ?= python3
UV_VERSION := 0.13.8
UV := .tools/bin/uv
VENV := .venv
# The browser tests drive Debian's Chromium: no browser download is possible here.
CHROMIUM := /usr/bin/chromium

# The local default: a loopback AWS endpoint that `accfb` starts when it is absent.
export ACCFB_ENVIRONMENT ?= local
export ACCFB_AWS_ENDPOINT_URL ?= http://127.0.0.1:4566
# Telemetry off everywhere: no internet here, and donor data.
export DBT_SEND_ANONYMOUS_USAGE_STATS := False
export DO_NOT_TRACK := 1
export SODA_CORE_TELEMETRY_ENABLED := false
export AIRFLOW__COSMOS__ENABLE_TELEMETRY := False
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20

.PHONY: setup demo test lint lock down clean airflow mwaa-requirements dashboard docs

setup: $(VENV)/.synced $(CHROMIUM)

$(CHROMIUM):
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium

$(UV):
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(VENV)/.synced: requirements.lock pyproject.toml Makefile | $(UV)
	$(UV) venv --quiet --allow-existing --python $(PYTHON) $(VENV)
# The locked dependencies' bytecode compiled once here: an `accfb` process (a refresh a
# minute) would otherwise compile their imports again wherever .pyc files cannot be written
# (PYTHONDONTWRITEBYTECODE). The editable install's own modules are not compiled.
	VIRTUAL_ENV=$(VENV) $(UV) pip sync --quiet --require-hashes --compile-bytecode requirements.lock
	VIRTUAL_ENV=$(VENV) $(UV) pip install --quiet --no-deps --no-build-isolation -e .
	touch $@

demo: setup
	$(VENV)/bin/accfb demo

test: setup
	$(VENV)/bin/accfb contract-sql --check
	$(VENV)/bin/ruff format --check ingestion tests benchmarks dags infra
	$(VENV)/bin/ruff check ingestion tests benchmarks dags infra
	$(VENV)/bin/mypy
	$(VENV)/bin/pytest

lint: setup
	$(VENV)/bin/ruff format --check ingestion tests benchmarks dags infra
	$(VENV)/bin/ruff check ingestion tests benchmarks dags infra

# Re-resolve the pinned environment after editing pyproject.toml (and MWAA's requirements with it).
lock: | $(UV)
	$(UV) pip compile --quiet pyproject.toml --extra dev --extra infra --universal \
		--python-version 3.11 --generate-hashes -o requirements.lock
	$(PYTHON) -m infra.mwaa.generate

# MWAA's requirements.txt, generated from the lock (tests/dags/test_mwaa_requirements.py checks).
mwaa-requirements:
	$(PYTHON) -m infra.mwaa.generate

# Airflow 3 on http://127.0.0.1:8080 with the DAGs wired to the local default.
airflow: setup
	$(VENV)/bin/accfb airflow

# The dashboards (http://127.0.0.1:8501) and the dbt docs lineage site (http://127.0.0.1:8081).
dashboard: setup
	$(VENV)/bin/accfb dashboard

docs: setup
	$(VENV)/bin/accfb docs

down: setup
	$(VENV)/bin/accfb down

clean: down
	rm -rf .accfb
