# make demo: set everything up and serve the demo on SQLite at http://127.0.0.1:$(PORT) (5000; with a timer worker)
# make test: check the layers (lint-imports), then run the whole test suite (DATABASE_URL=postgresql://… runs it on PostgreSQL)
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 5000
CHROMIUM_PATH ?= /usr/bin/chromium
export FLASK_APP := app

.PHONY: setup demo test translations extract-messages chromium

setup: $(VENV)/.installed node_modules/.installed app/static/build/.built translations

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

# The modeler's, the decision editor's and the drawn forms' scripts and styles, bundled from frontend/ with
# their npm packages
app/static/build/.built: node_modules/.installed $(wildcard frontend/*.js frontend/*.mjs frontend/*.css frontend/*/*.js)
	npm run --silent build
	touch $@

translations: $(VENV)/.installed
	$(BIN)/pybabel compile -d app/translations

# After changing user-facing strings: refresh the catalogue, then translate the new entries.
extract-messages: $(VENV)/.installed
	$(BIN)/pybabel extract -F babel.cfg -k _l --ignore-dirs=".venv node_modules" -o app/translations/messages.pot .
	$(BIN)/pybabel update --ignore-obsolete -i app/translations/messages.pot -d app/translations

demo: export DEMO = 1
demo: setup
	$(BIN)/flask db upgrade
	$(BIN)/flask seed-demo
	$(BIN)/flask timers run & trap 'kill $$!' EXIT INT TERM; SESSION_COOKIE_SECURE=0 $(BIN)/flask run --host 127.0.0.1 --port $(PORT)

# The browser tests drive Debian's Chromium (Playwright cannot download its own browser here): install it
# when it is missing and we may, else say the one command to run and stop before the tests.
chromium:
	@if [ ! -x "$(CHROMIUM_PATH)" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "Installing Debian's chromium for the browser tests"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else \
	    echo "The browser tests need Chromium at $(CHROMIUM_PATH): run  sudo apt-get install chromium  (or set CHROMIUM_PATH)" >&2; \
	    exit 1; \
	  fi; \
	fi

# One pytest worker per core (pytest-xdist), each on a database of its own (tests/conftest.py); a test
# file's tests stay on one worker, so the ones that share a server or a module's fixtures keep them.
test: setup chromium
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -n auto --dist loadfile
