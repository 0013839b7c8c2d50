# make demo: set everything up and serve the demo on SQLite at http://127.0.0.1:5000 (with a timer worker)
# make test: check the layers (lint-imports), then run the whole test suite (DATABASE_URL=postgresql://… runs it on PostgreSQL)
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export FLASK_APP := app

.PHONY: setup demo test translations extract-messages

setup: $(VENV)/.installed node_modules/.installed translations

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

translations: $(VENV)/.installed
	$(BIN)/pybabel compile -d app/translations

# After changing user-facing strings: refresh the catalogue, then translate the new entries.
extract-messages: $(VENV)/.installed
	$(BIN)/pybabel extract -F babel.cfg -k _l --ignore-dirs=".venv node_modules" -o app/translations/messages.pot .
	$(BIN)/pybabel update --ignore-obsolete -i app/translations/messages.pot -d app/translations

demo: setup
	$(BIN)/flask db upgrade
	$(BIN)/flask seed-demo
	$(BIN)/flask timers run & trap 'kill $$!' EXIT INT TERM; SESSION_COOKIE_SECURE=0 $(BIN)/flask run --host 127.0.0.1 --port 5000

test: setup
	$(BIN)/lint-imports
	$(BIN)/python -m pytest
