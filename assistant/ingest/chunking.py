"""Sections to chunks, cut along the document's own structure.

Legal text is cut per provision (`§ 39.`, `§ 12-2.`, `Artikel 31`, `Article 31`), a long
provision further at its sub-sections (`Stk. 2.`, `(2)`), and every piece keeps its label.
Other text is cut per heading section; only an over-long section is split by size, with
overlap. The text that is embedded and indexed gets a short context header (document
title and section label); the text shown to users stays clean.

Each chunk also carries its structure as metadata, computed here once and never by
re-parsing later: the section's role (body, steps, pitfalls, sources: from its heading)
and its quotable units (a paragraph, a list with its lead-in, a table row with its
header, a provision's stk./ledd), as character spans of the chunk text. The offline
answer quotes whole units, so this is what keeps a list with its lead-in.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Literal

from langchain_text_splitters import RecursiveCharacterTextSplitter

from assistant.ingest.loaders import LoadedDocument, Section, soft_break
from assistant.text.lexicon import is_official_url

# Bump when segmentation, the quotable units or a chunk's metadata change: a sync re-writes
# every document whose record names another version, so stores made by an older release get
# the new chunks (units, sources, topics) without a manual --rebuild.
CHUNKER_VERSION = "2026-12-07t"  # s: statutes' version metadata; t: provision parts labelled in the text's own style
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


Role = Literal["body", "steps", "pitfalls", "sources"]
UnitKind = Literal["paragraph", "list", "row", "provision", "aside"]

# Headings that tell what a section is for (da / nb / en), checked on the heading path.
_ROLE_HEADINGS: list[tuple[Role, re.Pattern]] = [
    ("sources", re.compile(r"^(kilder?|kildene|sources?|references?|referencer|litteratur|"
                           r"further reading|læs mere|les mer|links?)\b", re.I)),
    ("pitfalls", re.compile(r"(faldgrube|fallgruv|pitfall|typiske fejl|typiske feil|common mistakes|"
                            r"hyppige fejl|what to avoid|undgå|unngå)", re.I)),
    ("steps", re.compile(r"^(sådan|slik|how to|trin\b|steg\b|steps?\b|fremgangsmåde|tjekliste|"
                         r"sjekkliste|checklist)", re.I)),
]
_LIST_ITEM = re.compile(r"^\s*(?:[-*•·]\s|\d{1,2}[.)]\s|\([0-9a-z]{1,3}\)\s|[a-z]\)\s)")
_TABLE_LINE = re.compile(r"^\s*\|?[^|\n]+(?:\|[^|\n]*){1,}\|?\s*$")
_TABLE_RULE = re.compile(r"^\s*\|?\s*:?-{2,}")
# A line that runs on into the list below it: ends in ":" or stops mid-sentence ("... ved at").
_LEADS_IN = re.compile(r"(?::|[^.!?)\"”»*|])\s*$")
_ASIDE = re.compile(r"^\s*([*_])(?!\1)[^*_].*\1\s*$")  # a whole line in italics: a note aside


def section_role(headings: list[str]) -> Role:
    """What a section is for, from its own heading first, then its parents'."""
    for heading in reversed([h for h in headings if h]):
        for role, pattern in _ROLE_HEADINGS:
            if pattern.search(heading.strip()):
                return role
    return "body"


@dataclass(frozen=True, kw_only=True)
class Unit:
    """The smallest coherent quotable piece of a chunk: spans into the chunk's text."""

    kind: UnitKind
    spans: tuple[tuple[int, int], ...]
    label: str = ""  # "§ 57, stk. 2" for a provision part

    def text(self, chunk_text: str) -> str:
        return "\n".join(chunk_text[a:b] for a, b in self.spans)


def segment_units(text: str, section: str = "") -> list[Unit]:
    """Units of a passage, in order. Lines are the grain: a list item stays with its list and
    the list with the lead-in line before it (ending in ":"); a table row with the header row;
    a provision is cut at its "Stk. N." / "(N)" marks, each part labelled."""
    lines: list[tuple[int, int]] = []
    gap: list[bool] = []  # a blank line before this one
    pos, blank = 0, True
    for raw in text.split("\n"):
        start, end = pos, pos + len(raw)
        pos = end + 1
        stripped = raw.strip()
        if stripped:
            lead = len(raw) - len(raw.lstrip())
            lines.append((start + lead, start + lead + len(stripped)))
            gap.append(blank)
            blank = False
        else:
            blank = True

    def structural(j: int) -> bool:
        line = text[slice(*lines[j])]
        return bool(_LIST_ITEM.match(line) or _TABLE_LINE.match(line) or _ASIDE.match(line)
                    or PROVISION_START.match(line) or SUBSECTION.match(line))

    # Only a text that separates its paragraphs by blank lines (PDF and plain text, which
    # wrap lines) says by their absence that a line carries on; the Markdown loader unwraps
    # paragraphs itself, so there every line is a paragraph of its own.
    wrapped = any(gap[1:])

    def continues(j: int) -> bool:
        """Line j carries on the line before it: a hard-wrapped paragraph or list item."""
        return (wrapped and j < len(lines) and not gap[j] and not structural(j)
                and soft_break(text[slice(*lines[j - 1])], text[slice(*lines[j])]))

    units: list[Unit] = []
    i = 0
    provision = bool(PROVISION_LABEL.match(section or "")) or bool(PROVISION_START.match(text.lstrip()))
    while i < len(lines):
        a, b = lines[i]
        line = text[a:b]
        if _ASIDE.match(line):
            units.append(Unit(kind="aside", spans=((a, b),)))
            i += 1
        elif _TABLE_LINE.match(line) and i + 1 < len(lines) and _TABLE_LINE.match(text[slice(*lines[i + 1])]):
            header = (a, b)
            j = i + 1
            while j < len(lines) and _TABLE_LINE.match(text[slice(*lines[j])]):
                if not _TABLE_RULE.match(text[slice(*lines[j])]):
                    units.append(Unit(kind="row", spans=(header, lines[j])))
                j += 1
            i = j
        else:
            # A paragraph runs over its hard-wrapped lines (Markdown, PDF and plain text wrap).
            j = i + 1
            if not _LIST_ITEM.match(line):
                while continues(j):
                    j += 1
            lead_in = text[lines[j - 1][0]:lines[j - 1][1]]
            if _LIST_ITEM.match(line) or (j < len(lines) and _LEADS_IN.search(lead_in)
                                          and _LIST_ITEM.match(text[slice(*lines[j])])):
                # A list with its lead-in; each item keeps its wrapped continuation lines.
                while j < len(lines) and _LIST_ITEM.match(text[slice(*lines[j])]):
                    j += 1
                    while continues(j):
                        j += 1
                units.append(Unit(kind="list", spans=((a, lines[j - 1][1]),)))
            else:
                units.append(Unit(kind="paragraph", spans=((a, lines[j - 1][1]),)))
            i = j
    if provision:
        units = _provision_units(text, units, section)
    return units


def sub_label(label: str, numbers: str, danish: bool) -> str:
    """A provision part's citation label, in the style of the text's own marks: a Danish
    "Stk. 2." is cited "§ 94, stk. 2"; a numbered "(2)" (Norwegian regulation, EU) as
    "§ 13-2 (2)" and "Artikel 31(2)"; `numbers` is "2" or "2-4"."""
    if danish and "§" in label:
        return f"{label}, stk. {numbers}"
    first, _, last = numbers.partition("-")
    parts = f"({first})" + (f"–({last})" if last else "")
    return f"{label} {parts}" if "§" in label else f"{label}{parts}"


def provision_base(section: str) -> str:
    """The bare provision label of a section ("§ 13-2. Vilkår for ..., stk. 2" -> "§ 13-2")."""
    section = re.sub(r",\s*stk\..*$|\s*\(\d+\)(?:[-–]\(\d+\))?$", "", section or "").strip()
    match = PROVISION_LABEL.match(section)
    return re.sub(r"\s+", " ", match.group(1)) if match else section


def _provision_units(text: str, units: list[Unit], section: str) -> list[Unit]:
    """Cut provision paragraphs at their sub-section marks; label each part."""
    base = provision_base(section) if section else ""
    out: list[Unit] = []
    current = ("", False)  # the sub-section being read: its number, whether marked "Stk."
    for unit in units:
        if unit.kind not in {"paragraph", "list"}:
            out.append(unit)
            continue
        a, b = unit.spans[0][0], unit.spans[-1][1]
        cuts = [a] + [a + m.start() for m in SUBSECTION.finditer(text[a:b]) if m.start() > 0] + [b]
        for start, end in zip(cuts, cuts[1:]):
            piece = text[start:end]
            stripped_start = start + len(piece) - len(piece.lstrip())
            stripped_end = start + len(piece.rstrip())
            if stripped_end <= stripped_start:
                continue
            m = SUBSECTION.match(text[stripped_start:stripped_end])
            if m:  # a list or paragraph without a mark of its own belongs to the part before it
                current = (m.group("stk") or m.group("num"), bool(m.group("stk")))
            label = base
            if current[0] and base:
                label = sub_label(base, current[0], danish=current[1])
            out.append(Unit(kind="provision", spans=((stripped_start, stripped_end),), label=label))
    return out


def units_to_json(units: list[Unit]) -> str:
    return json.dumps([[u.kind, [list(s) for s in u.spans], u.label] for u in units], separators=(",", ":"))


def units_from_json(value: str) -> list[Unit]:
    try:
        return [Unit(kind=k, spans=tuple((int(a), int(b)) for a, b in spans), label=label)
                for k, spans, label in json.loads(value)]
    except (ValueError, TypeError):
        return []


# Chroma metadata holds only strings, numbers and booleans, never None or an empty list: a
# list field is stored as one string, its items joined by the separator that cannot occur in
# them (a URL has no spaces; a front-matter line has no line break).
LIST_SEPARATORS = {"official_urls": " ", "sources": "\n", "topics": "\n"}


def list_items(values) -> tuple[str, ...]:
    """Front-matter list values as stored: each on one line, blank ones left out."""
    return tuple(" ".join(str(v).split()) for v in values or () if v is not None and str(v).strip())


def join_list(items, separator: str = "\n") -> str:
    return separator.join(list_items(items))


@lru_cache(maxsize=4096)
def split_list(value: str, separator: str = "\n") -> tuple[str, ...]:
    """The items `join_list` joined. Cached: every chunk of a document carries the same
    lists, so the BM25 snapshot keeps one tuple per document, not one per chunk."""
    parts = value.split() if separator == " " else value.split(separator)
    return tuple(part.strip() for part in parts if part.strip())


@dataclass(frozen=True, slots=True, kw_only=True)
class Chunk:
    """One retrievable passage with everything a citation needs.

    It owns its serialisation: `metadata()` is what Chroma (and the BM25 snapshot) stores
    beside the text, `from_metadata` the one way back; `where()` builds a filter on its keys.
    """

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
    role: Role = "body"
    jurisdiction: str = ""
    as_of: str = ""
    official_urls: tuple[str, ...] = ()  # the document's front-matter links
    sources: tuple[str, ...] = ()  # the document's front matter: what a note is based on
    topics: tuple[str, ...] = ()  # the document's front-matter topics
    # What kind of text the passage is, and which version (a sidecar record: loaders docstring):
    # a card says "law" or "guidance", a statute's citation names its consolidation and date.
    source_kind: str = ""  # "law" | "guidance" | "" (unknown)
    act: str = ""  # a shipped statute's name (udbudsloven, ...): cross-references link to it
    consolidation: str = ""  # "LBK nr. 116 af 3. februar 2025"
    attribution: str = ""  # "Lovdata" (NLOD 2.0)
    # {language: notice} for a text known to predate a change; stored as JSON (`notice_json`).
    notices: tuple[tuple[str, str], ...] = ()
    # The quotable units as stored (`units_to_json`), kept serialised: a Unit object per
    # unit of 100,000 chunks would cost the BM25 snapshot some 150 MB. Empty: from the text.
    units_json: str = field(default="", repr=False, compare=False)

    @property
    def units(self) -> list[Unit]:
        stored = units_from_json(self.units_json) if self.units_json else []
        return stored or segment_units(self.text, self.section if self.provision else "")

    @property
    def indexed_text(self) -> str:
        return indexed_text(self.title, self.section, self.heading, self.text)

    def metadata(self) -> dict[str, str | int]:
        """What Chroma stores beside the text (no None, no lists: see LIST_SEPARATORS)."""
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
            "role": self.role,
            "units": self.units_json or units_to_json(self.units),
            "jurisdiction": self.jurisdiction,
            "as_of": self.as_of,
            "source_kind": self.source_kind,
            "act": self.act,
            "consolidation": self.consolidation,
            "attribution": self.attribution,
            "notices": json.dumps(dict(self.notices), ensure_ascii=False, sort_keys=True) if self.notices else "",
            **{name: join_list(getattr(self, name), sep) for name, sep in LIST_SEPARATORS.items()},
        }

    def notice(self, language: str) -> str:
        """The staleness notice in the asker's language (else English, else any), or ""."""
        notices = dict(self.notices)
        return notices.get(language) or notices.get("en") or next(iter(notices.values()), "")

    @classmethod
    def from_metadata(cls, text: str, meta: dict) -> "Chunk":
        """The chunk `metadata()` described; keys it does not know (the store's "version")
        are ignored, and a key missing from an older store takes its default."""
        def string(key: str) -> str:
            value = meta.get(key)
            return "" if value is None else str(value)

        return cls(
            source=string("source"), text=text or "", title=string("title"), section=string("section"),
            page=int(meta.get("page") or 0), language=string("language"),
            position=int(meta.get("position") or 0), provision=string("provision"),
            subsections=string("subsections"), heading=string("heading"),
            role=meta.get("role") or "body", jurisdiction=string("jurisdiction"), as_of=string("as_of"),
            units_json=string("units"), source_kind=string("source_kind"), act=string("act"),
            consolidation=string("consolidation"), attribution=string("attribution"),
            notices=_notices_from_json(string("notices")),
            **{name: split_list(string(name), sep) for name, sep in LIST_SEPARATORS.items()},
        )

    @staticmethod
    def where(**equal: str) -> dict:
        """A Chroma filter: every named metadata key equals its value (`Chunk.where(source=s)`)."""
        unknown = set(equal) - METADATA_KEYS
        if unknown:
            raise ValueError(f"not a chunk metadata key: {', '.join(sorted(unknown))}")
        clauses = [{key: value} for key, value in equal.items()]
        return clauses[0] if len(clauses) == 1 else {"$and": clauses}


@lru_cache(maxsize=256)
def _notices_from_json(value: str) -> tuple[tuple[str, str], ...]:
    """Cached like `split_list`: every chunk of a statute carries the same notices."""
    try:
        data = json.loads(value) if value else {}
    except ValueError:
        return ()
    return tuple(sorted((str(k), str(v)) for k, v in data.items() if v)) if isinstance(data, dict) else ()


METADATA_KEYS = frozenset(Chunk(source="", text="", title="", section="", page=0, language="", position=0, units_json="[]").metadata())


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
    urls = tuple(s.strip() for s in doc.sources if is_official_url(s))
    for section in doc.sections:
        role = section_role(section.headings)
        for piece in _section_pieces(section):
            chunks.append(
                Chunk(
                    source=doc.source,
                    title=doc.title,
                    page=section.page,
                    language=doc.language,
                    position=len(chunks),
                    role=role,
                    jurisdiction=doc.jurisdiction,
                    as_of=doc.as_of,
                    official_urls=urls,
                    sources=list_items(doc.sources),
                    topics=list_items(doc.topics),
                    source_kind=doc.source_kind,
                    act=doc.act,
                    consolidation=doc.consolidation,
                    attribution=doc.attribution,
                    notices=tuple(sorted(doc.notices.items())),
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
    title = re.sub(r"\s+", " ", title_line.strip()).rstrip(".")
    display = title if len(title) <= 90 else label  # the citation label stays short
    # The provision's own title names what it regulates ("Vilkår for bruk av konkurranse med
    # forhandling ..."), so every piece indexes it: in its label when the label is the title,
    # else in its heading (a long title; a piece of sub-sections, labelled "§ 5-4 (9)–(11)").
    # A plain-text law's first line is already in the text.
    titled = f"{parent} > {title}" if parent else title
    if title == label or text.startswith(title):
        titled = parent
    if words(text) <= MAX_WORDS:
        return [_piece(text, display, parent if display == title else titled, provision, "")]

    pieces = []
    for numbers, part in _pack_subsections(text):
        sub = numbers[0] if numbers[0] == numbers[-1] else f"{numbers[0]}-{numbers[-1]}"
        marks = list(SUBSECTION.finditer(text))
        danish = any(m.group("stk") for m in marks)
        for fragment in split_by_size(part):
            if not marks:  # a long provision without parts (§ 24's definitions): cut by size only
                pieces.append(_piece(fragment, label, titled, provision, ""))
                continue
            pieces.append(_piece(fragment, sub_label(label, sub, danish), titled, provision, sub))
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
