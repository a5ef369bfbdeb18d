"""Ingest: files become cited, structured chunks in Chroma; re-syncs are idempotent."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from assistant.corpus.service import sync
from assistant.ingest.chunking import Chunk, chunk_document
from assistant.ingest.loaders import load_file
from assistant.store.chroma import EmbeddingMismatch, Store
from assistant.store.embeddings import LocalEmbedding
from tests.conftest import EVAL_DOCS, ROOT, make_pdf, settings_env, settings_for


def chunks_by_source(store: Store) -> dict[str, list]:
    out: dict[str, list] = {}
    for stored in store.all_chunks():
        out.setdefault(stored.chunk.source, []).append(stored.chunk)
    return out


def test_every_format_becomes_sections_with_metadata(sample_corpus: Path):
    md = load_file(sample_corpus / "markedsdialog.md", sample_corpus)
    assert md.title == "Markedsdialog før udbud" and md.language == "da" and md.jurisdiction == "DK"
    assert md.sources == ["Udbudsloven § 39"]
    assert any(s.headings[-1] == "Når en leverandør har rådgivet" for s in md.sections)

    pdf = load_file(sample_corpus / "report.pdf", sample_corpus)
    assert [s.page for s in pdf.sections] == [1, 2]
    assert "administrations" in pdf.sections[1].text  # hyphenated line break joined
    assert pdf.language == "en"

    html = load_file(sample_corpus / "guide.html", sample_corpus)
    text = " ".join(s.text for s in html.sections)
    assert html.title == "Innovation guide" and "var x" not in text and "Home | About" not in text
    assert html.sections[-1].headings[-1] == "Life-cycle costing"

    docx = load_file(sample_corpus / "notat.docx", sample_corpus)
    joined = " ".join(s.text for s in docx.sections)
    assert docx.sections[0].headings == ["Funktionskrav"] and "Energiforbrug | 30 %" in joined


def test_law_text_is_cut_per_provision_and_keeps_labels(sample_corpus: Path):
    doc = load_file(sample_corpus / "testlov.txt", sample_corpus)
    chunks = chunk_document(doc)
    assert doc.title == "Lov om prøveindkøb (testlov)"
    assert [c.provision for c in chunks] == ["§ 1", "§ 2", "§ 12-2", "artikel 31"]
    assert chunks[1].text.startswith("§ 2.") and "Stk. 3." in chunks[1].text
    assert "Lov om prøveindkøb" in chunks[1].indexed_text and "Lov om" not in chunks[1].text


def test_long_provision_is_split_at_subsections_and_every_piece_keeps_its_label(tmp_path: Path):
    filler = " ".join(["ordregiveren skal dokumentere forløbet"] * 45)
    law = tmp_path / "lang.txt"
    law.write_text(
        f"Lang lov\n\n§ 39. {filler}. Stk. 2. {filler}. Stk. 3. {filler}.\n\n§ 40. Kort.\n",
        encoding="utf-8",
    )
    chunks = chunk_document(load_file(law, tmp_path))
    provision_39 = [c for c in chunks if c.provision == "§ 39"]
    assert len(provision_39) >= 3
    assert [c.section for c in provision_39][:3] == ["§ 39, stk. 1", "§ 39, stk. 2", "§ 39, stk. 3"]
    assert all(len(c.text.split()) <= 320 for c in chunks)
    assert all("§ 39" in c.indexed_text for c in provision_39)


def test_norwegian_html_provisions_keep_numbered_paragraphs(tmp_path: Path):
    page = tmp_path / "forskrift.html"
    page.write_text(
        "<html><head><title>Forskrift</title></head><body><ul class='tocSubUl'><li>§ 8-2</li></ul>"
        "<h3>Kapittel 8</h3><article><h4><span>§ 8-2</span>. <span>Dialog med leverandører</span></h4>"
        "<article>(1) Når en leverandør har gitt råd, skal oppdragsgiveren treffe egnede tiltak.</article>"
        "<article>(2) Egnede tiltak er blant annet<ol><li data-name='a.'><article>å dele opplysninger"
        "</article></li></ol></article></article></body></html>",
        encoding="utf-8",
    )
    chunks = chunk_document(load_file(page, tmp_path))
    assert len(chunks) == 1
    assert chunks[0].provision == "§ 8-2" and chunks[0].section == "§ 8-2. Dialog med leverandører"
    assert "(2) Egnede tiltak" in chunks[0].text and "a. å dele opplysninger" in chunks[0].text
    assert chunks[0].language == "nb"


def test_a_provision_title_is_searchable_however_long_and_in_every_piece(tmp_path: Path):
    """A title over the citation label's length, and the pieces of a provision split at its
    sub-sections, still index the title: it names what the provision regulates."""
    long_title = "Vilkår for bruk av konkurranse med forhandling etter forutgående kunngjøring og dialog"
    filler = " ".join(["oppdragsgiveren skal dokumentere forløpet"] * 45)
    page = tmp_path / "forskrift.html"
    page.write_text(
        "<html><head><title>Forskrift</title></head><body><h3>Kapittel 13</h3>"
        f"<article><h4><span>§ 13-2</span>. <span>{long_title}</span></h4>"
        "<article>Oppdragsgiveren kan bruke prosedyren dersom anskaffelsen inkluderer design.</article></article>"
        "<article><h4><span>§ 5-4</span>. <span>Beregning av anslått verdi</span></h4>"
        f"<article>(1) {filler}.</article><article>(2) {filler}.</article><article>(3) {filler}.</article>"
        "</article></body></html>",
        encoding="utf-8",
    )
    chunks = chunk_document(load_file(page, tmp_path))
    titled = [c for c in chunks if c.provision == "§ 13-2"]
    assert [c.section for c in titled] == ["§ 13-2"]  # the citation label stays short
    assert long_title in titled[0].indexed_text
    pieces = [c for c in chunks if c.provision == "§ 5-4"]
    assert len(pieces) >= 2 and pieces[1].section == "§ 5-4 (2)"  # the text's own "(2)" style
    assert all("Beregning av anslått verdi" in c.indexed_text for c in pieces)


def test_sync_adds_skips_unchanged_replaces_changed_and_removes_deleted(settings, sample_corpus):
    store = Store(settings)
    first = sync(store, settings)
    assert first.count("added") == 5 and not first.failed
    before = chunks_by_source(store)
    assert before["report.pdf"][0].page in (1, 2)

    calls = []
    original = store.embedding.__class__.__call__
    store.embedding.__class__.__call__ = lambda self, texts: calls.append(len(texts)) or original(self, texts)
    try:
        again = sync(store, settings)
    finally:
        store.embedding.__class__.__call__ = original
    assert again.count("unchanged") == 5 and calls == []  # nothing re-embedded

    (sample_corpus / "testlov.txt").write_text("Ny lov\n\n§ 1. Helt ny tekst om indkøb.\n", encoding="utf-8")
    (sample_corpus / "guide.html").unlink()
    third = sync(store, settings)
    statuses = {r.source: r.status for r in third.results}
    assert statuses["testlov.txt"] == "updated" and statuses["guide.html"] == "removed"
    after = chunks_by_source(store)
    assert "guide.html" not in after
    assert [c.text for c in after["testlov.txt"]] == ["§ 1. Helt ny tekst om indkøb."]
    assert set(store.documents()) == set(after)


def test_a_store_made_by_an_earlier_chunker_is_re_chunked_by_the_next_sync(settings, sample_corpus):
    # A release that changes chunking (units, front-matter sources) must reach stores built
    # before it without a manual --rebuild: the record names the chunker that made it.
    from dataclasses import replace

    from assistant.ingest.chunking import CHUNKER_VERSION

    store = Store(settings)
    assert sync(store, settings).count("added") == 5
    record = store.documents()["markedsdialog.md"]
    assert record.chunker == CHUNKER_VERSION
    store._put_record(replace(record, chunker="", sources=()))  # as an older release left it
    report = sync(store, settings)
    row = next(r for r in report.results if r.source == "markedsdialog.md")
    assert row.status == "updated" and "earlier version" in row.reason
    assert report.count("unchanged") == 4
    renewed = store.documents()["markedsdialog.md"]
    assert renewed.chunker == CHUNKER_VERSION and renewed.sources == ("Udbudsloven § 39",)
    assert store.audit().clean and sync(store, settings).count("unchanged") == 5


BAD_FILES = {
    "empty.md": (b"", "empty file"),
    "corrupt.pdf": (b"%PDF-1.4\n1 0 obj << /Type /Catalog >>\ngarbage\x00\x01", "corrupt PDF"),
    "image.pdf": (b"\x89PNG\r\n\x1a\n" + bytes(200), "not a PDF"),
    "binary.md": (b"\x00\x01\x02\x03" * 50, "binary content"),
    "slides.pptx": (b"PK\x03\x04 not really", "unsupported file type"),
    "broken.docx": (b"this is not a zip", "corrupt DOCX"),
}


def test_bad_files_fail_one_by_one_and_good_files_are_stored(settings, sample_corpus):
    for name, (data, _) in BAD_FILES.items():
        (sample_corpus / name).write_bytes(data)
    make_pdf(sample_corpus / "scanned.pdf", [None, None])
    encrypted = sample_corpus / "locked.pdf"
    _encrypt(make_pdf(encrypted, ["Hemmelig tekst"]))
    (sample_corpus / "windows.txt").write_bytes("Indkøb af æbler og østers – pris".encode("cp1252"))
    (sample_corpus / "huge.txt").write_bytes(b"ord " * (300 * 1024))
    settings = settings.model_copy(update={"max_file_mb": 1})

    store = Store(settings)
    report = sync(store, settings)
    reasons = {r.source: r.reason for r in report.failed}
    for name, (_, reason) in BAD_FILES.items():
        assert reason in reasons[name], (name, reasons.get(name))
    assert "no text layer" in reasons["scanned.pdf"] and "OCR" in reasons["scanned.pdf"]
    assert "encrypted" in reasons["locked.pdf"]
    assert "over the 1 MB limit" in reasons["huge.txt"]
    stored = chunks_by_source(store)
    assert {"markedsdialog.md", "testlov.txt", "report.pdf", "notat.docx", "guide.html", "windows.txt"} <= set(stored)
    assert "æbler og østers" in stored["windows.txt"][0].text
    assert not set(reasons) & set(stored)


def test_partly_scanned_pdf_is_stored_with_a_warning(settings):
    make_pdf(settings.corpus_dir / "mixed.pdf", ["Side et med tekst om udbud.", None])
    report = sync(Store(settings), settings)
    result = report.results[0]
    assert result.status == "added"
    assert any("page(s) 2" in w and "no text layer" in w for w in result.warnings)


def _encrypt(path: Path) -> None:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(path))
    writer.encrypt("secret")
    with open(path, "wb") as fh:
        writer.write(fh)


def test_reopening_with_another_embedding_says_to_rebuild(settings, sample_corpus):
    sync(Store(settings), settings)
    other = Store(settings, embedding=LocalEmbedding(dim=256))
    with pytest.raises(EmbeddingMismatch, match="--rebuild"):
        other.count()


def cli(settings, *args, env_extra=None) -> subprocess.CompletedProcess:
    env = {**os.environ, **settings_env(settings), "COLUMNS": "200", **(env_extra or {})}
    return subprocess.run([sys.executable, str(ROOT / "ingest.py"), *args] if args[:1] != ("--cli",)
                          else [sys.executable, "-m", "assistant.cli", *args[1:]],
                          capture_output=True, text=True, env=env, cwd=ROOT, timeout=300)


def test_cli_reports_a_table_exits_nonzero_on_failure_and_lists_documents(settings, sample_corpus):
    (sample_corpus / "empty.txt").write_bytes(b"")
    run = cli(settings)
    assert run.returncode == 1
    assert "5 added" in run.stdout and "1 failed" in run.stdout and "empty file (0 bytes)" in run.stdout

    stored = Store(settings)
    before = (stored.state(), stored.count())
    dry = cli(settings, "--dry-run")
    assert dry.returncode == 0 and "unchanged" in dry.stdout and "add" in dry.stdout  # the empty file
    assert (stored.state(), stored.count()) == before  # nothing was written

    listed = cli(settings, "--cli", "docs", "--json")
    docs = {d["source"]: d for d in json.loads(listed.stdout)}
    assert docs["markedsdialog.md"]["title"] == "Markedsdialog før udbud"
    assert docs["report.pdf"]["chunks"] >= 1 and len(docs["testlov.txt"]["content_hash"]) == 64

    removed = cli(settings, "--cli", "remove", "guide.html")
    assert removed.returncode == 0 and "file and chunks" in removed.stdout
    assert not (sample_corpus / "guide.html").exists()  # as the staff page's delete
    assert "guide.html" not in cli(settings, "--cli", "docs", "--json").stdout


def test_second_ingest_waits_or_exits_with_a_clear_message(settings, sample_corpus):
    from filelock import FileLock

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    with FileLock(str(settings.data_dir / "ingest.lock")):
        run = cli(settings)
    assert run.returncode == 3 and "another ingest is running" in run.stderr


def test_rebuild_starts_afresh(settings, sample_corpus):
    assert cli(settings).returncode == 0
    store = Store(settings)
    gone = Chunk(source="gone.md", text="stale", title="Gone", section="", page=0, language="da",
                 position=0)  # what no file explains
    store.chunks.upsert(ids=["stale-vector"], embeddings=[[0.5] * 512], documents=[gone.text],
                        metadatas=[gone.metadata()])
    run = cli(settings, "--rebuild")
    assert run.returncode == 0 and "5 added" in run.stdout
    store = Store(settings)
    ids = store.chunks.get(include=[])["ids"]
    assert "stale-vector" not in ids and len(ids) == sum(r.chunks for r in store.documents().values())
    assert set(store.documents()) == {"markedsdialog.md", "testlov.txt", "guide.html", "report.pdf", "notat.docx"}


@pytest.mark.skipif(not EVAL_DOCS.is_dir(), reason=f"{EVAL_DOCS} not present")
def test_real_eval_corpus_is_ingested_with_provisions_and_pages(tmp_path):
    settings = settings_for(tmp_path)
    store = Store(settings)
    report = sync(store, settings, [EVAL_DOCS])
    assert report.count("added") == 5 and not report.failed
    stored = chunks_by_source(store)
    law = stored["udbudsloven_LBK-2025-116.txt"]
    assert any(c.provision == "§ 39" for c in law)
    assert any(c.section.startswith("§ 8-2") for c in stored["anskaffelsesforskriften_FOR-2016-08-12-974.html"])
    pages = {c.page for c in stored["barcelona_innovative_procurement_guide_0.1.en.pdf"]}
    assert min(pages) >= 1 and max(pages) >= 25
    assert sync(store, settings, [EVAL_DOCS]).count("unchanged") == 5
