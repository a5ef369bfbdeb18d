"""The note for the case file: Markdown and DOCX with every cited source, masked, and the
/note API of the running app (python-docx reads the file back)."""

from __future__ import annotations

import io
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
    for expected in ("Må vi tale med leverandører?", "2026-12-02 09:30:00+00:00", "uden sprogmodel",
                     "Ordregiveren må gennemføre markedsdialog [1]", "[1] Markedsdialog før udbud",
                     "Hvad må ordregiveren?", "**Side:** 3", QUOTE, "ab" * 32, "2026-11-28", "2026-01-01"):
        assert expected in text, expected
    # Personal data in the question never reaches the file.
    assert "22 33 44 55" not in text and "jens@kommune.dk" not in text
    assert "[telefon]" in text and "[e-mail]" in text

    document = docx.Document(io.BytesIO(to_docx(note)))
    body = "\n".join(p.text for p in document.paragraphs)
    assert QUOTE in body and "ab" * 32 in body and "Markedsdialog før udbud" in body
    assert "jens@kommune.dk" not in body
    assert document.core_properties.language == "da"


def test_note_in_english_and_for_an_abstention():
    data = answer().to_dict() | {"abstained": True, "citations": []}
    text = to_markdown(build_note(data, record, ui_language="en"))
    assert "Not an answer: the sources do not cover the question." in text
    assert "The answer cites no sources." in text
