# energyweb: `make run` starts everything on embedded defaults; `make test` runs the suite.
# Installs are skipped while the requirement files are unchanged (stamp files).

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP_RUN  := $(VENV)/.installed-run
STAMP_DEV  := $(VENV)/.installed-dev
STAMP_NODE := node_modules/.installed
PYTEST_ARGS ?=

.PHONY: run test test-fast lint bench setup check-python migrate

check-python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "energyweb needs Python 3.11 or newer (found " + sys.version.split()[0] + "); set PYTHON=python3.11")'
	@command -v npm >/dev/null || { echo "npm not found: install Node.js (it brings npm) to fetch Chart.js"; exit 1; }

$(PY): | check-python
	$(PYTHON) -m venv $(VENV)

# `make run` starts a worker for this host, so it installs the worker stack (CPU torch,
# transformers): with requirements.txt alone the first profiling run failed after the fact.
$(STAMP_RUN): requirements.txt requirements-worker.txt | $(PY)
	$(PY) -m pip install --disable-pip-version-check -q -r requirements-worker.txt
	touch $@

$(STAMP_DEV): requirements.txt requirements-worker.txt requirements-dev.txt | $(PY)
	$(PY) -m pip install --disable-pip-version-check -q -r requirements-dev.txt
	touch $@ $(STAMP_RUN)

# npm ci empties node_modules, so the stamp lives inside it and goes with it.
$(STAMP_NODE): package.json package-lock.json | check-python
	npm ci --no-audit --no-fund
	touch $@

setup: $(STAMP_RUN) $(STAMP_NODE)

migrate: setup
	$(PY) manage.py migrate --noinput

run: setup migrate
	$(PY) manage.py seed_reference
	$(PY) manage.py seed_reference_deployments
	$(PY) manage.py ensure_admin
	$(PY) manage.py register_host
	$(PY) manage.py runstack

# pytest exits 5 when PYTEST_ARGS select no test at all: say so instead of a bare "Error 5"
# (still a failure: a run that tested nothing must not look green).
NO_TESTS := { status=$$?; [ $$status -ne 5 ] || echo "pytest collected no tests: check PYTEST_ARGS"; exit $$status; }

test: $(STAMP_DEV) $(STAMP_NODE)
	$(VENV)/bin/pytest $(PYTEST_ARGS) || $(NO_TESTS)

# No browser, no Celery worker, no torch or subprocess: the marks come from the fixtures a test
# uses (tests/conftest.py), so a new test lands on the right side by itself.
test-fast: $(STAMP_DEV)
	$(VENV)/bin/pytest -m "not browser and not worker and not slow" $(PYTEST_ARGS) || $(NO_TESTS)

lint: $(STAMP_DEV)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports --no-cache

bench: $(STAMP_DEV)
	@set -e; for script in benchmarks/*.py; do \
		[ -e "$$script" ] || { echo "no benchmarks yet"; break; }; \
		case "$$(basename $$script)" in _*|*_common.py) continue ;; esac; \
		echo "== $$script"; $(PY) "$$script"; \
	done
