"""Sections to chunks, cut along the document's own structure.

Legal text is cut per provision (`§ 39.`, `§ 12-2.`, `Artikel 31`, `Article 31`), a long
provision further at its sub-sections (`Stk. 2.`, `(2)`), and every piece keeps its label.
Other text is cut per heading section; only an over-long section is split by size, with
overlap. The text that is embedded and indexed gets a short context header (document
title and section label); the text shown to users stays clean.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from langchain_text_splitters import RecursiveCharacterTextSplitter

from .loaders import LoadedDocument, Section

TARGET_WORDS = 220  # measured: see README "Chunk size"
MAX_WORDS = 320
OVERLAP_WORDS = 40

# A provision starts a line: "§ 39.", "§ 5 a.", "§ 12-2.", "§ 1. Formål", "Artikel 31", "Article 31".
PROVISION_START = re.compile(
    r"^(?P<label>§\s*\d+(?:-\d+)?(?:\s?[a-z](?![a-zæøå]))?\.?|(?:Artikel|Article|Art\.)\s+\d+[a-z]?)"
    r"(?=[\s.]|$)",
    re.M,
)
PROVISION_LABEL = re.compile(
    r"^(§\s*\d+(?:-\d+)?(?:\s?[a-z](?![a-zæøå]))?|(?:Artikel|Article|Art\.)\s+\d+[a-z]?)\b"
)
# Sub-sections: Danish "Stk. 2." inline, or "(2)" opening a line (Norwegian, EU style).
SUBSECTION = re.compile(r"(?:(?<=\s)|^)(?:Stk\.\s*(?P<stk>\d+)\.|(?<![^\n])\((?P<num>\d+)\)\s)")


@dataclass
class Chunk:
    """One retrievable passage with everything a citation needs."""

    source: str
    text: str
    title: str
    section: str  # provision label or heading path, for citations
    page: int
    language: str
    position: int
    provision: str = ""  # normalised, e.g. "§ 39" or "artikel 31"
    subsections: str = ""  # e.g. "2" or "2-3"
    heading: str = ""

    @property
    def indexed_text(self) -> str:
        return indexed_text(self.title, self.section, self.heading, self.text)

    def metadata(self) -> dict[str, str | int]:
        return {
            "source": self.source,
            "title": self.title,
            "section": self.section,
            "page": self.page,
            "language": self.language,
            "position": self.position,
            "provision": self.provision,
            "subsections": self.subsections,
            "heading": self.heading,
        }


def indexed_text(title: str, section: str, heading: str, text: str) -> str:
    """What is embedded and indexed: a context header, then the clean passage."""
    header = " | ".join(part for part in (title, heading, section) if part)
    return f"{header}\n{text}" if header else text


def words(text: str) -> int:
    return len(text.split())


def normalise_provision(label: str) -> str:
    label = re.sub(r"\s+", " ", label.strip().rstrip(".")).lower()
    label = re.sub(r"^art\.? ", "artikel ", label).replace("article ", "artikel ")
    return re.sub(r"§\s*", "§ ", label)


def chunk_document(doc: LoadedDocument) -> list[Chunk]:
    chunks: list[Chunk] = []
    for section in doc.sections:
        for piece in _section_pieces(section):
            chunks.append(
                Chunk(
                    source=doc.source,
                    title=doc.title,
                    page=section.page,
                    language=doc.language,
                    position=len(chunks),
                    **piece,
                )
            )
    return chunks


def _section_pieces(section: Section) -> list[dict]:
    headings = [h for h in section.headings if h]
    heading_path = " > ".join(headings)
    last = headings[-1] if headings else ""
    text = section.text.strip()

    # The provision is the section's own heading (HTML/Markdown law) ...
    label_match = PROVISION_LABEL.match(last)
    if label_match:
        parent = " > ".join(headings[:-1])
        return _provision_pieces(label_match.group(1), last, parent, text)
    # ... or provisions start lines inside the text (plain-text law).
    starts = list(PROVISION_START.finditer(text))
    if starts:
        pieces: list[dict] = []
        preamble = text[: starts[0].start()].strip()
        if preamble:
            pieces += _plain_pieces(preamble, heading_path, heading_path)
        for i, match in enumerate(starts):
            end = starts[i + 1].start() if i + 1 < len(starts) else len(text)
            body = text[match.start() : end].strip()
            first_line = body.split("\n", 1)[0]
            title_line = first_line if len(first_line) <= 90 else match.group("label")
            pieces += _provision_pieces(match.group("label"), title_line, heading_path, body)
        return pieces
    return _plain_pieces(text, heading_path, heading_path)


def _plain_pieces(text: str, section: str, heading: str) -> list[dict]:
    return [
        {"text": part, "section": section, "heading": heading}
        for part in split_by_size(text)
    ]


def _provision_pieces(label: str, title_line: str, parent: str, text: str) -> list[dict]:
    label = re.sub(r"\s+", " ", label.strip().rstrip("."))
    provision = normalise_provision(label)
    display = re.sub(r"\s+", " ", title_line.strip()).rstrip(".")
    display = display if len(display) <= 90 else label
    if words(text) <= MAX_WORDS:
        return [_piece(text, display, parent, provision, "")]

    pieces = []
    for numbers, part in _pack_subsections(text):
        sub = numbers[0] if numbers[0] == numbers[-1] else f"{numbers[0]}-{numbers[-1]}"
        sub_label = f"{label}, stk. {sub}" if "§" in label else f"{label}({sub})"
        for fragment in split_by_size(part):
            pieces.append(_piece(fragment, sub_label, parent, provision, sub))
    return pieces


def _piece(text: str, section: str, heading: str, provision: str, sub: str) -> dict:
    return {"text": text, "section": section, "heading": heading, "provision": provision,
            "subsections": sub}


def _pack_subsections(text: str) -> list[tuple[list[str], str]]:
    """Group consecutive sub-sections into pieces of about TARGET_WORDS."""
    marks = list(SUBSECTION.finditer(text))
    parts: list[tuple[str, str]] = []
    bounds = [0] + [m.start() for m in marks if m.start() > 0] + [len(text)]
    numbers = ["1"] + [m.group("stk") or m.group("num") for m in marks if m.start() > 0]
    if marks and marks[0].start() == 0:
        numbers[0] = marks[0].group("stk") or marks[0].group("num")
    for number, start, end in zip(numbers, bounds, bounds[1:]):
        if text[start:end].strip():
            parts.append((number, text[start:end].strip()))

    packed: list[tuple[list[str], str]] = []
    for number, part in parts:
        if packed and words(packed[-1][1]) + words(part) <= TARGET_WORDS:
            packed[-1][0].append(number)
            packed[-1] = (packed[-1][0], packed[-1][1] + "\n" + part)
        else:
            packed.append(([number], part))
    return packed


def split_by_size(text: str) -> list[str]:
    """Split over-long text on paragraph, line, sentence, then word boundaries."""
    if words(text) <= MAX_WORDS:
        return [text] if text.strip() else []
    splitter = RecursiveCharacterTextSplitter(
        chunk_size=TARGET_WORDS,
        chunk_overlap=OVERLAP_WORDS,
        length_function=words,
        separators=["\n\n", "\n", ". ", "; ", ", ", " "],
        keep_separator="end",
    )
    return [part.strip() for part in splitter.split_text(text) if part.strip()]
