# docqa — `make help` lists the targets. Every target installs what it needs first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip
# Extra pip arguments for torch. torch is pinned to the CPU build (2.13.0+cpu, constraints.txt):
# where pip's own configuration already finds that wheel (a local wheel folder or mirror), the
# first attempt installs it; elsewhere (a fresh machine with only PyPI) that attempt finds no
# "+cpu" build and the second one takes it from PyTorch's CPU wheel index — never PyPI's multi-GB
# CUDA build.
TORCH_PIP_ARGS ?=
TORCH_CPU_INDEX ?= https://download.pytorch.org/whl/cpu
HOST ?= 127.0.0.1
PORT ?= 8000
SCIFACT ?= ../shared/benchmarks/scifact
POOL ?= ../shared/eval/pool
# Your documents' folder for `make index` / `make serve`; empty = the folder the index was built
# from (the demo corpus, corpus/documents, when there is no index yet).
CORPUS ?=
CORPUS_ARG := $(if $(CORPUS),--corpus $(CORPUS))

# Recipes find the venv's tools (docqa, pytest, ruff) first on PATH.
export PATH := $(abspath $(BIN)):$(PATH)

export HF_HUB_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.DEFAULT_GOAL := help
.PHONY: help setup setup-dev index serve test test-all lint fmt typecheck docker-lint bench eval-pool fit-answers rust-book-index rust-book-pdf-index clean

help: ## Show this help
	@grep -E '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  %-12s %s\n", $$1, $$2}'

$(BIN)/.setup-done: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade "pip>=25.1"
	$(PIP) install -c constraints.txt "torch==2.13.0" $(TORCH_PIP_ARGS) || \
	  $(PIP) install -c constraints.txt "torch==2.13.0" --index-url $(TORCH_CPU_INDEX) \
	    --extra-index-url https://pypi.org/simple $(TORCH_PIP_ARGS)
	$(PIP) install -c constraints.txt -e .
	touch $@

setup: $(BIN)/.setup-done ## Create .venv: CPU torch first, then docqa and its pinned dependencies
	@echo "docqa is installed in $(BIN). To type plain \`docqa\`, put it on your PATH:"
	@echo "    . $(BIN)/activate        # this shell only (deactivate to undo)"
	@echo "or run $(BIN)/docqa, or the make targets (make index, make serve)."

$(BIN)/.dev-done: $(BIN)/.setup-done
	$(PIP) install -c constraints.txt --group dev
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing Debian's chromium for the browser tests (apt-get, needs root)"; \
	  apt-get update && apt-get install -y --no-install-recommends chromium; }
	@command -v redis-server >/dev/null 2>&1 || { \
	  echo "installing Debian's redis-server for the replica tests (apt-get, needs root)"; \
	  apt-get update && apt-get install -y --no-install-recommends redis-server; }
	touch $@

setup-dev: $(BIN)/.dev-done ## setup + test and lint tools + Debian's chromium and redis-server

index: $(BIN)/.setup-done ## Build or refresh var/index (CORPUS=dir; default: the folder it was built from)
	$(BIN)/docqa build $(CORPUS_ARG)

serve: $(BIN)/.setup-done ## Serve on http://$(HOST):$(PORT) the index's own folder (CORPUS=dir to change it)
	$(BIN)/docqa serve --host $(HOST) --port $(PORT) $(CORPUS_ARG)

test: setup-dev ## Run the test suite (real model, real index, real server, real browser)
	$(BIN)/pytest

test-all: setup-dev ## Run every test, the slow ones too
	$(BIN)/pytest -m ""

lint: setup-dev ## ruff check, ruff format --check, mypy, hadolint
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/hadolint Dockerfile deploy/nginx/Dockerfile

fmt: setup-dev ## Format and autofix with ruff
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

typecheck: setup-dev ## mypy --strict on index/, service/, corpus/
	$(BIN)/mypy

docker-lint: setup-dev ## Check the Dockerfile statically (no Docker engine needed)
	$(BIN)/hadolint Dockerfile deploy/nginx/Dockerfile

bench: setup-dev ## Every benchmark (SCIFACT=folder): quality, latency, scale, peer -> bench/results/
	$(BIN)/python bench/scifact.py $(SCIFACT)
	$(BIN)/python bench/search_latency.py --profile
	$(BIN)/python bench/http_latency.py
	$(BIN)/python bench/replicas.py
	$(BIN)/python bench/scale.py $(SCIFACT)
	$(BIN)/python bench/peer.py --scifact $(SCIFACT)

eval-pool: $(BIN)/.setup-done ## Build (incrementally) and evaluate every corpus of POOL=folder (NAME/docs + NAME/questions.jsonl)
	$(BIN)/docqa eval --pool $(POOL) --pool-index-root var/pool-idx
	$(BIN)/docqa eval tests/data/eval/dev_questions.jsonl

fit-answers: setup-dev ## Refit the answer and confidence models by leave-one-corpus-out over POOL + the demo set
	$(BIN)/docqa eval --pool $(POOL) --pool-index-root var/pool-idx > /dev/null
	$(BIN)/docqa build
	$(if $(RUST_BOOK),$(MAKE) rust-book-index)
	$(BIN)/python bench/fit_answers.py --write --set demo=tests/data/eval/dev_questions.jsonl:var/index \
	  $(foreach c,$(notdir $(patsubst %/questions.jsonl,%,$(wildcard $(POOL)/*/questions.jsonl))),--set $(c)=$(POOL)/$(c)/questions.jsonl:var/pool-idx/$(c)) \
	  $(if $(RUST_BOOK),--check rust=bench/data/rust-book/questions.jsonl:var/pool-idx/rust-book)

# The Rust book as rustup installs it (component rust-docs): a check set the weights are never fitted on.
RUST_BOOK ?= $(firstword $(wildcard $(HOME)/.rustup/toolchains/*/share/doc/rust/html/book))

rust-book-index: setup-dev ## Build var/pool-idx/rust-book from RUST_BOOK=folder (its chapter and appendix pages)
	@test -n "$(RUST_BOOK)" || { echo "RUST_BOOK is not set: pass RUST_BOOK=<rust docs>/html/book (rustup component add rust-docs)"; exit 2; }
	mkdir -p var/rust-book
	cp $(RUST_BOOK)/ch*.html $(RUST_BOOK)/appendix-*.html var/rust-book/
	$(BIN)/docqa build --corpus var/rust-book --index var/pool-idx/rust-book

CHROMIUM ?= chromium
rust-book-pdf-index: setup-dev ## Print RUST_BOOK's pages to PDF with Chromium (var/rust-pdf) and build var/pool-idx/rust-pdf
	@test -n "$(RUST_BOOK)" || { echo "RUST_BOOK is not set: pass RUST_BOOK=<rust docs>/html/book (rustup component add rust-docs)"; exit 2; }
	mkdir -p var/rust-pdf
	for f in $(RUST_BOOK)/ch*.html $(RUST_BOOK)/appendix-*.html; do \
	  n=$$(basename $$f .html); test -s var/rust-pdf/$$n.pdf || \
	  $(CHROMIUM) --headless --no-sandbox --disable-gpu --no-pdf-header-footer --print-to-pdf=$(CURDIR)/var/rust-pdf/$$n.pdf file://$$f 2>/dev/null || \
	  echo "not printed (a redirect page?): $$f"; \
	done
	$(BIN)/docqa build --corpus var/rust-pdf --index var/pool-idx/rust-pdf

clean: ## Remove the venv, the built index and caches
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
