# Quick start: `make run` (set up and start the app), `make test` (set up and run every test).
VENV ?= .venv
PY := $(VENV)/bin/python
PYTHON ?= python3
export GRADIO_ANALYTICS_ENABLED := False
export HF_HUB_OFFLINE := 1
export HF_HUB_DISABLE_TELEMETRY := 1
export ANONYMIZED_TELEMETRY := False

.PHONY: setup run test test-server ingest eval refs bench bench-ingest bench-search bench-app bench-load bench-growth lint

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

setup: $(VENV)/.installed

run: setup
	$(PY) app.py

test: setup
	$(PY) -m pytest -q

# The store, retrieval and app tests again, against a Chroma server on 127.0.0.1.
test-server: setup
	$(PY) -m tests.chroma_server pytest -q tests/test_ingest.py tests/test_crash.py tests/test_answers.py tests/test_app.py

ingest: setup
	$(PY) ingest.py

# Retrieval and answer-level tables, each beside its baseline from the same run.
eval: setup
	$(PY) -m assistant.cli eval eval/gold-evalcorpus.jsonl --answers eval/answers-evalcorpus.jsonl --docs ../shared/eval-corpus/docs
	$(PY) -m assistant.cli eval eval/gold-corpus.jsonl --answers eval/answers-corpus.jsonl --docs corpus
	$(PY) -m assistant.cli eval --answers eval/out-of-scope-calibration.jsonl --docs corpus

refs: setup
	$(PY) -m assistant.cli refs corpus

bench-ingest: setup
	$(PY) -m assistant.bench ingest ../shared/eval-corpus/docs

bench-search: setup
	$(PY) -m assistant.bench search --chunks 50000

bench-app: setup
	$(PY) -m assistant.bench app

bench-load: setup
	$(PY) -m assistant.bench load --sessions 50 --seconds 60

bench-growth: setup
	$(PY) -m assistant.bench growth --sizes 10000,50000,100000

bench: bench-ingest bench-search bench-app bench-load bench-growth

lint: setup
	$(VENV)/bin/ruff check assistant tests
