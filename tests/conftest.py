"""Shared fixtures: real files (Markdown, text, HTML, PDF, DOCX) and real Chroma in temp dirs."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
for _key in ("OPENAI_API_KEY", "OPENAI_BASE_URL"):
    os.environ.pop(_key, None)

ROOT = Path(__file__).resolve().parents[1]
EVAL_DOCS = ROOT.parent / "shared" / "eval-corpus" / "docs"

from assistant.config import Settings  # noqa: E402

MARKDOWN_NOTE = """---
title: "Markedsdialog før udbud"
language: da
jurisdiction: DK
topics: [markedsdialog]
sources:
  - "Udbudsloven § 39"
updated: 2026-11-28
---
# Markedsdialog før udbud

## Hvad må ordregiveren?
Ordregiveren må gennemføre markedsdialog med leverandører før udbuddet, så længe
ligebehandling og gennemsigtighed respekteres. Dialogen kan bestå af møder, skriftlige
spørgsmål og høring af udkast til udbudsmateriale.

## Når en leverandør har rådgivet
Har en leverandør rådgivet ordregiveren, skal oplysningerne deles med alle tilbudsgivere,
og fristerne skal være lange nok til at udligne fordelen.
"""

MARKEDSDIALOG_NOTE = """---
title: Markedsdialog før udbud
language: da
jurisdiction: DK
sources: ["Udbudsloven § 39"]
---
# Markedsdialog før udbud

## Hvad må ordregiveren?
Ordregiveren må gennemføre markedsdialog med leverandører før udbuddet efter udbudslovens § 39.
Dialogen kan bestå af dialogmøder, skriftlige spørgsmål og høring af udkast til udbudsmateriale.

## Ligebehandling efter dialogen
Har en leverandør rådgivet ordregiveren, skal de relevante oplysninger deles med alle tilbudsgivere.
Fristerne for tilbud skal være lange nok til at udligne leverandørens tidsmæssige fordel.
"""

LAW_TEXT = """Lov om prøveindkøb (testlov)

§ 1. Loven fastsætter regler for prøveindkøb af innovative løsninger.

§ 2. En ordregiver skal overholde principperne om ligebehandling. Stk. 2. Ordregiveren skal dokumentere valget af procedure. Stk. 3. Dokumentationen opbevares i tre år.

§ 12-2. Oppdragsgiveren kan ha dialog med leverandører før konkurransen.

Artikel 31. Innovationspartnerskaber kan anvendes, når løsningen ikke findes på markedet.
"""


# With ASSISTANT_TEST_CHROMA_URL set (.ci/run does), the same tests run against a Chroma
# server instead of the embedded store, each test in a collection of its own.
CHROMA_URL = os.environ.get("ASSISTANT_TEST_CHROMA_URL", "")


def store_env() -> dict[str, str]:
    """ASSISTANT_* variables that point a subprocess at the store the tests use."""
    if not CHROMA_URL:
        return {}
    return {"ASSISTANT_CHROMA_URL": CHROMA_URL, "ASSISTANT_COLLECTION": f"t{uuid.uuid4().hex}"}


def settings_for(tmp: Path, **overrides) -> Settings:
    corpus = tmp / "corpus"
    corpus.mkdir(parents=True, exist_ok=True)
    values = {"data_dir": tmp / "data", "corpus_dir": corpus, "embeddings": "local"}
    if CHROMA_URL:
        values.update(chroma_url=CHROMA_URL, collection=f"t{uuid.uuid4().hex}")
    values.update(overrides)
    return Settings(_env_file=None, **values)


def retriever_over(notes: dict[str, str], tmp: Path):
    """A Retriever over `notes` (relative path -> file text) written into a temporary corpus and
    synced into real Chroma (built-in embedding): the small hand-made corpora of the retrieval
    tests."""
    from assistant.corpus.service import sync
    from assistant.retrieval.search import Retriever
    from assistant.store.chroma import Store

    settings = settings_for(tmp)
    for name, text in notes.items():
        path = settings.corpus_dir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    store = Store(settings)
    sync(store, settings)
    return Retriever(store, settings)


def settings_env(settings: Settings) -> dict[str, str]:
    env = {"ASSISTANT_DATA_DIR": str(settings.data_dir), "ASSISTANT_CORPUS_DIR": str(settings.corpus_dir),
           "ASSISTANT_EMBEDDINGS": "local", "ASSISTANT_COLLECTION": settings.collection}
    if settings.chroma_url:
        env["ASSISTANT_CHROMA_URL"] = settings.chroma_url
    return env


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return settings_for(tmp_path)


def make_pdf(path: Path, pages: list[str | None]) -> Path:
    """A real PDF; a None page is drawn as a picture only (no text layer)."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_auto_page_break(False)
    for text in pages:
        pdf.add_page()
        if text is None:
            pdf.set_fill_color(120, 120, 120)
            pdf.rect(20, 20, 150, 200, style="F")
            continue
        pdf.set_font("helvetica", size=11)
        pdf.set_xy(15, 15)
        pdf.multi_cell(180, 6, text)
    pdf.output(str(path))
    return path


def make_docx(path: Path, heading: str, paragraphs: list[str], table: list[list[str]] | None = None) -> Path:
    import docx

    document = docx.Document()
    document.add_heading(heading, level=1)
    for text in paragraphs:
        document.add_paragraph(text)
    if table:
        grid = document.add_table(rows=len(table), cols=len(table[0]))
        for r, row in enumerate(table):
            for c, cell in enumerate(row):
                grid.cell(r, c).text = cell
    document.save(str(path))
    return path


@pytest.fixture
def sample_corpus(settings: Settings) -> Path:
    """A small corpus folder with one file of every supported kind."""
    corpus = settings.corpus_dir
    (corpus / "markedsdialog.md").write_text(MARKDOWN_NOTE, encoding="utf-8")
    (corpus / "testlov.txt").write_text(LAW_TEXT, encoding="utf-8")
    (corpus / "guide.html").write_text(
        "<html lang='en'><head><title>Innovation guide</title><script>var x=1;</script></head>"
        "<body><nav>Home | About</nav><h1>Innovation guide</h1><h2>Life-cycle costing</h2>"
        "<p>Life-cycle costing adds energy use, maintenance and disposal to the purchase price.</p>"
        "</body></html>",
        encoding="utf-8",
    )
    make_pdf(
        corpus / "report.pdf",
        [
            "Pre-commercial procurement buys research and development services in phases.",
            "The buyer shares risks and benefits with suppliers at market conditions, and "
            "the admi-\nnistrations keep the right to use the results.",
        ],
    )
    make_docx(
        corpus / "notat.docx",
        "Funktionskrav",
        ["Funktionskrav beskriver hvad løsningen skal kunne, ikke hvordan."],
        [["Krav", "Vægt"], ["Energiforbrug", "30 %"]],
    )
    return corpus


# --- `make test-fast`: which tests start another process -------------------------------------

# A test (or a fixture it uses) whose code starts a server, a subprocess or a browser is marked
# `server`; `make test-fast` leaves those out (with `slow` and `browser`). Read from the code
# itself so a new test is classified without anyone remembering to mark it.
_STARTS_A_PROCESS = ("RunningApp", "subprocess", "Popen", "ChromaServer", "EmbeddingServer",
                     "FakeOpenAI", "launch(", "Client(", "sync_playwright", "os.fork")


def _source(function) -> str:
    import inspect

    try:
        return inspect.getsource(function)
    except (OSError, TypeError):
        return ""


def pytest_collection_modifyitems(config, items):
    for item in items:
        function = getattr(item, "function", None)
        texts = [_source(function)] if function else []
        # One level of helpers: module-level functions and classes the test calls by name.
        code = getattr(function, "__code__", None)
        for name in (code.co_names if code else ()):
            helper = getattr(item.module, name, None)
            if callable(helper) and getattr(helper, "__module__", "").startswith("tests"):
                texts.append(_source(helper))
        info = getattr(item, "_fixtureinfo", None)
        for defs in (info.name2fixturedefs.values() if info else ()):
            texts.extend(_source(d.func) for d in defs)
        if any(marker in text for text in texts for marker in _STARTS_A_PROCESS):
            item.add_marker(pytest.mark.server)


@pytest.fixture(scope="session")
def shipped(tmp_path_factory):
    """The assistant over the shipped corpus (the notes and corpus/law's statutes with their
    sidecar records), real Chroma, synced once per test run: the defect-class, law-question
    and jurisdiction tests only ask, so one store serves them all (a sync of the whole corpus
    is the largest cost of the fast tests)."""
    import shutil
    from datetime import date

    from assistant.answer.assistant import Assistant
    from assistant.corpus.service import sync
    from assistant.retrieval.search import Retriever
    from assistant.store.chroma import Store

    settings = settings_for(tmp_path_factory.mktemp("shipped"), today=date(2026, 12, 7))
    shutil.copytree(ROOT / "corpus", settings.corpus_dir, dirs_exist_ok=True)  # as shipped
    store = Store(settings)
    assert not sync(store, settings, [settings.corpus_dir]).failed
    return Assistant(Retriever(store, settings), settings)


@pytest.fixture(autouse=True)
def _settings_read_afresh():
    """Each test reads its settings from its own environment: `get_settings()` is cached per
    process, so a CLI test run after another test in the same worker (`make test-fast` runs
    two) would otherwise see that test's folders."""
    from assistant.config import get_settings

    get_settings.cache_clear()
    yield
    get_settings.cache_clear()
