# femverify: `make test` and `make serve` are the two commands of the README's Quickstart.
SHELL := /bin/bash
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.femverify-installed
WORKERS ?= 2
THREADS ?= 4
HOST ?= 127.0.0.1
PORT ?= 5000
export FEMVERIFY_DB_PATH ?= var/femverify.db

.PHONY: test serve lab docs readme browser check-clean check-export lint clean notebooks

# the virtual environment, made once and refreshed when the requirements change
$(STAMP): setup.py settings.ini
	test -d $(VENV) || python3 -m venv $(VENV)
	$(BIN)/pip install -q -e '.[dev]'
	$(BIN)/pip check
	touch $(STAMP)

# headless Chromium for the web page test (Debian's package; Playwright's own download can't work offline)
browser:
	@command -v chromium >/dev/null || { apt-get update -qq && apt-get install -y -qq chromium >/dev/null; }

# nbdev_clean and nbdev_export must change nothing: notebooks are committed clean, femverify/ in sync
check-clean: $(STAMP)
	@tools/unchanged.sh nbs -- $(BIN)/nbdev_clean
check-export: $(STAMP)
	@tools/unchanged.sh femverify -- $(BIN)/nbdev_export

# pyflakes' checks (ruff F) with nbdev's star imports resolved: undefined names, unused imports
lint: $(STAMP)
	$(BIN)/python tools/lint.py

test: $(STAMP) browser check-clean check-export lint
	$(BIN)/python tools/readme.py --check
	$(BIN)/python tools/nbstats.py --check >/dev/null
	$(BIN)/nbdev_test --n_workers 2
	$(BIN)/pytest -q

# the key that seals face templates at rest (made on the first `make serve`); production keeps it away from the database's backups
serve: export FEMVERIFY_TEMPLATE_KEY_FILE ?= $(if $(FEMVERIFY_TEMPLATE_KEY),,var/template.key)
serve: $(STAMP)
	@mkdir -p $(dir $(FEMVERIFY_DB_PATH))
	@if [ -n "$$FEMVERIFY_TEMPLATE_KEY_FILE" ] && [ ! -e "$$FEMVERIFY_TEMPLATE_KEY_FILE" ]; then \
	  $(BIN)/femverify keygen --out "$$FEMVERIFY_TEMPLATE_KEY_FILE" >/dev/null && \
	  echo "made the template key $$FEMVERIFY_TEMPLATE_KEY_FILE: keep a copy safe, apart from the database (losing it means every member registers again)"; fi
	@echo "femverify API and web page on http://$(HOST):$(PORT)/  (health: http://$(HOST):$(PORT)/api/v1/health)"
	$(BIN)/gunicorn --workers $(WORKERS) --worker-class gthread --threads $(THREADS) --bind $(HOST):$(PORT) --timeout 120 --limit-request-line 2048 'api:create_app()'

# every notebook run in full (`#| slow` cells too) into NB_OUT; the committed notebooks are not touched. Where the real
# photos (FEMVERIFY_DATA) or the files under runs/ are missing, the slow cells say which command makes them and are skipped.
NB_OUT ?= /tmp/femverify-notebooks
notebooks: $(STAMP)
	cd nbs && ../$(BIN)/jupyter nbconvert --to notebook --execute --ExecutePreprocessor.timeout=7200 --output-dir $(NB_OUT) *.ipynb

lab: $(STAMP)
	$(BIN)/jupyter lab --notebook-dir nbs

readme: $(STAMP)
	$(BIN)/python tools/readme.py

docs: $(STAMP)
	@if command -v quarto >/dev/null; then $(BIN)/nbdev_docs; else $(BIN)/python tools/docs.py _docs && echo "docs in _docs/index.html (nbdev processors + MkDocs: Quarto is not installed); serve with: python -m http.server -d _docs"; fi

clean:
	rm -rf _docs _proc .pytest_cache
