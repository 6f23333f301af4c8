# Rapport — two commands to remember: `make demo` and `make test`.
#
# Every target first runs scripts/bootstrap.sh, which finds a Python >= 3.12,
# (re)creates .venv when needed and installs requirements.lock only when it or
# pyproject.toml changed. Data lives in ./var unless RAPPORT_DATA_DIR says otherwise.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory

VENV    := .venv
PY      := $(VENV)/bin/python
RAPPORT := $(VENV)/bin/rapport
HOST    ?= 127.0.0.1
PORT    ?= 8000
CSS_IN  := rapport/assets/app.css
CSS_OUT := rapport/static/css/app.css

.PHONY: help venv demo serve migrate css collectstatic lint test test-deep bench clean

help:
	@echo "make demo       set everything up, load demo data, serve http://$(HOST):$(PORT)"
	@echo "make test       ruff, migrations check, pytest on SQLite and PostgreSQL, browser tests"
	@echo "make test-deep  the long hypothesis profile (run by hand before resolving an issue)"
	@echo "make bench      time the operations users feel: SIZE=S|M|L ENGINE=sqlite|postgres [ONLY=list,search]"
	@echo "make css        build Tailwind CSS          make lint   ruff only"
	@echo "make migrate    apply migrations            make clean  remove build and test leftovers"

venv:
	@scripts/bootstrap.sh

demo: export RAPPORT_SETTINGS := demo
demo: venv migrate css collectstatic
	@echo "• demo data"
	@$(RAPPORT) demo
	@echo "• serving on http://$(HOST):$(PORT) (Ctrl+C stops)"
	@$(RAPPORT) serve --host $(HOST) --port $(PORT)

serve: export RAPPORT_SETTINGS := demo
serve: venv migrate css collectstatic
	@$(RAPPORT) serve --host $(HOST) --port $(PORT)

migrate: venv
	@echo "• migrate"
	@$(RAPPORT) migrate --noinput --verbosity 0

css: venv
	@test -f $(CSS_IN) || { echo "✗ $(CSS_IN) is missing: the Tailwind input is part of the app" >&2; exit 1; }
	@echo "• css"
	@out=$$($(VENV)/bin/tailwindcss -i $(CSS_IN) -o $(CSS_OUT) --minify 2>&1) || { echo "$$out" >&2; exit 1; }

collectstatic: venv css
	@echo "• collectstatic"
	@# src/ holds the Tailwind input, whose @import the manifest storage cannot resolve.
	@$(RAPPORT) collectstatic --noinput --verbosity 0

lint: venv
	@$(VENV)/bin/ruff check .

test: venv css
	@scripts/run-tests.sh

test-deep: export HYPOTHESIS_PROFILE := deep
test-deep: venv css
	@scripts/run-tests.sh

SIZE   ?= S
ENGINE ?= sqlite
bench: venv css
	@$(RAPPORT) bench --size $(SIZE) --engine $(ENGINE) $(if $(ONLY),--only $(ONLY))

clean:
	rm -rf $(CSS_OUT) .pytest_cache test-results build *.egg-info
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +
