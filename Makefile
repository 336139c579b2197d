# ABX Ops: `make run` serves the app and its worker; `make test` runs the suite.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint format check migrate demo clean bench

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "ABX Ops needs Python >= 3.11; found " + sys.version.split()[0])'
	@$(PYTHON) -c 'import venv, ensurepip' 2>/dev/null || { echo "Python's venv module is missing: install it (Debian/Ubuntu: sudo apt install python3-venv)."; exit 1; }
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@rm -f $(VENV)/.installed-*
	@touch $@

## run: install, migrate, load the demo data once, serve the web app and the worker.
run: $(STAMP)
	$(PY) manage.py migrate --no-input
	$(PY) manage.py seed_demo --if-empty
	$(PY) manage.py setup_schedules
	$(PY) manage.py collectstatic --no-input --verbosity 0
	@echo ""
	@echo "  ABX Ops is at http://$(HOST):$(PORT)/  (admin: /admin/, API docs: /api/docs/)"
	@echo "  Demo login: demo / demo-password"
	@echo ""
	@trap 'kill 0' INT TERM EXIT; \
	$(PY) manage.py qcluster & \
	$(PY) manage.py runserver --noreload $(HOST):$(PORT) & \
	wait

## test: the whole suite on SQLite (PostgreSQL when DATABASE_URL points at one).
test: $(STAMP)
	$(PY) -m pytest $(PYTEST_ARGS)

## bench: DESIGN §10's benchmarks on SQLite and PostgreSQL (when reachable), written to
## bench/results.md. BENCH_SIZE=tiny|small|default|dense, BENCH_REPEAT=3.
BENCH_SIZE ?= default
BENCH_REPEAT ?= 3
bench: $(STAMP)
	$(PY) -m bench --size $(BENCH_SIZE) --repeat $(BENCH_REPEAT)

## lint: the checks CI runs besides the tests.
lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) manage.py check
	$(PY) manage.py makemigrations --check --dry-run
	$(PY) manage.py spectacular --validate --fail-on-warn --file /dev/null

format: $(STAMP)
	$(PY) -m ruff check --fix .
	$(PY) -m ruff format .

clean:
	rm -rf $(VENV) staticfiles .pytest_cache
