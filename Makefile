# Two commands on a fresh machine with Python 3.11+, make and git:
#   make run   — set up, run the daily job on the demo company and print the KPI radar
#   make test  — set up and run every test (what CI runs)
SHELL := /bin/bash
.DEFAULT_GOAL := help

UV_VERSION := 0.13.9
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
PY := $(VENV)/bin/python
DBT := $(VENV)/bin/dbt --quiet
export DAGSTER_HOME ?= $(CURDIR)/.dagster_home
# dagster-dbt looks for `dbt` on PATH (e.g. to re-parse the project under `dagster dev`).
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
DBT_SOURCES := dbt_project.yml profiles.yml $(shell find dbt_project seeds -type f 2>/dev/null)

.PHONY: help setup run backfill test test-fast test-faults test-spark lint dev docs clean FORCE

help:
	@echo "make run        run the daily job on the demo company and print the KPI radar"
	@echo "make run AS_OF=2026-06-30   the radar of a past day"
	@echo "make backfill FROM=2026-06-01 TO=2026-06-30   the daily job for each day of a range"
	@echo "make run FULL_REFRESH=1   rebuild the incremental marts over the whole history"
	@echo "make test       lint, unit, dbt and end-to-end tests (CI adds test-faults, test-spark)"
	@echo "make test-fast  the tests without the end-to-end runs"
	@echo "make test-faults  kill, race and starve whole runs; prints what each fault came to"
	@echo "make test-spark   the job on a local Spark cluster against DuckDB (needs Java 17)"
	@echo "make dev        start dagster dev on http://127.0.0.1:3000 (Ctrl-C stops it)"
	@echo "make setup      install the environment and parse the dbt project (every target does)"
	@echo "make lint       ruff and sqlfluff"
	@echo "make docs       the dbt docs of every model and column, as one page"
	@echo "make clean      remove the environment, build output and local data"

# uv lives in its own small environment so `uv sync` never removes it from the project's.
$(UV):
	python3 -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

# Inexact: the Spark target's packages, once installed, stay. Compiled once at install: where
# PYTHONDONTWRITEBYTECODE is set, Python would otherwise compile every module it imports in each
# process (about 3 s of each run's start, 1.5 s of each dbt build's).
SYNC := $(UV) sync --frozen --inexact --quiet --compile-bytecode
$(VENV)/.synced: $(UV) pyproject.toml uv.lock Makefile
	$(SYNC)
	@touch $@

# The pyspark 4 package leaves out Hive's LLAP classes, which Hive's function registry needs
# when the Thrift server builds it, as it may when two sessions close at about the same time:
# without them that close fails, and leaves the registry half-built for the closes after it.
# The cluster of the tests gets the jar from the last pyspark package that shipped it, checked
# by its hash.
HIVE_LLAP_JAR := $(VENV)/share/hive-llap-common-2.3.9.jar
HIVE_LLAP_SHA256 := bbc07775a0b14180540b44d7879fb35dc92967a1e7a968063ca890c4e604c0b9
# Order-only: the jar is fetched once, not again each time the environment is synced.
$(HIVE_LLAP_JAR): | $(VENV)/.synced
	rm -rf $(TOOLS)/pyspark-3.5.6 && mkdir -p $(@D)
	$(TOOLS)/bin/pip download --quiet --disable-pip-version-check --no-deps --no-binary :all: \
		--dest $(TOOLS)/pyspark-3.5.6 pyspark==3.5.6
	tar -xzf $(TOOLS)/pyspark-3.5.6/pyspark-3.5.6.tar.gz -O \
		pyspark-3.5.6/deps/jars/hive-llap-common-2.3.9.jar > $@.part
	echo "$(HIVE_LLAP_SHA256)  $@.part" | sha256sum --check --quiet
	mv $@.part $@ && rm -rf $(TOOLS)/pyspark-3.5.6

# The Spark target's packages (dbt-spark, pyspark with Spark itself) on top of the project's.
$(VENV)/.synced-spark: $(VENV)/.synced $(HIVE_LLAP_JAR)
	$(SYNC) --extra spark
	@touch $@

# dagster-dbt reads dbt's manifest when the definitions load.
target/manifest.json: $(VENV)/.synced $(DBT_SOURCES)
	$(DBT) parse --profiles-dir . --project-dir .
	@touch $@

# Dagster's instance: runs and events in local SQLite files, or in PostgreSQL for a team when
# DAGSTER_POSTGRES_URL is set (in the environment or .env). Compared on every setup, so that
# setting or unsetting it switches the instance.
DAGSTER_POSTGRES_URL ?= $(shell sed -n 's/^DAGSTER_POSTGRES_URL=//p' .env 2>/dev/null)
DAGSTER_INSTANCE := orchestration/$(if $(strip $(DAGSTER_POSTGRES_URL)),dagster_postgres,dagster).yaml

$(DAGSTER_HOME)/dagster.yaml: $(DAGSTER_INSTANCE) FORCE
	@mkdir -p $(DAGSTER_HOME)
	@cmp -s $< $@ || { cp $< $@ && echo "Dagster instance: $< copied to $@"; }

FORCE:

setup: $(VENV)/.synced target/manifest.json $(DAGSTER_HOME)/dagster.yaml

run: setup
	$(PY) -m orchestration run $(if $(AS_OF),--as-of $(AS_OF)) $(if $(FULL_REFRESH),--full-refresh)

backfill: setup
	$(PY) -m orchestration backfill $(FROM) $(TO)

# Tests run in parallel, one process per core up to four (pytest-xdist; TEST_WORKERS=0: none),
# each module's tests in one process so that the runs its fixtures make are made once. The fast
# tests, waiting on servers and back-offs, left the cores idle a third of the time on two
# workers: they take one worker more than there are cores.
TEST_WORKERS ?= auto
WORKERS = $(TEST_WORKERS)
PYTEST = $(PY) -m pytest --numprocesses $(WORKERS) --maxprocesses 4

test: setup lint
	$(PYTEST) --dist loadfile

test-fast: WORKERS = $(if $(filter auto,$(TEST_WORKERS)),$(shell python3 -c 'import os; print(os.cpu_count() + 1)'),$(TEST_WORKERS))
test-fast: setup
	$(PYTEST) --dist loadfile -m "not e2e and not faults and not spark"

# One module of whole runs, each test on its own.
test-faults: setup
	$(PYTEST) --dist load -m faults

test-spark: setup $(VENV)/.synced-spark
	$(PY) -m pytest -m spark

lint: $(VENV)/.synced
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/sqlfluff lint dbt_project --disable-progress-bar --nocolor

DEV_HOST ?= 127.0.0.1
DEV_PORT ?= 3000
# Make passes SIGTERM only to its child and on Ctrl-C waits for it, and `dagster dev` gives its
# services a minute each to stop: the child here passes the signal on and, 10 s later, stops
# whatever still runs. A single command, which make starts with no shell in between.
dev: setup
	$(PY) -m orchestration dev --host $(DEV_HOST) --port $(DEV_PORT)

# Every model, column and test documented, with the warehouse's tables, as one page (after
# `make run`; not while a run writes the warehouse). The settings of .env apply, as to a run.
docs: setup
	$(if $(wildcard .env),$(VENV)/bin/dotenv -f .env run --no-override --) \
		$(DBT) docs generate --static --profiles-dir . --project-dir .
	@echo "dbt docs: file://$(CURDIR)/target/static_index.html"

clean:
	rm -rf $(VENV) $(TOOLS) target logs data .dagster_home .pytest_cache .ruff_cache
