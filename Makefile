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
# Chromium prints the PDF download (Debian's package); DOWNLOADS_FLAGS=--no-pdf skips the PDF.
CHROMIUM ?= /usr/bin/chromium
DOWNLOADS_FLAGS ?=

.PHONY: setup data results book test test-fast serve clean clean-all lock

$(STAMP): requirements.txt pyproject.toml
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

## results: the attribution designs and the evidence ledger (cached on their inputs)
results: data
	mkdir -p _build
	$(BIN)/python -m analysis ledger --timing > _build/ledger.txt

## book: build the HTML book into _build/html (strict: any failure or warning stops it); `pages`
## writes the profile pages and executes every page without cached outputs, in parallel, before
## Sphinx reads them
book: results
	$(BIN)/python -m analysis pages
	$(BIN)/jupyter-book build . $(JB_FLAGS) 2>&1 | tee _build/build.log
	$(MAKE) --no-print-directory downloads

.PHONY: downloads pdf bench

## downloads: after the HTML build, the tidy data, every page as a notebook and the book as a PDF
## (printed by Chromium) into _build/html/_downloads; each is remade only when its inputs changed
downloads: $(STAMP)
	CHROMIUM=$(CHROMIUM) $(BIN)/python -m analysis.downloads $(DOWNLOADS_FLAGS)

## pdf: the same step (the PDF is one of the downloads)
pdf: downloads

## bench: time a cold build, a no-change rebuild and one-chapter edits in a temporary copy;
## writes _build/bench.json
bench: $(STAMP)
	$(BIN)/python -m analysis.bench

## test: build the book, then run every test
test: book
	$(BIN)/python -m pytest

## test-fast: every test except the slow ones (no book build)
test-fast: $(STAMP)
	$(BIN)/python -m pytest -m "not slow"

## serve: serve the built book on http://localhost:8000
serve:
	$(BIN)/python -m http.server --directory _build/html 8000

## lock: rewrite environment.yml's pip pins from requirements.txt
lock: $(STAMP)
	$(BIN)/python -m analysis lock

clean:
	rm -rf _build data/processed data/cache book/profiles

clean-all: clean
	rm -rf $(VENV)
