# Sinfonía — the two commands: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PORT   ?= 5000
FLASK  := $(BIN)/flask --app wsgi

.PHONY: run test lint install install-dev migrate seed translations translations-update e2e serve bench bench-offline migration clean vendor

$(VENV)/.runtime: requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev: $(VENV)/.runtime requirements-dev.txt
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@

# The browser tests' JavaScript tools (axe-core), installed before a test session starts,
# never in the middle of one. npm ci runs only when the installed copy is missing or was
# installed from another lock file (checked by content, under a lock: worktrees may share
# one node_modules, and npm ci empties it before it installs).
E2E_NODE := tests/e2e/node_modules/axe-core/axe.min.js
$(E2E_NODE): tests/e2e/package-lock.json
	cd tests/e2e && flock /tmp/sinfonia-e2e-npm.lock sh -c '\
		if [ -f node_modules/axe-core/axe.min.js ] && \
		   [ "$$(cat node_modules/.installed-from 2>/dev/null)" = "$$(sha1sum < package-lock.json)" ]; then exit 0; fi; \
		npm ci --no-audit --no-fund --silent && sha1sum < package-lock.json > node_modules/.installed-from'
	touch $@

# The front-end libraries served from app/static/vendor (issue 22): pinned in
# frontend/package-lock.json, installed once with npm ci (the only step that needs the
# network), then copied with their licences by scripts/vendor.sh, offline.
VENDOR_NODE := frontend/node_modules/.installed-from
$(VENDOR_NODE): frontend/package-lock.json
	cd frontend && sh -c '\
		if [ "$$(cat node_modules/.installed-from 2>/dev/null)" = "$$(sha1sum < package-lock.json)" ]; then exit 0; fi; \
		npm ci --omit=optional --no-audit --no-fund --prefer-offline --silent && sha1sum < package-lock.json > node_modules/.installed-from'
	touch $@

## make vendor: copy the pinned front-end libraries (idb, browser-image-compression, pdf.js) into app/static/vendor
vendor: $(VENDOR_NODE)
	scripts/vendor.sh

install: $(VENV)/.runtime
install-dev: $(VENV)/.dev $(E2E_NODE)

translations: install
	@if ls app/translations/*/LC_MESSAGES/messages.po >/dev/null 2>&1; then \
		$(BIN)/pybabel -q compile -d app/translations; fi

## make translations-update: extract every wrapped string and merge it into es/en (then translate en)
translations-update: install
	$(BIN)/pybabel -q extract -F babel.cfg -k _l -k lazy_gettext -k lazy_ngettext:1,2 \
		--sort-output --no-wrap -o app/translations/messages.pot app
	$(BIN)/pybabel -q update --no-fuzzy-matching --ignore-obsolete --no-wrap -i app/translations/messages.pot -d app/translations

## make e2e: only the browser tests (Chromium at /usr/bin/chromium; axe-core from tests/e2e)
e2e: install-dev translations
	$(BIN)/python -m pytest tests/e2e -m e2e

migrate: install
	$(FLASK) db upgrade

seed: migrate
	$(FLASK) seed reference
	$(FLASK) seed demo --if-empty
	$(FLASK) seasons advance
	$(FLASK) charts recompute

## make run: set everything up and serve the demo on http://127.0.0.1:$(PORT)
run: translations seed
	@echo "Sinfonía en http://127.0.0.1:$(PORT) (usuarios de demostración en README.md)"
	PORT=$(PORT) $(BIN)/gunicorn -c gunicorn.conf.py wsgi:app

## make test: lint and the whole suite (TEST_DATABASE_URL=postgresql://… for PostgreSQL)
test: install-dev translations lint
	$(BIN)/python -m pytest

lint: install-dev
	$(BIN)/ruff check app seeds tests config.py wsgi.py
	$(BIN)/ruff format --check app seeds tests config.py wsgi.py

## make bench: benchmarks (see README, BENCHMARKS.md)
bench: install-dev
	$(BIN)/python -m bench $(BENCH_ARGS)

## make bench-offline: the offline bundle size and the time to sync 20 queued deliveries (Chromium)
bench-offline: install-dev translations
	$(BIN)/python -m pytest tests/e2e/test_offline_bench.py -m bench -s

## make migration MESSAGE="what changed": autogenerate the next migration from the models
migration: install
	scripts/regen_migration.sh "$(MESSAGE)"

clean:
	rm -rf $(VENV) instance .pytest_cache
