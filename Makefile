# salesflow: `make run` serves the web UI, `make test` runs the whole suite.
# Both do the whole set-up on a fresh Debian machine and are quick the second time.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
HOST   ?= 127.0.0.1
PORT   ?= 5000

.PHONY: run test setup system-deps npm-assets db lint bench bench-load clean messages gallery

# The worker (timers, escalations, e-mail, digests) runs beside the web server; Ctrl-C
# stops both (the worker finishes the batch in hand first).
run: setup db
	@echo ""
	@echo "salesflow is running on http://$(HOST):$(PORT)  (Ctrl-C stops it)"
	@echo "  demo log-ins, password salesflow: wang.fang (sales rep), zhang.wei (sales manager),"
	@echo "  designer (process designer), admin (administrator)"
	@echo ""
	@$(BIN)/salesflow worker & worker=$$!; \
	trap 'kill -TERM $$worker 2>/dev/null; wait $$worker' EXIT INT TERM; \
	$(BIN)/salesflow serve --host $(HOST) --port $(PORT)

test: setup
	$(BIN)/pytest -q -n auto

setup: system-deps $(STAMP) npm-assets

# Debian packages: graphviz (`dot`) for flowcharts, CJK fonts for exports, venv support,
# poppler-utils (`pdftotext`) with which the tests read exported PDFs back, and Debian's
# Chromium, which the browser tests drive through Playwright; npm for the designer's bpmn-js.
system-deps:
	@missing=""; \
	command -v dot >/dev/null 2>&1 || missing="$$missing graphviz"; \
	command -v pdftotext >/dev/null 2>&1 || missing="$$missing poppler-utils"; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	command -v npm >/dev/null 2>&1 || missing="$$missing npm"; \
	fc-list 2>/dev/null | grep -qi "Noto Sans CJK" || missing="$$missing fonts-noto-cjk"; \
	$(PYTHON) -c "import ensurepip, venv" >/dev/null 2>&1 || missing="$$missing python3-venv"; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing >/dev/null; \
	fi

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "installing salesflow and its Python packages into $(VENV) ..."
	@PYTHONWARNINGS=ignore $(BIN)/python -m pip install -q --upgrade pip
	@PYTHONWARNINGS=ignore $(BIN)/python -m pip install -q -e '.[dev]'
	@touch $@

# Front-end packages (bpmn-js for the designer) come from the npm registry, as pinned by
# webui/package-lock.json; installed again when the lock file changes.
npm-assets:
	@if [ -f webui/package.json ] && { [ ! -f webui/node_modules/.package-lock.json ] || \
	  [ webui/package-lock.json -nt webui/node_modules/.package-lock.json ]; }; then \
	  cd webui && npm ci --no-audit --no-fund; fi

# Create or migrate the database; load the demo deals when it is new.
db: $(STAMP)
	@if $(BIN)/salesflow init --json | grep -q '"created": true'; then \
	  $(BIN)/salesflow deploy processes && $(BIN)/salesflow demo; \
	else \
	  $(BIN)/salesflow deploy processes; \
	fi

# The web UI's texts: extract every _() and N_() of the views and templates (babel.cfg) into
# the template, merge new ones into the Simplified Chinese catalog (translate their msgstr;
# tests/webui/test_i18n.py fails while one is empty).
messages: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k N_ --sort-by-file --width 100 \
	  --project salesflow -o webui/translations/messages.pot .
	$(BIN)/pybabel update -i webui/translations/messages.pot -d webui/translations \
	  -l zh_Hans --no-fuzzy-matching --width 100

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

bench: setup
	$(BIN)/python bench/engine.py

# Issue 16: `salesflow serve` with 1 and 2 processes under locust (50 people, 10,000 deals) on
# the local PostgreSQL (databases bench_load and bench_load_run of its own); prints the table.
bench-load: setup
	$(BIN)/python bench/load_run.py

# docs/gallery: every corpus file drawn by salesflow beside its MIWG reference image.
gallery: setup
	$(BIN)/python docs/gallery/build.py

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache *.egg-info
