# One entry point. `make book` builds the HTML book; `make test` runs every test.
# Both create .venv from the exact pins in requirements.txt on first use.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := book

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
JB_FLAGS := -n -W --keep-going
# Chromium prints the PDF download and runs the browser tests: Debian's /usr/bin/chromium, or the binary
# named by CHROMIUM. DOWNLOADS_FLAGS=--no-pdf skips the PDF.
CHROMIUM ?=
export CHROMIUM
DOWNLOADS_FLAGS ?=
# `make test` needs the browser; `make book` does without (it then skips the PDF and says so).
BROWSER_FLAGS ?=

.PHONY: setup data results browser book test test-fast serve clean clean-all lock

# The pins are for Python 3.11 (pyproject.toml's requires-python): another Python stops here in one line, exit 2.
PYTHON_CHECK := import sys; ok = sys.version_info[:2] == (3, 11); ok or print("error: PYTHON=" + sys.argv[1] + " is Python " + sys.version.split()[0] + ", but the pins need Python 3.11; set PYTHON to a python3.11", file=sys.stderr); sys.exit(0 if ok else 2)

$(STAMP): requirements.txt pyproject.toml
	@$(PYTHON) -c '$(PYTHON_CHECK)' '$(PYTHON)'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip==26.3
	$(BIN)/python -m pip install --quiet --requirement requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation --editable .
	touch $(STAMP)

## setup: create .venv with the exact pins
setup: $(STAMP)

## data: verify raw checksums, parse, validate and write the tidy panel (cached on its inputs)
data: $(STAMP)
	$(BIN)/python -m analysis data

## results: the data step, then the attribution designs and the evidence ledger (each cached on its
## inputs), in one process (`ledger --data`: the panel's report goes to the terminal, the ledger to a file)
results: $(STAMP)
	mkdir -p _build
	$(BIN)/python -m analysis ledger --data --timing > _build/ledger.txt

## browser: Chromium for the PDF and the browser tests. Quick when present; when absent, installs
## Debian's package if this runs as root (apt-get install -y chromium), else leaves the PDF to be skipped
browser: $(STAMP)
	$(BIN)/python -m tools.pdf browser $(BROWSER_FLAGS)

## book: build the HTML book into _build/html (strict: any failure or warning stops it); `profiles`
## generates the partnership pages (plain MyST) while `tools.book_cache` executes every notebook page
## without cached outputs into Jupyter Book's cache (one warm kernel per core), before Sphinx reads
## them (the two share the cores; either failing stops the build); `--plan` decides whether this build
## prints the PDF, which the Downloads page says
book: browser results
	$(BIN)/python -m analysis profiles & profiles=$$!; \
	$(BIN)/python -m tools.book_cache || { kill $$profiles 2>/dev/null; wait $$profiles; exit 1; }; \
	wait $$profiles
	$(BIN)/python -m tools.downloads --plan $(DOWNLOADS_FLAGS)
	$(BIN)/jupyter-book build . $(JB_FLAGS) 2>&1 | tee _build/build.log
	$(MAKE) --no-print-directory downloads

.PHONY: downloads pdf bench

## downloads: after the HTML build, the tidy data, every page as a notebook and the book as a PDF
## (printed by Chromium, page by page, cached) into _build/html/_downloads; each is remade only when
## its inputs changed
downloads: $(STAMP)
	$(BIN)/python -m tools.downloads $(DOWNLOADS_FLAGS)

## pdf: the same step (the PDF is one of the downloads)
pdf: downloads

## bench: time a cold build, a no-change rebuild and one-chapter edits in a temporary copy;
## writes _build/bench.json
bench: $(STAMP)
	$(BIN)/python -m tools.bench

## test: build the book, then run every test; the browser is required (a missing one fails at once,
## and the browser tests fail rather than skip)
test: BROWSER_FLAGS = --require
test: book
	CPP_REQUIRE_BROWSER=1 $(BIN)/python -m pytest

## test-fast: every test except the slow ones (no book build)
test-fast: $(STAMP)
	$(BIN)/python -m pytest -m "not slow and not book"

## serve: serve the built book on http://localhost:8000
serve:
	$(BIN)/python -m http.server --directory _build/html 8000

## lock: rewrite environment.yml's pip pins from requirements.txt
lock: $(STAMP)
	$(BIN)/python -m tools.lockfile

clean:
	rm -rf _build data/processed data/cache book/profiles

clean-all: clean
	rm -rf $(VENV)
