"""The note for the case file: Markdown and DOCX with every cited source, masked, and the
/note API of the running app (python-docx reads the file back)."""

from __future__ import annotations

import io
import re
import time
from datetime import datetime, timezone

import docx

from assistant.answer.assistant import Answer, Citation
from assistant.records.casenote import build_note, to_docx, to_markdown
from assistant.store.chroma import DocumentRecord

QUOTE = "Ordregiveren må gennemføre markedsdialog med leverandører før udbuddet efter udbudslovens § 39."


def answer() -> Answer:
    return Answer(
        question="Må vi tale med leverandører? Ring til mig på 22 33 44 55 eller skriv til jens@kommune.dk",
        answer="**Ja.** Ordregiveren må gennemføre markedsdialog [1].", abstained=False, mode="extractive",
        citations=[Citation(n=1, source="markedsdialog.md", title="Markedsdialog før udbud", page=3,
                            section="Markedsdialog før udbud > Hvad må ordregiveren?", quote=QUOTE, score=0.9,
                            as_of="2026-01-01")])


def record(source: str) -> DocumentRecord | None:
    if source != "markedsdialog.md":
        return None
    return DocumentRecord(source=source, title="Markedsdialog før udbud", language="da", content_hash="ab" * 32,
                          chunks=2, ingested_at="2026-11-30T10:00:00", updated="2026-11-28")


def test_note_has_question_time_mode_answer_and_every_source_with_hash_and_date():
    note = build_note(answer(), record, now=datetime(2026, 12, 2, 9, 30, tzinfo=timezone.utc))
    text = to_markdown(note)
    for expected in ("Må vi tale med leverandører?", "2026-12-02 kl. 10:30 (CET, dansk tid)", "uden sprogmodel",
                     "Ordregiveren må gennemføre markedsdialog [1]", "[1] Markedsdialog før udbud",
                     "Hvad må ordregiveren?", "- **Side:** 3", QUOTE, "ab" * 32, "2026-11-28", "2026-01-01"):
        assert expected in text, expected
    # Personal data in the question never reaches the file.
    assert "22 33 44 55" not in text and "jens@kommune.dk" not in text
    assert "\\[telefon\\]" in text and "\\[e-mail\\]" in text  # escaped: printed, never a link

    document = docx.Document(io.BytesIO(to_docx(note)))
    body = "\n".join(p.text for p in document.paragraphs)
    assert QUOTE in body and "ab" * 32 in body and "Markedsdialog før udbud" in body
    assert "jens@kommune.dk" not in body and "[telefon]" in body
    assert document.core_properties.language == "da"


def test_note_in_english_and_for_an_abstention():
    data = answer().to_dict() | {"abstained": True, "citations": []}
    text = to_markdown(build_note(data, record, ui_language="en"))
    assert "Not an answer: the sources do not cover the question." in text
    assert "The answer cites no sources." in text


# Markdown marks a reader of the Word file must never see: emphasis stars and underscores,
# a block quote's "> ", a heading's "#", a list's "- " or "* ", a link's "](" and escapes.
MARKDOWN_SYNTAX = re.compile(r"\*\*|(?<!\w)\*\S|\S\*(?!\w)|(?<!\w)_\S.*\S_(?!\w)|^\s*(?:>|#{1,6}\s|[-*+]\s)|\]\(|\\[\\`*_\[\]<>#-]",
                            re.MULTILINE)


def rich_answer() -> dict:
    text = ("**Ja.** Ordregiveren må gennemføre *markedsdialog* [1].\n\n"
            "> Dialogen må ikke fordreje konkurrencen.\n\n"
            "- første punkt\n- andet punkt med **fed** tekst\n\n"
            "1. trin et\n2. trin to\n\nSe [udbudsloven](https://www.retsinformation.dk/eli/lta/2025/116).")
    data = answer().to_dict() | {"answer": text}
    data["citations"][0] |= {"quote": "Et citat med *stjerner* og > tegn og [klammer](x) i.",
                             "official_urls": ["https://www.retsinformation.dk/eli/lta/2025/116", "http://usikker.dk/x"]}
    return data


def test_the_word_note_reads_as_a_document_with_no_markdown_left():
    note = build_note(rich_answer(), record, now=datetime(2026, 7, 2, 9, 30, tzinfo=timezone.utc))
    document = docx.Document(io.BytesIO(to_docx(note)))
    paragraphs = [(p.style.name, p.text) for p in document.paragraphs]
    text = "\n".join(t for _, t in paragraphs)
    quoted = "Et citat med *stjerner* og > tegn og [klammer](x) i."
    assert quoted in text  # the source's own characters, printed as written ...
    assert not MARKDOWN_SYNTAX.search(text.replace(quoted, "")), MARKDOWN_SYNTAX.search(text.replace(quoted, ""))
    styles = {name for name, _ in paragraphs}
    assert {"Heading 1", "Heading 2", "Heading 3", "List Bullet", "List Number", "Quote"} <= styles
    # Summer time in Copenhagen, with the zone named.
    assert "2026-07-02 kl. 11:30 (CEST, dansk tid)" in text
    # Bold and italic are runs, not stars.
    runs = [r for p in document.paragraphs for r in p.runs]
    assert any(r.bold and r.text == "Ja." for r in runs) and any(r.italic and r.text == "markedsdialog" for r in runs)
    # The official source is a real hyperlink; a plain-http link is never made clickable.
    links = [r.target_ref for r in document.part.rels.values() if r.reltype.endswith("/hyperlink")]
    assert "https://www.retsinformation.dk/eli/lta/2025/116" in links and not any("usikker" in x for x in links)
    # The Markdown file has the same content.
    markdown = to_markdown(note)
    for expected in ("2026-07-02 kl. 11:30 (CEST, dansk tid)", "[1] Markedsdialog før udbud", "første punkt",
                     "(https://www.retsinformation.dk/eli/lta/2025/116)"):
        assert expected in markdown.replace("\\[", "[").replace("\\]", "]"), expected


def test_note_inputs_are_capped_and_a_control_character_does_not_break_it():
    from assistant.records.casenote import MAX_ANSWER_CHARS, MAX_NOTE_CITATIONS

    huge = answer().to_dict()
    huge["answer"] = "Ordregiveren må. " * 50_000  # 850 KB
    huge["citations"] = [dict(huge["citations"][0], n=i, quote="Citat\x0b med styretegn. " * 400)
                         for i in range(1, 501)]
    started = time.perf_counter()
    note = build_note(huge, record)
    data = to_docx(note)
    elapsed = time.perf_counter() - started
    assert elapsed < 5, f"note took {elapsed:.1f} s"
    assert len(note.sources) == MAX_NOTE_CITATIONS and len(note.answer) <= MAX_ANSWER_CHARS + 50
    assert "480 kilder mere" in to_markdown(note)
    body = "\n".join(p.text for p in docx.Document(io.BytesIO(data)).paragraphs)
    assert "Citat med styretegn" in body and "\x0b" not in body


def test_the_word_note_names_the_version_of_each_source_it_relied_on(tmp_path):
    """A real store: the statute's consolidation and date come from its sidecar through the
    chunks, the content hash and the day it was read from the store's inventory. After a new
    version of the statute, a new note names the new text; the filed one keeps the old."""
    import yaml

    from assistant.answer.assistant import Assistant
    from assistant.corpus.service import sync
    from assistant.retrieval.search import Retriever
    from assistant.store.chroma import Store
    from tests.conftest import LAW_TEXT, settings_for

    settings = settings_for(tmp_path)
    law = settings.corpus_dir / "proevelov.txt"
    law.write_text(LAW_TEXT, encoding="utf-8")
    (settings.corpus_dir / "proevelov.txt.meta.yaml").write_text(yaml.safe_dump({
        "title": "Lov om prøveindkøb", "kind": "law", "jurisdiction": "DK", "language": "da",
        "consolidation": "LBK nr. 7 af 3. februar 2025", "as_of": "2025-02-03",
        "url": "https://www.retsinformation.dk/eli/lta/2025/7"}, allow_unicode=True), encoding="utf-8")
    store = Store(settings)
    assert not sync(store, settings).failed

    def version_paragraph(retriever: Retriever) -> tuple[str, str]:
        answer = Assistant(retriever, settings).ask("Hvor længe skal dokumentationen for valget af procedure opbevares?")
        assert answer.citations and answer.citations[0].source == "proevelov.txt", answer.answer
        document = docx.Document(io.BytesIO(to_docx(build_note(answer, store.document))))
        lines = [p.text for p in document.paragraphs if p.text.startswith("Version citeret:")]
        assert lines, [p.text for p in document.paragraphs]
        return lines[0], store.document("proevelov.txt").content_hash

    line, first_hash = version_paragraph(Retriever(store, settings))
    today = datetime.now().date().isoformat()
    assert line == (f"Version citeret: LBK nr. 7 af 3. februar 2025 · gælder pr. 2025-02-03 · "
                    f"indhold {first_hash[:12]} · indlæst {today}"), line

    law.write_text(LAW_TEXT.replace("i tre år", "i fem år"), encoding="utf-8")  # a new consolidation
    (settings.corpus_dir / "proevelov.txt.meta.yaml").write_text(yaml.safe_dump({
        "title": "Lov om prøveindkøb", "kind": "law", "jurisdiction": "DK", "language": "da",
        "consolidation": "LBK nr. 99 af 1. december 2026", "as_of": "2026-12-01"}, allow_unicode=True),
        encoding="utf-8")
    assert sync(store, settings).count("updated") == 1
    new_line, second_hash = version_paragraph(Retriever(store, settings))
    assert second_hash != first_hash
    assert "LBK nr. 99 af 1. december 2026 · gælder pr. 2026-12-01" in new_line and second_hash[:12] in new_line
