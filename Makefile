# Two commands do all set-up (see README.md):
#   make run    install, create the demo study, serve the app on http://127.0.0.1:8501
#   make test   install (with Debian chromium for the browser tests), run the guards (make lint) and every test
PYTHON ?= python3
VENV   ?= .venv
PY      = $(VENV)/bin/python
STAMP   = $(VENV)/.installed
PORT   ?= 8501
# Parallel test workers; the e2e tests each start their own server.
WORKERS ?= 2

.PHONY: install run test lint chromium clean sample-media

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(VENV)/bin/annotate demo
	$(VENV)/bin/annotate serve --demo --port $(PORT)

chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-dejavu-core; \
	  else echo "Browser tests need Debian's chromium: sudo apt-get install chromium" >&2; fi; }

# The guards CI runs before the tests: lint, format, layer contracts, types.
lint: $(STAMP)
	$(VENV)/bin/ruff check annotate tests bench app.py conftest.py
	$(VENV)/bin/ruff format --check annotate tests bench app.py conftest.py
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy annotate

test: $(STAMP) chromium lint
	$(PY) -m pytest -n $(WORKERS) --dist loadfile -q

clean:
	rm -rf $(VENV) annotate-data

# Regenerate the synthetic demo films byte-identically (the generator lives beside the tests).
sample-media: $(STAMP)
	$(PY) -m tests.support.synthetic --out sample_media
