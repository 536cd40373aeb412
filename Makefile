# One virtualenv in .venv; every target installs what it needs first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PY := $(BIN)/python

.PHONY: install demo test lint bench bench-dispatch ci clean

$(BIN)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

install: $(BIN)/.installed

## Offline demo: SQLite, the bundled GitHub recordings behind a local replay server, mail into
## outbox/, then the site at http://127.0.0.1:8000/ (Ctrl-C stops it).
demo: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py collectstatic --noinput -v0
	$(PY) manage.py demo
	$(PY) manage.py runserver 127.0.0.1:8000

## The test suite (DATABASE_URL=postgres://... runs it on PostgreSQL).
test: install
	$(PY) -m pytest

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(PY) manage.py makemigrations --check --dry-run

bench: install
	$(PY) benchmarks/collect.py
	$(PY) benchmarks/analysis.py
	$(PY) benchmarks/archive.py
	$(PY) benchmarks/quality.py

## Needs PostgreSQL; drops and recreates BENCH_DATABASE_URL's database.
bench-dispatch: install
	$(PY) benchmarks/dispatch.py

ci:
	bash .ci/run

clean:
	rm -rf $(VENV) db.sqlite3 var outbox .pytest_cache .ruff_cache
