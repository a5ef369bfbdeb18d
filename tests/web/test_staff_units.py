"""The staff page's pieces without a server: inventory order and filters, the upload record
proposed from a DOCX, versions and duplicates in the corpus folder."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from types import SimpleNamespace

import docx

from assistant.ingest import metadata
from assistant.store.chroma import DocumentRecord
from assistant.web.staff import inventory_rows
from assistant.web.uploads import UploadRequest, save_uploads


def record(source: str, title: str, language: str, jurisdiction: str, review_by: str) -> DocumentRecord:
    return DocumentRecord(source=source, title=title, language=language, content_hash="x", chunks=3,
                          ingested_at="2026-12-01T10:00:00", jurisdiction=jurisdiction, review_by=review_by)


def services(tmp: Path):
    records = [record("a.md", "Alfa", "da", "DK", "2030-01-01"), record("b.md", "Beta", "nb", "NO", "2026-01-01"),
               record("c.md", "Gamma", "en", "EU", ""), record("d.md", "Delta", "da", "DK", "2025-06-01")]
    return SimpleNamespace(corpus=SimpleNamespace(inventory=lambda: records),
                           settings=SimpleNamespace(today=dt.date(2026, 12, 7), corpus_dir=str(tmp)))


def test_inventory_lists_overdue_reviews_first_and_filters(tmp_path):
    s = services(tmp_path)
    assert [r[1] for r in inventory_rows(s, "da")] == ["b.md", "d.md", "a.md", "c.md"]
    assert "⚠ forfalden" in inventory_rows(s, "da")[0][6]
    assert [r[1] for r in inventory_rows(s, "da", overdue_only=True)] == ["b.md", "d.md"]
    assert [r[1] for r in inventory_rows(s, "da", language="da", jurisdiction="DK")] == ["d.md", "a.md"]
    assert [r[1] for r in inventory_rows(s, "en", search="GAM")] == ["c.md"]


def test_a_docx_proposes_its_own_title_language_and_date(tmp_path):
    path = tmp_path / "upload.docx"
    document = docx.Document()
    document.core_properties.title = "Intern regel om indkøb under tærskelværdien"
    document.core_properties.modified = dt.datetime(2026, 3, 1, 12, 0)
    document.add_heading("Indkøb under tærskelværdien", level=1)
    document.add_paragraph("Kommunen indhenter mindst tre tilbud ved indkøb over 100.000 kroner og under "
                           "tærskelværdien, og ordregiveren dokumenterer valget i sagen.")
    document.save(path)
    meta = metadata.prefill(path, "upload.docx", dt.date(2026, 12, 7), 20)
    assert meta.title == "Intern regel om indkøb under tærskelværdien"
    assert (meta.language, meta.jurisdiction, meta.as_of) == ("da", "DK", "2026-03-01")
    assert meta.review_by == "2027-12-07" and meta.problems() == []


def test_a_new_version_keeps_the_record_and_a_duplicate_is_refused(tmp_path):
    corpus, uploads = tmp_path / "corpus", tmp_path / "up"
    corpus.mkdir(), uploads.mkdir()
    (corpus / "regel.md").write_text("# Regel\n\nVersion 1.\n", encoding="utf-8")
    metadata.write(corpus / "regel.md", metadata.DocumentMeta(title="Regel", kind="internal", jurisdiction="DK",
                                                              language="da", as_of="2026-01-01"))
    old = metadata.file_hash(corpus / "regel.md")
    new = uploads / "regel-v2.md"
    new.write_text("# Regel\n\nVersion 2.\n", encoding="utf-8")
    ask = UploadRequest(version_of="regel.md")
    saved, refused = save_uploads([str(new)], corpus, False, 5, ask)
    assert [p.name for p in saved] == ["regel.md"] and refused == []
    kept = metadata.read(corpus / "regel.md")
    assert kept.title == "Regel" and kept.kind == "internal" and [v.content_hash for v in kept.versions] == [old]
    assert not (corpus / "regel-v2.md").exists() and "Version 2." in (corpus / "regel.md").read_text()

    again = uploads / "kopi.md"
    again.write_text("# Regel\n\nVersion 2.\n", encoding="utf-8")
    saved, refused = save_uploads([str(again)], corpus, False, 5, UploadRequest(titles={"regel.md": "Regel"}))
    assert saved == [] and refused[0].code == "duplicate" and refused[0].args == {"title": "Regel", "file": "regel.md"}


def test_a_new_version_of_a_statute_from_the_form_keeps_its_act_and_drops_the_old_notice(tmp_path):
    from assistant.ingest.loaders import read_sidecar

    corpus, uploads = tmp_path / "corpus", tmp_path / "up"
    corpus.mkdir(), uploads.mkdir()
    (corpus / "lov.txt").write_text("Lov om prøveindkøb\n\n§ 1. Version 1.\n", encoding="utf-8")
    metadata.write(corpus / "lov.txt", metadata.DocumentMeta(
        title="Lov om prøveindkøb", kind="law", jurisdiction="DK", language="da", as_of="2025-01-02",
        consolidation="LBK nr. 1 af 2. januar 2025",
        other={"act": "udbudsloven", "license": "Ikke ophavsretligt beskyttet", "notice": {"da": "Ændret 2026."}}))
    new = uploads / "lov-2026.txt"
    new.write_text("Lov om prøveindkøb\n\n§ 1. Version 2.\n", encoding="utf-8")
    form = metadata.DocumentMeta(title="Lov om prøveindkøb", kind="law", jurisdiction="DK", language="da",
                                 as_of="2026-07-01")
    saved, refused = save_uploads([str(new)], corpus, False, 5, UploadRequest(version_of="lov.txt", meta=form))
    assert [p.name for p in saved] == ["lov.txt"] and refused == []
    record = read_sidecar(corpus / "lov.txt")
    assert (record["act"], record["license"], record["as_of"]) == (
        "udbudsloven", "Ikke ophavsretligt beskyttet", "2026-07-01")
    assert record["notice"] == {} and record["consolidation"] == ""
    assert len(metadata.read(corpus / "lov.txt").versions) == 1
