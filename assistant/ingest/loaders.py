"""Files to sections: each loader turns one document into text sections with metadata.

Markdown, HTML and DOCX are first rendered as Markdown-style text (headings as `#`),
so one heading splitter (LangChain's) cuts them all along their own structure.
PDFs become one section per page, so every passage keeps its page number.

Sidecar record (`<file>.meta.yaml`)
-----------------------------------
A file whose own format cannot carry front matter (a statute as published: plain text,
Lovdata HTML, a PDF) is described by a YAML file beside it, named after it plus
`.meta.yaml` (`udbudsloven_LBK-2025-116.txt.meta.yaml`). The file itself stays whole and
unmodified; the sidecar is never ingested on its own (sync skips it), and a change to it
re-ingests its document (the document's hash covers both). The staff upload form writes the
same record. `read_sidecar` is the one reader and checks it; a broken sidecar refuses the
document with a reason (a statute without its date or notice must not be served). Keys:

    title: "Bekendtgørelse af lov om offentlige udbud"  # official title (required)
    kind: law            # law | guidance: a card says which (required)
    act: udbudsloven     # law only: udbudsloven | anskaffelsesloven | anskaffelsesforskriften
                         #   (the name cross-references and `make refs` know it by)
    jurisdiction: "DK"   # DK | NO | EU, the notes' vocabulary (quote "NO": YAML reads NO as false)
    language: da         # da | nb | en
    consolidation: "LBK nr. 116 af 3. februar 2025"  # which consolidated text this is
    as_of: 2025-02-03    # the date of the text: the legal state it shows (ISO date, required)
    review_by: 2027-06-30  # when staff must check it against the text in force (ISO date)
    url: "https://www.retsinformation.dk/eli/lta/2025/116"  # official ELI / Lovdata link
    attribution: ""      # e.g. "Lovdata" (NLOD 2.0) for Norwegian statutes
    license: "..."       # the reuse terms, as SOURCES.md states them
    notice:              # optional: a text known to predate a change; shown on every citation
      da: "..."          #   of it, in the asker's language (da / nb / en): what changed as far
      nb: "..."          #   as known and where to check the text in force
      en: "..."
"""

from __future__ import annotations

import hashlib
import io
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, get_args

import yaml

from assistant.text.language import detect_language
from assistant.text.lexicon import LANGUAGE_JURISDICTION, is_official_url

SUPPORTED = {".md", ".markdown", ".txt", ".pdf", ".docx", ".html", ".htm"}
TEXT_TYPES = {".md", ".markdown", ".txt", ".html", ".htm"}
NO_TEXT_LAYER = "no text layer — scanned? needs OCR"


class LoadError(Exception):
    """A file that cannot be ingested; the message is shown to staff as the reason."""


def _default(name: str):
    from assistant.config import Settings  # the settings own every default

    return Settings.model_fields[name].default


@dataclass(frozen=True, kw_only=True)
class LoadLimits:
    """How much work one file may cost (defaults: the settings' defaults)."""

    max_mb: float = field(default_factory=lambda: _default("max_file_mb"))
    budget_s: float = field(default_factory=lambda: _default("load_budget_s"))
    docx_max_paragraphs: int = field(default_factory=lambda: _default("docx_max_paragraphs"))
    docx_max_xml_mb: float = field(default_factory=lambda: _default("docx_max_xml_mb"))

    @classmethod
    def from_settings(cls, settings) -> "LoadLimits":
        return cls(max_mb=settings.max_file_mb, budget_s=settings.load_budget_s,
                   docx_max_paragraphs=settings.docx_max_paragraphs, docx_max_xml_mb=settings.docx_max_xml_mb)

    def clock(self) -> "_Budget":
        return _Budget(self.budget_s)


class _Budget:
    """A per-file deadline, checked between pages and paragraphs (a parse already inside a
    C library is bounded by the size limits instead)."""

    def __init__(self, seconds: float):
        import time

        self._now = time.monotonic
        self.seconds = seconds
        self.deadline = self._now() + seconds

    def check(self, where: str) -> None:
        if self._now() > self.deadline:
            raise LoadError(f"took longer than the {self.seconds:g} s budget per file (stopped at {where}; "
                            "ASSISTANT_LOAD_BUDGET_S); split the document or save it in a simpler format")


@dataclass
class Section:
    text: str
    headings: list[str] = field(default_factory=list)
    page: int = 0


SIDECAR_SUFFIX = ".meta.yaml"
SourceKind = Literal["law", "guidance", "internal"]  # internal: an office's own rule (staff upload form)
SOURCE_KINDS: tuple[str, ...] = get_args(SourceKind)
JURISDICTIONS = ("DK", "NO", "EU")  # the notes' vocabulary; the jurisdiction rule keys on it
ACTS = ("udbudsloven", "anskaffelsesloven", "anskaffelsesforskriften")  # refcheck.LAW_NAMES
NOTICE_LANGUAGES = ("da", "nb", "en")
_SIDECAR_KEYS = {"title", "kind", "act", "jurisdiction", "language", "consolidation", "as_of", "review_by",
                 "url", "attribution", "license", "notice",
                 "versions"}  # versions: earlier contents of the file (ingest/metadata.py writes them)


# Files at the top of the corpus folder that document the folder itself (reuse terms, how it
# is organised): never a document of the library. In a sub-folder the names are documents.
FOLDER_NOTES = frozenset({"sources.md", "readme.md"})


def is_folder_note(name: str) -> bool:
    return name.lower() in FOLDER_NOTES


def sidecar_path(path: Path) -> Path:
    return path.with_name(path.name + SIDECAR_SUFFIX)


def is_sidecar(name: str) -> bool:
    return name.lower().endswith(SIDECAR_SUFFIX)


def iso_date(value) -> str:
    """`value` as an ISO date (YAML gives a date object for a bare date, a str when quoted),
    or "" when it is not one."""
    import datetime as dt

    if isinstance(value, dt.date):
        return value.isoformat()[:10]
    try:
        return dt.date.fromisoformat(str(value or "").strip()).isoformat()
    except ValueError:
        return ""


# What makes a record invalid, as codes: the one owner of the record's rules. `read_sidecar`
# and the `assistant meta` command word them in English (below); the staff page in its
# language (i18n `p_<code>`).
RecordProblem = Literal["title", "kind", "act", "jurisdiction", "language", "url", "as_of", "review_by"]
PROBLEM_REASONS: dict[str, str] = {
    "title": "title is missing",
    "kind": f"kind must be one of {', '.join(SOURCE_KINDS)}",
    "act": f"act must be one of {', '.join(ACTS)}",
    "jurisdiction": f"jurisdiction must be one of {', '.join(JURISDICTIONS)} (quote \"NO\")",
    "language": f"language must be one of {', '.join(NOTICE_LANGUAGES)}",
    "url": "url must be one https:// link",
    "as_of": "as_of (the date of the text) is missing or not an ISO date (YYYY-MM-DD)",
    "review_by": "review_by is not an ISO date (YYYY-MM-DD)",
}


def record_problems(record: dict) -> list[str]:
    """The codes of what keeps a record (normalised strings, as `read_sidecar` makes them)
    from being valid; [] when it is. `as_of` is required, `review_by`, `act` and `url` not."""
    out = []
    if not str(record.get("title") or "").strip():
        out.append("title")
    if record.get("kind") not in SOURCE_KINDS:
        out.append("kind")
    if record.get("act") and record["act"] not in ACTS:
        out.append("act")
    if record.get("jurisdiction") not in JURISDICTIONS:
        out.append("jurisdiction")
    if record.get("language") not in NOTICE_LANGUAGES:
        out.append("language")
    if record.get("url") and not is_official_url(record["url"]):
        out.append("url")
    if not iso_date(record.get("as_of")):
        out.append("as_of")
    if record.get("review_by") and not iso_date(record["review_by"]):
        out.append("review_by")
    return out


def read_sidecar(path: Path) -> dict:
    """The checked sidecar record of `path` ({} when it has none), or LoadError with the reason."""
    meta_path = sidecar_path(path)
    if not meta_path.is_file():
        return {}
    name = meta_path.name
    try:
        meta = yaml.safe_load(decode_text(meta_path.read_bytes())) or {}
    except (yaml.YAMLError, OSError) as exc:
        raise LoadError(f"sidecar {name} is not valid YAML ({exc.__class__.__name__}); fix or remove it") from None
    if not isinstance(meta, dict):
        raise LoadError(f"sidecar {name} is not a YAML mapping (key: value lines)")
    jurisdiction = "NO" if meta.get("jurisdiction") is False else str(meta.get("jurisdiction") or "").upper()
    out = {
        "title": str(meta.get("title") or "").strip(),
        "kind": str(meta.get("kind") or "").strip().lower(),
        "act": str(meta.get("act") or "").strip().lower(),
        "jurisdiction": jurisdiction,
        "language": {"no": "nb", "nn": "nb", "dk": "da"}.get(str(meta.get("language") or "").lower(),
                                                             str(meta.get("language") or "").lower()),
        "consolidation": " ".join(str(meta.get("consolidation") or "").split()),
        "url": str(meta.get("url") or "").strip(),
        "attribution": " ".join(str(meta.get("attribution") or "").split()),
        "license": " ".join(str(meta.get("license") or "").split()),
        "as_of": iso_date(meta.get("as_of")),
        "review_by": iso_date(meta.get("review_by")) if meta.get("review_by") else "",
    }
    problems = record_problems({**out, "review_by": meta.get("review_by") or ""})
    if problems:
        raise LoadError(f"sidecar {name}: " + "; ".join(PROBLEM_REASONS[p] for p in problems))
    notice = meta.get("notice") or {}
    if not isinstance(notice, dict) or set(notice) - set(NOTICE_LANGUAGES):
        raise LoadError(f"sidecar {name}: notice must map {', '.join(NOTICE_LANGUAGES)} to a text each")
    out["notice"] = {lang: " ".join(str(text).split()) for lang, text in notice.items() if str(text or "").strip()}
    out["unknown"] = sorted(set(map(str, meta)) - _SIDECAR_KEYS)
    return out


def _apply_sidecar(meta: dict, doc: "LoadedDocument") -> None:
    """The sidecar wins over what the file says of itself (its first line, its HTML title)."""
    doc.title = meta["title"]
    doc.source_kind = meta["kind"]
    doc.act = meta["act"]
    doc.jurisdiction = meta["jurisdiction"]
    doc.language = meta["language"]
    doc.consolidation = meta["consolidation"]
    doc.as_of = meta["as_of"]
    doc.review_by = meta["review_by"]
    doc.attribution = meta["attribution"]
    doc.notices = dict(meta["notice"])
    if meta["url"]:
        doc.sources = [meta["url"]]
    if meta["unknown"]:
        doc.warnings.append(f"sidecar: unknown keys ignored: {', '.join(meta['unknown'])}")


@dataclass
class LoadedDocument:
    source: str
    title: str
    language: str
    kind: str
    content_hash: str
    sections: list[Section]
    jurisdiction: str = ""
    updated: str = ""
    as_of: str = ""  # date of the legal state the document describes (front matter)
    review_by: str = ""  # when staff must re-check it (front matter)
    sources: list[str] = field(default_factory=list)
    topics: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    # From a sidecar record (or a note's front matter `kind:`): see the module docstring.
    source_kind: str = ""  # law | guidance ("" unknown)
    act: str = ""  # udbudsloven | anskaffelsesloven | anskaffelsesforskriften (a shipped statute)
    consolidation: str = ""  # "LBK nr. 116 af 3. februar 2025"
    attribution: str = ""  # "Lovdata"
    notices: dict[str, str] = field(default_factory=dict)  # {language: what changed, where to check}


def content_hash(data: bytes, sidecar: bytes | None = None) -> str:
    """SHA-256 of the file; with a sidecar record, of the file and the record together, so a
    corrected date or notice re-ingests the document (a file without one keeps its hash)."""
    digest = hashlib.sha256(data)
    if sidecar is not None:
        digest.update(b"\0" + SIDECAR_SUFFIX.encode() + b"\0" + sidecar)
    return digest.hexdigest()


def document_hash(path: Path) -> str:
    """The hash `load_file` gives the document at `path` (its sidecar included)."""
    meta = sidecar_path(path)
    return content_hash(path.read_bytes(), meta.read_bytes() if meta.is_file() else None)


def source_name(path: Path, root: Path | None) -> str:
    """Path relative to the synced folder (POSIX style), else the bare file name."""
    if root is not None:
        try:
            return path.resolve().relative_to(root.resolve()).as_posix()
        except ValueError:
            pass
    return path.name


def load_file(path: Path, root: Path | None = None, max_mb: float | None = None, *,
              limits: LoadLimits | None = None) -> LoadedDocument:
    """Read one file into sections, or raise LoadError with a reason a person can act on."""
    limits = limits or LoadLimits(**({"max_mb": max_mb} if max_mb is not None else {}))
    max_mb = limits.max_mb
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED:
        raise LoadError(
            f"unsupported file type '{suffix or path.name}' (supported: {', '.join(sorted(SUPPORTED))})"
        )
    size = path.stat().st_size
    if size == 0:
        raise LoadError("empty file (0 bytes)")
    if size > max_mb * 1024 * 1024:
        raise LoadError(f"file is {size / 1024 / 1024:.1f} MB, over the {max_mb:g} MB limit")
    data = path.read_bytes()
    if suffix in TEXT_TYPES and _binary(data):
        raise LoadError(f"not a text file: binary content in a {suffix} file")
    sidecar = read_sidecar(path)
    meta_file = sidecar_path(path)

    doc = LoadedDocument(
        source=source_name(path, root),
        title="",
        language="",
        kind=suffix.lstrip("."),
        content_hash=content_hash(data, meta_file.read_bytes() if sidecar else None),
        sections=[],
    )
    if suffix == ".pdf":
        _load_pdf(data, doc, limits.clock())
    elif suffix == ".docx":
        _sections_from_markdown(_docx_to_markdown(data, limits), doc)
    elif suffix in {".html", ".htm"}:
        _load_html(decode_text(data), doc)
    elif suffix in {".md", ".markdown"}:
        _load_markdown(decode_text(data), doc)
    else:
        _load_text(decode_text(data), doc)

    doc.sections = [s for s in doc.sections if s.text.strip()]
    if not doc.sections:
        raise LoadError("no text found in the file")
    if sidecar:
        _apply_sidecar(sidecar, doc)
    doc.title = doc.title.strip() or path.stem.replace("_", " ").replace("-", " ")
    if doc.language not in {"da", "nb", "en"}:
        sample = " ".join(s.text for s in doc.sections[:20])
        doc.language = detect_language(f"{doc.title} {sample}")
    if not doc.jurisdiction:
        # Without front matter, a text in Danish is taken as Danish law or guidance and one in
        # Norwegian as Norwegian, so a question prefers its own country's law (English: unknown).
        doc.jurisdiction = LANGUAGE_JURISDICTION.get(doc.language, "")
    return doc


def _binary(data: bytes) -> bool:
    """NUL bytes or mostly control characters anywhere (not just the first 8 KB: a file can
    start as Markdown and turn into an image or an archive further on)."""
    if b"\x00" in data:
        return True
    sample = data[:65536] + data[-65536:] if len(data) > 131072 else data
    controls = sum(sample.count(bytes([c])) for c in range(32) if c not in (9, 10, 12, 13))
    return controls > 0.05 * max(1, len(sample))


def decode_text(data: bytes) -> str:
    """UTF-8 (with or without BOM); older Windows files fall back to cp1252, then latin-1."""
    for encoding in ("utf-8-sig", "cp1252", "latin-1"):
        try:
            return data.decode(encoding).replace("\r\n", "\n").replace("\r", "\n")
        except UnicodeDecodeError:
            continue
    raise AssertionError("latin-1 decodes every byte string")


# --- Markdown -----------------------------------------------------------------------------

_FRONT_MATTER = re.compile(r"\A---\s*\n(.*?)\n---\s*\n", re.S)


def _load_markdown(text: str, doc: LoadedDocument) -> None:
    match = _FRONT_MATTER.match(text)
    if match:
        try:
            meta = yaml.safe_load(match.group(1)) or {}
        except yaml.YAMLError as exc:
            doc.warnings.append(f"front matter is not valid YAML ({exc.__class__.__name__}); ignored")
            meta = {}
        if isinstance(meta, dict):
            _apply_front_matter(meta, doc)
        text = text[match.end() :]
    _sections_from_markdown(unwrap_markdown(text), doc)


_MD_BLOCK = re.compile(r"^\s*(?:[-*+•]\s|\d{1,2}[.)]\s|#|>|\||```|~~~|---|\*\*\*|<)")


def soft_break(previous: str, line: str) -> bool:
    """Whether a line break inside a block only wraps a sentence: the line before stops
    mid-sentence, or this one goes on in lower case. A break after a full sentence is kept,
    since many notes put each paragraph on a line of its own without a blank line between."""
    return not re.search(r"[.!?:;\"”»)]\s*$", previous) or bool(re.match(r"[a-zæøå(,;]", line))


def unwrap_markdown(text: str) -> str:
    """Join hard-wrapped paragraph and list-item lines (Markdown's soft line breaks) so each
    paragraph or item is one line: later stages cut units along lines."""
    out: list[str] = []
    fenced = False
    for line in text.split("\n"):
        stripped = line.strip()
        if stripped.startswith(("```", "~~~")):
            fenced = not fenced
        joinable = (not fenced and stripped and out and out[-1].strip() and not _MD_BLOCK.match(line)
                    and not out[-1].rstrip().endswith("  ") and not out[-1].lstrip().startswith(("#", "|", "```"))
                    and soft_break(out[-1], stripped))
        if joinable:
            out[-1] = out[-1].rstrip() + " " + stripped
        else:
            out.append(line)
    return "\n".join(out)


def _as_list(value) -> list[str]:
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value if v is not None and str(v).strip()]
    return [str(value)] if str(value).strip() else []


def _apply_front_matter(meta: dict, doc: LoadedDocument) -> None:
    doc.title = str(meta.get("title") or "")
    language = str(meta.get("language") or meta.get("lang") or "").lower()
    doc.language = {"no": "nb", "nn": "nb", "dk": "da"}.get(language, language)
    doc.jurisdiction = str(meta.get("jurisdiction") or "")
    doc.updated = str(meta.get("updated") or meta.get("date") or "")
    doc.as_of = str(meta.get("as_of") or "")
    doc.review_by = str(meta.get("review_by") or "")
    doc.sources = _as_list(meta.get("sources"))
    doc.topics = _as_list(meta.get("topics"))
    # A note with front matter is guidance unless it says otherwise (the library's convention).
    kind = str(meta.get("kind") or "guidance").strip().lower()
    doc.source_kind = kind if kind in SOURCE_KINDS else ""


def _sections_from_markdown(text: str, doc: LoadedDocument) -> None:
    from langchain_text_splitters import MarkdownHeaderTextSplitter

    levels = [("#" * n, f"h{n}") for n in range(1, 7)]
    splitter = MarkdownHeaderTextSplitter(levels, strip_headers=True)
    for part in splitter.split_text(text):
        headings = [part.metadata[f"h{n}"] for n in range(1, 7) if part.metadata.get(f"h{n}")]
        text = part.page_content.replace("  \n", "\n")
        doc.sections.append(Section(text, headings))
        if not doc.title and headings and part.metadata.get("h1"):
            doc.title = part.metadata["h1"]


# --- Plain text ---------------------------------------------------------------------------


def _load_text(text: str, doc: LoadedDocument) -> None:
    first_line, _, rest = text.strip().partition("\n")
    first_line = first_line.strip()
    if 0 < len(first_line) <= 200 and not first_line.startswith("§") and rest.strip():
        doc.title = first_line.split(" – kilde:")[0].strip()
        text = text.strip()[len(first_line) :]
    doc.sections.append(Section(text))


# --- PDF ----------------------------------------------------------------------------------

_HYPHEN_BREAK = re.compile(r"(\w)-\s*\n\s*([a-zæøå])")


def join_hyphenated(text: str) -> str:
    """'admi-\\nnistrations' -> 'administrations' (only before a lower-case continuation)."""
    return _HYPHEN_BREAK.sub(r"\1\2", text)


def _load_pdf(data: bytes, doc: LoadedDocument, clock: "_Budget | None" = None) -> None:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    if not data.lstrip()[:5].startswith(b"%PDF"):
        raise LoadError("not a PDF: the file does not start with a PDF header")
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise LoadError("encrypted PDF: password protected, cannot be read")
        pages = list(reader.pages)
        meta_title = (reader.metadata or {}).get("/Title") if reader.metadata else None
    except LoadError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as exc:
        raise LoadError(f"corrupt PDF: {exc.__class__.__name__}: {str(exc)[:120]}") from exc
    except Exception as exc:  # pypdf raises many kinds on broken files
        if "crypt" in str(exc).lower() or "decrypt" in str(exc).lower():
            raise LoadError("encrypted PDF: cannot be decrypted") from exc
        raise LoadError(f"corrupt PDF: {exc.__class__.__name__}: {str(exc)[:120]}") from exc

    texts: dict[int, str] = {}
    for number, page in enumerate(pages, start=1):
        if clock is not None:
            clock.check(f"page {number} of {len(pages)}")
        try:
            texts[number] = join_hyphenated(page.extract_text() or "")
        except Exception as exc:  # one broken page must not lose the others
            doc.warnings.append(f"page {number}: could not extract text ({exc.__class__.__name__})")
    running = _running_lines(texts.values())
    empty = []
    for number, text in texts.items():
        lines = [ln.strip() for ln in text.split("\n") if ln.strip() and ln.strip() not in running]
        if not lines:
            empty.append(number)
            continue
        heading = lines[0] if _looks_like_heading(lines[0]) and len(lines) > 1 else ""
        body = lines[1:] if heading else lines
        doc.sections.append(Section(_unwrap(body), [heading] if heading else [], page=number))
    if not doc.sections:
        raise LoadError(NO_TEXT_LAYER)
    if empty:
        pages_list = ", ".join(map(str, empty[:10])) + ("…" if len(empty) > 10 else "")
        doc.warnings.append(f"page(s) {pages_list}: {NO_TEXT_LAYER}")
    if isinstance(meta_title, str) and meta_title.strip():
        doc.title = meta_title.strip()
    elif running:
        doc.title = max(running, key=len)


def _running_lines(pages) -> set[str]:
    """Lines printed on most pages (running headers and footers), which are noise."""
    from collections import Counter

    pages = [p for p in pages if p.strip()]
    if len(pages) < 4:
        return set()
    seen = Counter(ln.strip() for p in pages for ln in set(p.split("\n")) if ln.strip())
    return {line for line, n in seen.items() if n >= 0.5 * len(pages) and len(line) > 3}


def _looks_like_heading(line: str) -> bool:
    return 3 <= len(line) <= 70 and line[0].isupper() and not re.search(r"[.,;:!?\"”]$", line)


def _unwrap(lines: list[str]) -> str:
    """Join PDF layout lines into paragraphs; keep a break after a finished sentence."""
    out = ""
    for line in lines:
        if not out:
            out = line
        elif re.search(r"[.!?:”\"]$", out.rstrip()):
            out += "\n" + line
        else:
            out += " " + line
    return re.sub(r"[ \t]+", " ", out)


# --- DOCX ---------------------------------------------------------------------------------


# Largest expansion of one compressed member of a DOCX. Word's XML deflates 5-15x; a
# python-docx document of 3,000 identical paragraphs measured 36x, the most repetitive real
# case we could make. A zip bomb deflates up to ~1,000x. Members under 1 MB are exempt: their
# ratio costs nothing whatever it is.
MAX_DOCX_RATIO = 200
_RATIO_EXEMPT_BYTES = 1024 * 1024


def _check_docx_archive(data: bytes, limits: LoadLimits) -> None:
    """Every member of the zip is measured before python-docx opens it, whatever it is called:
    the main part can be renamed `.bin` (with [Content_Types].xml and the rels pointing to it)
    and python-docx parses it all the same, so a check on `*.xml` names alone is bypassed
    (a 580 KB file reached 3.2 GB). The declared sizes are a true bound: `zipfile` never
    returns more than a member's declared size. Uncompressed bytes beyond the file's own
    size count against ASSISTANT_DOCX_MAX_XML_MB, so photos (stored about 1:1) do not."""
    import zipfile

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise LoadError(f"corrupt DOCX: {exc.__class__.__name__}") from exc
    unpacked = sum(info.file_size for info in members)
    if unpacked - len(data) > limits.docx_max_xml_mb * 1024 * 1024:
        raise LoadError(f"DOCX too complex: counting every part, its XML unpacks to {unpacked / 1024 / 1024:.0f} MB, "
                        f"over the "
                        f"{limits.docx_max_xml_mb:g} MB limit (ASSISTANT_DOCX_MAX_XML_MB); split it or save it as PDF")
    for info in members:
        if info.file_size > _RATIO_EXEMPT_BYTES and info.file_size > MAX_DOCX_RATIO * max(1, info.compress_size):
            raise LoadError(f"DOCX refused: its part {info.filename[:80]!r} unpacks "
                            f"{info.file_size // max(1, info.compress_size):,} times its stored size "
                            f"(over {MAX_DOCX_RATIO}x, the mark of a zip bomb); save it again from Word or as PDF")


def _docx_to_markdown(data: bytes, limits: LoadLimits | None = None) -> str:
    """Paragraphs (headings by their style) and table rows as Markdown-style lines.

    Bounded, because a small DOCX can hold a huge amount of work: the unpacked XML is
    measured before it is parsed, paragraphs are counted, and the clock is checked as we
    go. Styles are looked up once in a dict: python-docx's `Paragraph.style` searches the
    whole style sheet for every paragraph (40,000 paragraphs took 88 s). Table cells are
    read straight from the XML for the same reason (`Row.cells` recomputes the grid)."""
    import zipfile

    import docx
    from docx.oxml.ns import qn

    limits = limits or LoadLimits()
    clock = limits.clock()
    _check_docx_archive(data, limits)
    try:
        document = docx.Document(io.BytesIO(data))
        style_names = {s.style_id: s.name or "" for s in document.styles}
    except (zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise LoadError(f"corrupt DOCX: {exc.__class__.__name__}") from exc
    except Exception as exc:
        raise LoadError(f"corrupt DOCX: {exc.__class__.__name__}: {str(exc)[:100]}") from exc

    p_tag, tbl_tag, tr_tag, tc_tag = qn("w:p"), qn("w:tbl"), qn("w:tr"), qn("w:tc")
    lines: list[str] = []
    count = 0

    def tick() -> None:
        nonlocal count
        count += 1
        if count > limits.docx_max_paragraphs:
            raise LoadError(f"DOCX too long: over {limits.docx_max_paragraphs:,} paragraphs and table cells "
                            "(ASSISTANT_DOCX_MAX_PARAGRAPHS); split the document")
        if count % 256 == 0:
            clock.check(f"paragraph {count:,}")

    for block in document.element.body.iterchildren():
        if block.tag == p_tag:
            tick()
            text = block.text.strip()
            if not text:
                continue
            level = _heading_level(style_names.get(block.style or "", ""))
            lines.append(f"{'#' * level} {text}" if level else text)
        elif block.tag == tbl_tag:
            for row in block.iter(tr_tag):
                cells = []
                for cell in row.iterchildren(tc_tag):
                    tick()
                    cells.append("\n".join(p.text for p in cell.iter(p_tag)).strip())
                if any(cells):
                    lines.append(" | ".join(cells))
        lines.append("")
    return "\n".join(lines)


def _heading_level(style: str) -> int:
    if style == "Title":
        return 1
    match = re.match(r"(?:Heading|Overskrift)\s*(\d)", style)
    return min(int(match.group(1)), 6) if match else 0


# --- HTML ---------------------------------------------------------------------------------

_SKIP_TAGS = ["script", "style", "noscript", "nav", "template", "svg", "form", "button"]
_SKIP_CLASS = re.compile(r"(^|[-_ ])(toc|menu|breadcrumb|navbar|sidebar|cookie)", re.I)
_BLOCKS = {"p", "li", "td", "th", "dd", "dt", "pre", "blockquote", "article", "div", "section",
           "caption", "figcaption", "tr"}


def _load_html(html: str, doc: LoadedDocument) -> None:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(html, "html.parser")
    if soup.title and soup.title.string:
        doc.title = soup.title.string.strip()
    html_tag = soup.find("html")
    if html_tag and html_tag.get("lang"):
        lang = html_tag["lang"].lower()[:2]
        doc.language = {"no": "nb", "nn": "nb"}.get(lang, lang)
    for tag in soup.find_all(_SKIP_TAGS):
        tag.decompose()
    for tag in soup.find_all(True):
        if tag.decomposed:
            continue
        marks = " ".join(tag.get("class") or []) + " " + (tag.get("id") or "")
        if _SKIP_CLASS.search(marks) or (tag.name in {"header", "footer"} and not tag.find("h1")):
            tag.decompose()
    body = soup.body or soup
    _sections_from_markdown(_html_to_markdown(body), doc)


def _html_to_markdown(root) -> str:
    """Headings become `#` lines; each innermost text block becomes its own paragraph."""
    from bs4 import NavigableString, Tag

    out: list[str] = []
    buffer: list[str] = []
    prefix: list[str] = []  # a list marker waiting for its item's first text block

    def flush() -> None:
        text = re.sub(r"\s+", " ", "".join(buffer)).strip()
        if text:
            out.append(" ".join(prefix + [text]))
            prefix.clear()
        buffer.clear()

    def walk(node) -> None:
        for child in node.children:
            if isinstance(child, NavigableString):
                if child.__class__.__name__ in {"Comment", "Doctype", "Declaration"}:
                    continue
                buffer.append(str(child))
            elif isinstance(child, Tag):
                if re.fullmatch(r"h[1-6]", child.name):
                    flush()
                    text = re.sub(r"\s+", " ", child.get_text(" ")).strip()
                    text = re.sub(r"\s+([.,:;])", r"\1", text)
                    if text:
                        out.append(f"{'#' * int(child.name[1])} {text}")
                elif child.name == "br":
                    buffer.append(" ")
                elif child.name in _BLOCKS:
                    flush()
                    if child.name == "li":
                        prefix[:] = [child.get("data-name") or "-"]
                    walk(child)
                    flush()
                else:
                    walk(child)

    walk(root)
    flush()
    return "\n\n".join(out)
