# Firebreak: `make run` brings the whole app up with demo data; `make test` runs every check.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
export HOST PORT

.PHONY: install run test lint types pytest bench fuzz lock clean

$(VENV)/.installed: requirements.lock
	test -x $(PY) || python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check --require-hashes -r requirements.lock
	touch $@

install: $(VENV)/.installed

run: install
	@$(PY) -m config.preflight
	@DJANGO_SETTINGS_MODULE=config.settings.local $(PY) manage.py migrate --noinput -v0
	@DJANGO_SETTINGS_MODULE=config.settings.local $(PY) manage.py seed_demo
	@echo ""
	@echo "Firebreak is starting at http://$(HOST):$(PORT)/  (admin: /admin/, API docs: /api/docs/)"
	@echo "Sign in as any of the users above. Ctrl-C stops web, worker, clock (the SLA sweeper) and beat."
	@echo ""
	@DJANGO_SETTINGS_MODULE=config.settings.local exec $(VENV)/bin/honcho start -f Procfile

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

types: install
	$(VENV)/bin/mypy .

pytest: install
	@$(PY) -m config.preflight
	$(VENV)/bin/pytest

test: lint types pytest

# Schemathesis over every API operation, FUZZ_EXAMPLES cases each (make test runs 3).
fuzz: install
	@$(PY) -m config.preflight
	FIREBREAK_FUZZ_EXAMPLES=$${FUZZ_EXAMPLES:-1000} $(VENV)/bin/pytest tests/config/test_api_fuzz.py -s -p no:logging

bench: install
	@$(PY) -m config.preflight
	$(PY) -m bench $(BENCH_ARGS)

# Re-pin every dependency after editing pyproject.toml.
lock:
	python3 -m pip install --quiet uv
	python3 -m uv pip compile pyproject.toml --extra dev --generate-hashes --python-version 3.11 -o requirements.lock

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache staticfiles
