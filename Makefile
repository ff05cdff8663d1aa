# Two commands, as the README says:  make book  |  make test
# Both create .venv when absent, install what they need (again only when
# pyproject.toml or the constraints change) and are quiet on a second run.

PYTHON   ?= python3
# pip resolves torch as it does for any user (the newest release: a CUDA build on
# Linux x86-64, about 6 GB in the venv). TAYLORNET_CPU_TORCH=1 pins the CPU-only
# wheel of constraints/cpu-torch.txt instead, in a venv of its own (.venv-cpu).
VENV     ?= $(if $(TAYLORNET_CPU_TORCH),.venv-cpu,.venv)
BIN      := $(VENV)/bin
PY       := $(BIN)/python
# Where the CPU wheel lives when PyPI serves a CUDA build of that release, e.g.
# TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu (pip prefers 2.13.0+cpu then).
TORCH_INDEX_URL ?=
CONSTRAINTS := $(if $(TAYLORNET_CPU_TORCH),-c constraints/cpu-torch.txt $(if $(TORCH_INDEX_URL),--extra-index-url $(TORCH_INDEX_URL)),)
PIP      := $(PY) -m pip --disable-pip-version-check --no-input
PIPLOG   := $(VENV)/pip.log
BOOK_HTML := _build/html/index.html

.PHONY: book test test-numerics grade-env lint clean help
.DEFAULT_GOAL := help

help:
	@echo "make book   build the HTML book (every chapter executed) into _build/html"
	@echo "make test   run the whole test suite (package, notebooks, nbgrader round trip)"
	@echo "make test-numerics   package tests and chapters only (CI adds: TAYLORNET_CPU_TORCH=1)"
	@echo "make grade-env   a grading-only environment for instructors (exercises/README.md)"
	@echo "make lint   ruff"
	@echo "make clean  remove _build and nbgrader outputs (keeps .venv)"

$(PY):
	@echo "creating $(VENV) with $$($(PYTHON) --version)"
	@$(PYTHON) -m venv $(VENV)
	@$(PIP) install -q -U pip setuptools wheel > $(PIPLOG) 2>&1 || (cat $(PIPLOG); exit 1)

# One stamp per extra set; re-installs only when the inputs change.
$(VENV)/.stamp-%: pyproject.toml constraints/cpu-torch.txt | $(PY)
	@echo "installing taylornet[$*] into $(VENV) (log: $(PIPLOG))"
	@$(PIP) install -q $(CONSTRAINTS) -e ".[$*]" >> $(PIPLOG) 2>&1 || (tail -40 $(PIPLOG); exit 1)
	@touch $@

book: $(VENV)/.stamp-book
	@TAYLORNET_HEADLESS_WIDGETS=1 $(BIN)/jupyter-book build . --warningiserror --keep-going --quiet > _build.log 2>&1 \
	  || (cat _build.log; echo "book build FAILED (full log: _build.log)"; exit 1)
	@grep -E "(WARNING|ERROR):" _build.log || true
	@echo "book built: file://$(CURDIR)/$(BOOK_HTML)"

# The whole suite at the machine's thread count (chapters are executed once more,
# single-threaded, by tests/test_chapters.py), then the numerical tests again on one
# BLAS/torch thread: another reduction order, another rounding, the same claims.
ONE_THREAD := OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1
test: bubblewrap postgresql chromium $(VENV)/.stamp-book $(VENV)/.stamp-grade $(VENV)/.stamp-test
	@$(BIN)/python -c "import torch; print('torch', torch.__version__, '|', torch.get_num_threads(), 'threads')"
	@$(BIN)/pytest -q; rc=$$?; \
	  if [ $$rc -eq 5 ]; then echo "pytest collected no tests: failing"; exit 1; fi; \
	  [ $$rc -eq 0 ] || exit $$rc; \
	  echo "numerical tests again on one thread ($(ONE_THREAD))"; \
	  $(ONE_THREAD) $(BIN)/pytest -q -p no:cacheprovider -m "not notebooks and not grading and not browser"; rc=$$?; \
	  if [ $$rc -eq 5 ]; then echo "pytest collected no tests: failing"; exit 1; fi; exit $$rc

# The numerical tests and the chapters only (no grading, no browser): CI runs this a
# second time with TAYLORNET_CPU_TORCH=1, so two torch builds execute every claim.
test-numerics: $(VENV)/.stamp-book $(VENV)/.stamp-test
	@$(BIN)/python -c "import torch; print('torch', torch.__version__, '|', torch.get_num_threads(), 'threads')"
	@$(BIN)/pytest -q -p no:cacheprovider -m "not grading and not browser"; rc=$$?; \
	  if [ $$rc -eq 5 ]; then echo "pytest collected no tests: failing"; exit 1; fi; exit $$rc

# What an instructor needs to grade (exercises/README.md): taylornet, nbgrader, bubblewrap.
grade-env: bubblewrap $(VENV)/.stamp-grade
	@echo "grading environment ready: source $(VENV)/bin/activate && cd exercises"

# The autograding sandbox (exercises/README.md) runs kernels in bubblewrap: Debian's
# package, installed with apt-get when missing (as root, or with passwordless sudo).
.PHONY: bubblewrap
bubblewrap:
	@command -v bwrap > /dev/null 2>&1 || { \
	  S=$$([ "$$(id -u)" = 0 ] || echo "sudo -n"); echo "installing bubblewrap (apt-get)"; \
	  { $$S apt-get install -y -qq bubblewrap || { $$S apt-get update -qq \
	    && $$S apt-get install -y -qq bubblewrap; }; } > /dev/null 2>&1 \
	  || echo "WARNING: bubblewrap could not be installed: the sandbox tests skip (fail in CI)"; }

# The gradebook tests (tests/test_gradebook_postgres.py, tests/test_grading_parallel.py)
# start a throw-away PostgreSQL server of their own: Debian's postgresql, installed the
# same way; without it they skip locally and fail in CI.
.PHONY: postgresql
postgresql:
	@{ command -v initdb > /dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/initdb > /dev/null 2>&1; } || { \
	  S=$$([ "$$(id -u)" = 0 ] || echo "sudo -n"); echo "installing postgresql (apt-get)"; \
	  { $$S env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql || { $$S apt-get update -qq \
	    && $$S env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql; }; } > /dev/null 2>&1 \
	  || if [ -n "$(CI)" ]; then echo "ERROR: postgresql is missing and apt-get could not install it (the gradebook tests need Debian's postgresql)"; exit 1; \
	     else echo "WARNING: postgresql could not be installed: the PostgreSQL gradebook tests skip"; fi; }

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
	@$(BIN)/ruff check taylornet tests benchmarks exercises/nbgrader_config.py exercises/tools exercises/catalogue

clean:
	rm -rf _build _build.log exercises/release exercises/submitted exercises/autograded exercises/feedback exercises/gradebook.db
