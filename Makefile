# Two commands do all set-up (see README.md):
#   make run    install, create the demo study, serve the app on http://127.0.0.1:8501
#   make test   install (with Debian chromium for the browser tests) and run every test
PYTHON ?= python3
VENV   ?= .venv
PY      = $(VENV)/bin/python
STAMP   = $(VENV)/.installed
PORT   ?= 8501
# Parallel test workers; the e2e tests each start their own server.
WORKERS ?= 2

.PHONY: install run test chromium clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(VENV)/bin/annotate demo
	$(VENV)/bin/annotate serve --port $(PORT)

chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-dejavu-core; \
	  else echo "Browser tests need Debian's chromium: sudo apt-get install chromium" >&2; fi; }

test: $(STAMP) chromium
	$(PY) -m pytest -n $(WORKERS) --dist loadfile -q

clean:
	rm -rf $(VENV) annotate-data
