# Two commands, as the README says:  make book  |  make test
# Both create .venv when absent, install what they need (again only when
# pyproject.toml or the constraints change) and are quiet on a second run.

PYTHON   ?= python3
VENV     := .venv
BIN      := $(VENV)/bin
PY       := $(BIN)/python
# CI pins torch to the CPU wheel (a normal range is kept for users).
CONSTRAINTS := $(if $(CI),-c constraints/ci.txt,$(if $(TAYLORNET_CPU_TORCH),-c constraints/ci.txt,))
PIP      := $(PY) -m pip --disable-pip-version-check --no-input
PIPLOG   := $(VENV)/pip.log
BOOK_HTML := _build/html/index.html

.PHONY: book test lint clean help
.DEFAULT_GOAL := help

help:
	@echo "make book   build the HTML book (every chapter executed) into _build/html"
	@echo "make test   run the whole test suite (package, notebooks, nbgrader round trip)"
	@echo "make lint   ruff"
	@echo "make clean  remove _build and nbgrader outputs (keeps .venv)"

$(PY):
	@echo "creating $(VENV) with $$($(PYTHON) --version)"
	@$(PYTHON) -m venv $(VENV)
	@$(PIP) install -q -U pip setuptools wheel > $(PIPLOG) 2>&1 || (cat $(PIPLOG); exit 1)

# One stamp per extra set; re-installs only when the inputs change.
$(VENV)/.stamp-%: pyproject.toml constraints/ci.txt | $(PY)
	@echo "installing taylornet[$*] into $(VENV) (log: $(PIPLOG))"
	@$(PIP) install -q $(CONSTRAINTS) -e ".[$*]" >> $(PIPLOG) 2>&1 || (tail -40 $(PIPLOG); exit 1)
	@touch $@

book: $(VENV)/.stamp-book
	@TAYLORNET_HEADLESS_WIDGETS=1 $(BIN)/jupyter-book build . --warningiserror --keep-going --quiet > _build.log 2>&1 \
	  || (cat _build.log; echo "book build FAILED (full log: _build.log)"; exit 1)
	@grep -E "(WARNING|ERROR):" _build.log || true
	@echo "book built: file://$(CURDIR)/$(BOOK_HTML)"

test: bubblewrap chromium $(VENV)/.stamp-book $(VENV)/.stamp-grade $(VENV)/.stamp-test
	@$(BIN)/pytest -q; rc=$$?; \
	  if [ $$rc -eq 5 ]; then echo "pytest collected no tests: failing"; exit 1; fi; exit $$rc

# The autograding sandbox (exercises/README.md) runs kernels in bubblewrap: Debian's
# package, installed with apt-get when missing (as root, or with passwordless sudo).
.PHONY: bubblewrap
bubblewrap:
	@command -v bwrap > /dev/null 2>&1 || { \
	  S=$$([ "$$(id -u)" = 0 ] || echo "sudo -n"); echo "installing bubblewrap (apt-get)"; \
	  { $$S apt-get install -y -qq bubblewrap || { $$S apt-get update -qq \
	    && $$S apt-get install -y -qq bubblewrap; }; } > /dev/null 2>&1 \
	  || echo "WARNING: bubblewrap could not be installed: the sandbox tests skip (fail in CI)"; }

# The browser test (tests/test_book_browser.py) opens the built book in Debian's
# chromium, installed the same way; without it the test skips locally and fails in CI.
.PHONY: chromium
chromium:
	@command -v chromium > /dev/null 2>&1 || { \
	  S=$$([ "$$(id -u)" = 0 ] || echo "sudo -n"); echo "installing chromium (apt-get)"; \
	  { $$S apt-get install -y -qq chromium || { $$S apt-get update -qq \
	    && $$S apt-get install -y -qq chromium; }; } > /dev/null 2>&1 \
	  || if [ -n "$(CI)" ]; then echo "ERROR: chromium is missing and apt-get could not install it (the browser test needs Debian's chromium)"; exit 1; \
	     else echo "WARNING: chromium could not be installed: the browser test skips"; fi; }

lint: $(VENV)/.stamp-test
	@$(BIN)/ruff check taylornet tests benchmarks exercises/nbgrader_config.py

clean:
	rm -rf _build _build.log exercises/release exercises/submitted exercises/autograded exercises/feedback exercises/gradebook.db
