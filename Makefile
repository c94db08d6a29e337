# energyweb: `make run` starts everything on embedded defaults; `make test` runs the suite.
# Installs are skipped while the requirement files are unchanged (stamp files).

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP_RUN  := $(VENV)/.installed-run
STAMP_DEV  := $(VENV)/.installed-dev
STAMP_NODE := node_modules/.installed
PYTEST_ARGS ?=

.PHONY: run test lint bench setup check-python migrate

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
	$(PY) manage.py ensure_admin
	$(PY) manage.py register_host
	$(PY) manage.py runstack

test: $(STAMP_DEV) $(STAMP_NODE)
	$(VENV)/bin/pytest $(PYTEST_ARGS)

lint: $(STAMP_DEV)
	$(VENV)/bin/ruff check .

bench: $(STAMP_DEV)
	@set -e; for script in benchmarks/*.py; do \
		[ -e "$$script" ] || { echo "no benchmarks yet"; break; }; \
		case "$$(basename $$script)" in _*|*_common.py) continue ;; esac; \
		echo "== $$script"; $(PY) "$$script"; \
	done
