# The front door. Every target installs what it needs first; `make demo` and `make test` work
# on a fresh clone. Paths and settings: see .env.example.
VENV := .venv
BIN := $(VENV)/bin
export DBT_SEND_ANONYMOUS_USAGE_STATS := false

.PHONY: install jre browser demo build test dev lint docs bench clean

install: $(VENV)/.installed jre

# uv installs the locked stack ~6x faster than pip; the lock is requirements.lock.
$(VENV)/.installed: requirements.lock pyproject.toml
	python3 -m uv --version >/dev/null 2>&1 || python3 -m pip install -q uv==0.13.8
	python3 -m uv venv -q --allow-existing --python 3.11 $(VENV)
	python3 -m uv pip sync -q --python $(BIN)/python requirements.lock
	python3 -m uv pip install -q --python $(BIN)/python --no-deps -e .
	touch $@

# A Java runtime for the Spark engine (pyspark starts a JVM): Debian's, when `java` is missing.
jre:
	@command -v java >/dev/null || (apt-get update -qq && apt-get install -y -qq openjdk-17-jre-headless)

# Debian's chromium for the dashboard browser tests (Playwright never downloads its own).
browser:
	@command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium)

build: install
	$(BIN)/arrears build --generate-if-empty

demo: build
	$(BIN)/arrears serve

test: install browser
	$(BIN)/pytest

dev: install
	$(BIN)/arrears dev

lint: install
	$(BIN)/ruff check orchestration dashboards data_quality tests benchmarks
	$(BIN)/ruff format --check orchestration dashboards data_quality tests benchmarks
	# dbt's profile reads the settings from the environment (`arrears env`); the templater needs a
	# warehouse path but never opens the file.
	cd dbt_project && eval "$$(../$(BIN)/arrears env)" && ARREARS_WAREHOUSE=/tmp/arrears-lint.duckdb ../$(BIN)/sqlfluff lint models tests

docs: install
	$(BIN)/arrears docs

bench: install
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf data dbt_project/target dbt_project/logs tests/artifacts
