"""A note for the case file ("Gem som notat"): one answer with every source it cites, as
Markdown and as a Word document (python-docx).

Danish buyers must document their decisions (notatpligt), so the note carries what a
reviewer needs to check the answer later: the question, date and time, the mode, the answer,
and per cited source its title, section or provision, page, the quoted passage, and the
version relied on (consolidation, "gælder pr." date, the document's date, its content hash
and the day the store read it). The hash and dates are read from the store's inventory,
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
from zoneinfo import ZoneInfo

from markdown_it import MarkdownIt

from assistant.i18n import NOTE_TEXT
from assistant.records.privacy import mask_personal_data
from assistant.text.lexicon import OFFICIAL_URL

# The note is filed in a Danish authority: its time is Danish local time, with the zone named.
NOTE_ZONE = ZoneInfo("Europe/Copenhagen")

# Bounds on what a caller can make the note hold (issue 24 item 7: an 800 KB note took 162 s
# in python-docx). An answer cites at most a handful of sources (the retriever returns 5-8);
# an LLM answer is capped at its max_tokens (about 4,000 characters), an offline answer is a
# few quotes. The caps sit well above real use and keep a note's build under a second.
MAX_NOTE_CITATIONS = 20
MAX_ANSWER_CHARS = 20_000
MAX_QUOTE_CHARS = 3_000
MAX_FIELD_CHARS = 1_000  # question, title, section

# Characters XML 1.0 forbids: a PDF's text layer can carry them, and python-docx would refuse
# the whole note.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
# An official link the note may make clickable: https only, a plain host (the one rule of the
# sources panel, web/render.py `_safe_url`, kept as strict).
_SAFE_URL = OFFICIAL_URL  # the one https-only rule (text.lexicon)
# Markdown punctuation escaped in text taken from documents, questions and titles, so a "*"
# or "> " inside a quote is printed, never read as emphasis or a block quote.
_MD_SPECIAL = re.compile(r"([\\`*_\[\]<&])")  # mid-line only: each line starts with our own prefix

_MD = MarkdownIt("commonmark", {"html": False, "linkify": False}).disable("image")


@dataclass(kw_only=True)
class NoteSource:
    n: int
    title: str
    source: str
    section: str
    page: int
    quote: str
    content_hash: str
    date: str  # the document's own date (front matter `updated`), else the day it was read
    as_of: str
    consolidation: str = ""  # a statute's consolidated text ("LBK nr. 116 af 3. februar 2025")
    read: str = ""  # the day the store read this version of the file (its ingest)
    official_urls: list[str] = field(default_factory=list)


@dataclass(kw_only=True)
class CaseNote:
    question: str
    created: datetime
    mode: str
    answer: str
    abstained: bool
    language: str
    sources: list[NoteSource] = field(default_factory=list)
    omitted_sources: int = 0  # citations beyond MAX_NOTE_CITATIONS

    @property
    def filename_stem(self) -> str:
        return "notat-" + self.created.strftime("%Y%m%d-%H%M%S")


def _clean(text: str, limit: int, shortened: str) -> str:
    text = _CONTROL.sub("", text)
    if len(text) > limit:
        return text[:limit].rstrip() + f" … {shortened}"
    return text


def build_note(answer, lookup: Callable[[str], object | None], *, ui_language: str = "da",
               now: datetime | None = None) -> CaseNote:
    """The note for one answer (an `Answer` or its `to_dict()`); `lookup(source)` gives the
    inventory record (content hash, dates) of a cited document, or None."""
    data = answer if isinstance(answer, dict) else answer.to_dict()
    language = ui_language if ui_language in NOTE_TEXT else "da"
    short = NOTE_TEXT[language]["shortened"]
    citations = list(data.get("citations") or [])
    sources = []
    for c in citations[:MAX_NOTE_CITATIONS]:
        record = lookup(str(c.get("source", ""))[:MAX_FIELD_CHARS])

        def field_(key: str, limit: int = MAX_FIELD_CHARS) -> str:
            return mask_personal_data(_clean(str(c.get(key) or ""), limit, short))  # noqa: B023

        sources.append(NoteSource(
            n=int(c.get("n", 0)), title=field_("title") or field_("source"), source=field_("source"),
            section=field_("section"), page=int(c.get("page") or 0), quote=field_("quote", MAX_QUOTE_CHARS),
            content_hash=getattr(record, "content_hash", "") or "",
            date=getattr(record, "updated", "") or (getattr(record, "ingested_at", "") or "")[:10],
            as_of=mask_personal_data(_clean(str(c.get("as_of") or getattr(record, "as_of", "") or ""), 40, "")),
            consolidation=field_("consolidation", 200),
            read=(getattr(record, "ingested_at", "") or "")[:10],
            official_urls=[u for u in (c.get("official_urls") or [])[:3] if isinstance(u, str) and _SAFE_URL.match(u)],
        ))
    created = (now or datetime.now(NOTE_ZONE)).astimezone(NOTE_ZONE).replace(microsecond=0)
    return CaseNote(
        question=mask_personal_data(_clean(str(data.get("question") or ""), MAX_FIELD_CHARS, short)),
        created=created,
        mode=str(data.get("mode") or "extractive") if data.get("mode") in ("llm", "extractive") else "extractive",
        answer=mask_personal_data(_plain(_clean(str(data.get("answer") or ""), MAX_ANSWER_CHARS, short))),
        abstained=bool(data.get("abstained")),
        language=language,
        sources=sources,
        omitted_sources=max(0, len(citations) - MAX_NOTE_CITATIONS),
    )


def _int(value) -> int:
    try:
        return max(0, min(int(value or 0), 999))
    except (TypeError, ValueError):
        return 0


def _plain(markdown: str) -> str:
    """The answer's Markdown for a file: HTML tags dropped (the chat's inline markup), the
    rest kept as Markdown and rendered by `to_docx`."""
    return re.sub(r"<[^>]{0,200}>", "", markdown)


def escape(text: str) -> str:
    """Text shown as it is inside Markdown (one line: a newline becomes a space)."""
    return _MD_SPECIAL.sub(r"\\\1", " ".join(text.split()))


def when(note: CaseNote) -> str:
    """The note's time as people read it: "2026-12-02 kl. 10:30 (CET, dansk tid)"."""
    t = NOTE_TEXT[note.language]
    return t["when"].format(date=note.created.strftime("%Y-%m-%d"), time=note.created.strftime("%H:%M"),
                            zone=note.created.tzname() or "Europe/Copenhagen")


# Characters of the content hash in a source's version line: 12 hex digits (48 bits) tell a
# corpus's versions apart (the store's chunk ids use the same prefix); the full hash follows.
SHORT_HASH = 12


def version_line(s: NoteSource, t: dict[str, str]) -> str:
    """Which text of a source the answer relied on, as a case file needs it: the consolidation,
    the legal date it shows, the document's own date, its content (short hash) and the day the
    store read that version: "LBK nr. 116 af 3. februar 2025 · gælder pr. 2025-02-03 · ..."."""
    parts = [s.consolidation, t["v_as_of"].format(date=s.as_of) if s.as_of else "",
             t["v_dated"].format(date=s.date) if s.date and s.date != s.read else "",
             t["v_hash"].format(hash=s.content_hash[:SHORT_HASH]) if s.content_hash else "",
             t["v_read"].format(date=s.read) if s.read else ""]
    return " · ".join(p for p in parts if p)


def _source_fields(s: NoteSource, t: dict[str, str]) -> list[tuple[str, str]]:
    """Label and Markdown value per field of a cited source (empty fields left out)."""
    rows = [(t["file"], escape(s.source)), (t["section"], escape(s.section)),
            (t["page"], str(s.page) if s.page else ""), (t["version"], escape(version_line(s, t))),
            (t["hash"], s.content_hash)]
    rows += [(t["official"], f"[{escape(url)}]({url})") for url in s.official_urls]
    return [(k, v) for k, v in rows if v]


def to_markdown(note: CaseNote) -> str:
    """The note as Markdown: the one text both files are made from (`to_docx` renders it)."""
    t = NOTE_TEXT[note.language]
    lines = [f"# {t['heading']}", "",
             f"- **{t['question']}:** {escape(note.question)}",
             f"- **{t['time']}:** {when(note)}",
             f"- **{t['mode']}:** {escape(t.get(note.mode, note.mode))}", "",
             f"*{escape(t['disclaimer'])}*", "", f"## {t['answer']}", ""]
    if note.abstained:
        lines += [f"**{escape(t['abstained'])}**", ""]
    lines += [note.answer.strip(), "", f"## {t['sources']}", ""]
    if not note.sources:
        lines.append(escape(t["none"]))
    for s in note.sources:
        lines += [f"### [{s.n}] {escape(s.title)}", ""]  # "[1]" alone is no link: the note defines no references
        lines += [f"- **{k}:** {v}" for k, v in _source_fields(s, t)]
        lines += ["", f"> *{escape(t['quote'])}:* {escape(s.quote)}", ""]
    if note.omitted_sources:
        lines += [escape(t["more_sources"].format(count=note.omitted_sources)), ""]
    return "\n".join(lines).rstrip() + "\n"


def to_docx(note: CaseNote) -> bytes:
    """The note as a Word document: `to_markdown`'s text parsed by markdown-it-py and drawn
    with Word's own styles (headings, lists, Quote, hyperlinks), so no Markdown mark remains."""
    import docx

    t = NOTE_TEXT[note.language]
    document = docx.Document()
    document.core_properties.title = t["heading"]
    document.core_properties.language = note.language
    document.core_properties.created = note.created.replace(tzinfo=None)
    _render(document, _MD.parse(to_markdown(note)))
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def _render(document, tokens) -> None:
    """Block tokens to paragraphs. Lists nest by depth ("List Bullet", "List Bullet 2");
    a block quote's paragraphs take the "Quote" style."""
    lists: list[str] = []  # "Bullet" / "Number" per open list
    quote = 0
    for i, token in enumerate(tokens):
        kind = token.type
        if kind == "bullet_list_open":
            lists.append("Bullet")
        elif kind == "ordered_list_open":
            lists.append("Number")
        elif kind in ("bullet_list_close", "ordered_list_close"):
            lists.pop()
        elif kind == "blockquote_open":
            quote += 1
        elif kind == "blockquote_close":
            quote -= 1
        elif kind == "heading_open":
            level = min(int(token.tag[1]), 4)
            _inline(document.add_heading("", level=level), tokens[i + 1])
        elif kind == "paragraph_open":
            inline = tokens[i + 1]
            if lists:
                depth = len(lists)
                style = f"List {lists[-1]}" + (f" {min(depth, 3)}" if depth > 1 else "")
            elif quote:
                style = "Quote"
            else:
                style = None
            _inline(document.add_paragraph(style=style), inline)
        elif kind in ("code_block", "fence"):
            document.add_paragraph(token.content.rstrip())


def _inline(paragraph, token) -> None:
    """Inline tokens to runs: bold, italic, hyperlinks (https only), line breaks."""
    bold = italic = 0
    link: str | None = None
    for child in token.children or []:
        kind = child.type
        if kind == "strong_open":
            bold += 1
        elif kind == "strong_close":
            bold -= 1
        elif kind == "em_open":
            italic += 1
        elif kind == "em_close":
            italic -= 1
        elif kind == "link_open":
            href = str(child.attrs.get("href") or "")
            link = href if _SAFE_URL.match(href) else None
        elif kind == "link_close":
            link = None
        elif kind in ("text", "code_inline"):
            if link:
                _hyperlink(paragraph, link, child.content, bold=bool(bold), italic=bool(italic))
            elif child.content:
                run = paragraph.add_run(child.content)
                run.bold = bool(bold) or None
                run.italic = bool(italic) or None
        elif kind == "softbreak":
            paragraph.add_run(" ")
        elif kind == "hardbreak":
            paragraph.add_run().add_break()


def _hyperlink(paragraph, url: str, text: str, *, bold: bool, italic: bool) -> None:
    """A real Word hyperlink (python-docx has no API for one: a w:hyperlink element with an
    external relationship), drawn blue and underlined."""
    from docx.opc.constants import RELATIONSHIP_TYPE
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    r_id = paragraph.part.relate_to(url, RELATIONSHIP_TYPE.HYPERLINK, is_external=True)
    hyperlink = OxmlElement("w:hyperlink")
    hyperlink.set(qn("r:id"), r_id)
    run = OxmlElement("w:r")
    props = OxmlElement("w:rPr")
    color = OxmlElement("w:color")
    color.set(qn("w:val"), "0B5CAD")
    underline = OxmlElement("w:u")
    underline.set(qn("w:val"), "single")
    props.extend([color, underline])
    for on, tag in ((bold, "w:b"), (italic, "w:i")):
        if on:
            props.append(OxmlElement(tag))
    run.append(props)
    node = OxmlElement("w:t")
    node.text = text
    node.set(qn("xml:space"), "preserve")
    run.append(node)
    hyperlink.append(run)
    paragraph._p.append(hyperlink)
