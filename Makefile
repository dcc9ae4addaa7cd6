# Two commands matter: `make run` (the product, on a bare machine) and `make test` (the whole suite).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml Makefile | cksum | cut -d' ' -f1)
# Cortex's CLI, for the API end-to-end tests. It pins certifi>=2026.10.19, newer than any release on
# PyPI, so it goes in without its dependencies; those are pinned in pyproject's dev extra.
CORTEX_CLI := cortexapps-cli==1.52.0
HOST ?= 127.0.0.1
PORT ?= 8000
# Debian's Chromium, for the browser tests (`make test` installs it with apt when missing).
CHROMIUM := /usr/bin/chromium
# Celery worker processes started by `make run`.
WORKERS ?= 2
# `make run DEMO=0` starts on the database as it is: no demo data, no first evaluation, no demo logins.
DEMO ?= 1
WITH_DEMO = $(filter-out 0,$(DEMO))

.PHONY: run test install lint typecheck format demo clean bench bench-workers

$(STAMP): pyproject.toml Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	$(PY) -m pip install --quiet --no-deps '$(CORTEX_CLI)'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

install: $(STAMP)

# The web server, a Celery worker and Celery beat, together: Ctrl-C (or SIGINT/SIGTERM to make), or any of
# them exiting, stops all three. `exec`, so make's own child is the launcher: --watch-parent lets it see
# the signals make does not pass on (see scripts/run_all.py).
run: install
	$(PY) manage.py migrate --noinput
	$(if $(WITH_DEMO),$(PY) manage.py load_demo --if-empty)
	$(if $(WITH_DEMO),$(PY) manage.py evaluate)
	@$(if $(WITH_DEMO),$(PY) manage.py demo_login --host $(HOST) --port $(PORT))
	exec $(PY) scripts/run_all.py --watch-parent --host $(HOST) --port $(PORT) --concurrency $(WORKERS)

test: install
	@# Browser tests (tests/e2e) drive Debian's Chromium; Playwright never downloads one.
	@test -x $(CHROMIUM) || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "Installing Debian's chromium for the browser tests"; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null) \
	      || echo "WARNING: could not install chromium: the browser tests will be skipped"; \
	  else \
	    echo "NOTE: $(CHROMIUM) is missing and cannot be installed here (needs root and apt-get):"; \
	    echo "      the browser tests will be skipped. Install it with: sudo apt-get install chromium chromium-driver"; \
	  fi; }
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(PY) manage.py makemigrations --check --dry-run --settings=scorecards_site.settings.test
	$(VENV)/bin/pytest -n 2 $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

# mypy with django-stubs and djangorestframework-stubs; configured in pyproject's [tool.mypy].
typecheck: install
	$(VENV)/bin/mypy

bench: install
	$(PY) benchmarks/evaluation.py

# Runs through real Celery workers; needs PostgreSQL and Redis on 127.0.0.1 (see docs/PERFORMANCE.md).
bench-workers: install
	$(PY) benchmarks/workers.py

clean:
	rm -rf var
