"""A note for the case file ("Gem som notat"): one answer with every source it cites, as
Markdown and as a Word document (python-docx).

Danish buyers must document their decisions (notatpligt), so the note carries what a
reviewer needs to check the answer later: the question, date and time, the mode, the answer,
and per cited source its title, section or provision, page, the quoted passage, the
document's content hash and date. The hash and dates are read from the store's inventory,
never taken from the caller, so a note cannot claim a document version the app never had.

Invariant: everything in a note has passed `mask_personal_data` (the note is filed, so the
same rule applies as to what the app stores).
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import get_args

from assistant.answer.types import Mode
from assistant.records.privacy import mask_personal_data

LABELS = {
    "da": {
        "heading": "Notat: svar fra AI-assistenten om innovative offentlige indkøb",
        "question": "Spørgsmål", "time": "Dato og tid", "mode": "Tilstand", "answer": "Svar",
        "sources": "Kilder", "section": "Afsnit/bestemmelse", "page": "Side", "quote": "Citat",
        "hash": "Dokumentets indholds-hash (SHA-256)", "date": "Dokumentets dato", "as_of": "Gælder pr.",
        "file": "Fil", "status": "Status", "none": "Svaret citerer ingen kilder.",
        "llm": "med sprogmodel (svaret er formuleret af en sprogmodel ud fra kilderne)",
        "extractive": "uden sprogmodel (ordrette uddrag af kilderne)",
        "abstained": "Ikke et svar: kilderne dækker ikke spørgsmålet.",
        "disclaimer": "Svaret er lavet af en AI-assistent ud fra kilderne nedenfor og er ikke juridisk rådgivning.",
    },
    "en": {
        "heading": "Note: answer from the AI assistant on innovative public procurement",
        "question": "Question", "time": "Date and time", "mode": "Mode", "answer": "Answer",
        "sources": "Sources", "section": "Section/provision", "page": "Page", "quote": "Quote",
        "hash": "Document content hash (SHA-256)", "date": "Document date", "as_of": "Valid as of",
        "file": "File", "status": "Status", "none": "The answer cites no sources.",
        "llm": "with a language model (worded by a language model from the sources)",
        "extractive": "without a language model (verbatim extracts from the sources)",
        "abstained": "Not an answer: the sources do not cover the question.",
        "disclaimer": "This answer was made by an AI assistant from the sources below and is not legal advice.",
    },
}


_MODES = get_args(Mode)

# Caps on what a caller may put in a note (issue 24 item 7: an 800 KB note took 162 s in
# python-docx). An answer cites at most a handful of sources and the model's output is capped
# in tokens; these are far above any real answer and keep the worst note to well under a second.
MAX_NOTE_CITATIONS = 20
MAX_NOTE_ANSWER_CHARS = 20_000
MAX_NOTE_QUESTION_CHARS = 2_000
MAX_NOTE_FIELD_CHARS = 300  # title, source, section, as_of
MAX_NOTE_QUOTE_CHARS = 3_000


def _cap(value, limit: int) -> str:
    text = str(value or "")
    return text if len(text) <= limit else text[:limit].rstrip() + " …"


@dataclass(kw_only=True)
class NoteSource:
    n: int
    title: str
    source: str
    section: str
    page: int
    quote: str
    content_hash: str
    date: str
    as_of: str


@dataclass(kw_only=True)
class CaseNote:
    question: str
    created: datetime
    mode: str
    answer: str
    abstained: bool
    language: str
    sources: list[NoteSource] = field(default_factory=list)

    @property
    def filename_stem(self) -> str:
        return "notat-" + self.created.strftime("%Y%m%d-%H%M%S")


def build_note(answer, lookup: Callable[[str], object | None], *, ui_language: str = "da",
               now: datetime | None = None) -> CaseNote:
    """The note for one answer (an `Answer` or its `to_dict()`); `lookup(source)` gives the
    inventory record (content hash, dates) of a cited document, or None."""
    data = answer if isinstance(answer, dict) else answer.to_dict()
    sources = []
    citations = data.get("citations") or []
    for c in [c for c in (citations if isinstance(citations, list) else []) if isinstance(c, dict)][
            :MAX_NOTE_CITATIONS]:
        source = _cap(c.get("source", ""), MAX_NOTE_FIELD_CHARS)
        record = lookup(source)
        try:
            page = max(0, int(c.get("page") or 0))
        except (TypeError, ValueError):
            page = 0
        sources.append(NoteSource(
            n=_int(c.get("n")), title=mask_personal_data(_cap(c.get("title") or source, MAX_NOTE_FIELD_CHARS)),
            source=mask_personal_data(source),
            section=mask_personal_data(_cap(c.get("section"), MAX_NOTE_FIELD_CHARS)),
            page=page, quote=mask_personal_data(_cap(c.get("quote"), MAX_NOTE_QUOTE_CHARS)),
            content_hash=getattr(record, "content_hash", "") or "",
            date=getattr(record, "updated", "") or (getattr(record, "ingested_at", "") or "")[:10],
            # as_of comes from the caller (the citation) before the record: masked like the rest.
            as_of=mask_personal_data(_cap(c.get("as_of") or getattr(record, "as_of", ""), MAX_NOTE_FIELD_CHARS)),
        ))
    return CaseNote(
        question=mask_personal_data(_cap(data.get("question"), MAX_NOTE_QUESTION_CHARS)),
        created=(now or datetime.now().astimezone()).replace(microsecond=0),
        # A closed set: the mode is printed through LABELS, never as text the caller chose.
        mode=mode if (mode := str(data.get("mode") or "")) in _MODES else "extractive",
        answer=mask_personal_data(_plain(_cap(data.get("answer"), MAX_NOTE_ANSWER_CHARS))),
        abstained=bool(data.get("abstained")),
        language=ui_language if ui_language in LABELS else "da",
        sources=sources,
    )


def _int(value) -> int:
    try:
        return max(0, min(int(value or 0), 999))
    except (TypeError, ValueError):
        return 0


def _plain(markdown: str) -> str:
    """The answer's text for a file: emphasis marks and HTML tags dropped, [n] kept."""
    text = re.sub(r"<[^>]{0,200}>", "", markdown)
    return re.sub(r"\*\*(.+?)\*\*", r"\1", text)


def _source_fields(s: NoteSource, t: dict[str, str]) -> list[tuple[str, str]]:
    rows = [(t["file"], s.source), (t["section"], s.section), (t["page"], str(s.page) if s.page else ""),
            (t["as_of"], s.as_of), (t["date"], s.date), (t["hash"], s.content_hash)]
    return [(k, v) for k, v in rows if v]


def to_markdown(note: CaseNote) -> str:
    t = LABELS[note.language]
    lines = [f"# {t['heading']}", "",
             f"- **{t['question']}:** {note.question}",
             f"- **{t['time']}:** {note.created.isoformat(sep=' ')}",
             f"- **{t['mode']}:** {t.get(note.mode, note.mode)}", "",
             f"_{t['disclaimer']}_", "", f"## {t['answer']}", ""]
    if note.abstained:
        lines += [f"**{t['abstained']}**", ""]
    lines += [note.answer.strip(), "", f"## {t['sources']}", ""]
    if not note.sources:
        lines.append(t["none"])
    for s in note.sources:
        lines += [f"### [{s.n}] {s.title}", ""]
        lines += [f"- **{k}:** {v}" for k, v in _source_fields(s, t)]
        lines += ["", f"> {t['quote']}: {s.quote}", ""]
    return "\n".join(lines).rstrip() + "\n"


def to_docx(note: CaseNote) -> bytes:
    import docx

    t = LABELS[note.language]
    document = docx.Document()
    document.core_properties.title = t["heading"]
    document.core_properties.language = note.language
    document.add_heading(t["heading"], level=1)
    for label, value in ((t["question"], note.question), (t["time"], note.created.isoformat(sep=" ")),
                         (t["mode"], t.get(note.mode, note.mode))):
        paragraph = document.add_paragraph()
        paragraph.add_run(f"{label}: ").bold = True
        paragraph.add_run(value)
    document.add_paragraph(t["disclaimer"]).runs[0].italic = True
    document.add_heading(t["answer"], level=2)
    if note.abstained:
        document.add_paragraph().add_run(t["abstained"]).bold = True
    for block in note.answer.strip().split("\n\n"):
        if block.strip():
            document.add_paragraph(block.strip())
    document.add_heading(t["sources"], level=2)
    if not note.sources:
        document.add_paragraph(t["none"])
    for s in note.sources:
        document.add_heading(f"[{s.n}] {s.title}", level=3)
        for label, value in _source_fields(s, t):
            paragraph = document.add_paragraph(style="List Bullet")
            paragraph.add_run(f"{label}: ").bold = True
            paragraph.add_run(value)
        document.add_paragraph(s.quote, style="Quote")
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()
