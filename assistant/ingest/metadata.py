"""A document's sidecar record as staff set it: the staff page's upload form and the
`assistant meta` command both read, check and write it here (the one writer; the loader,
`assistant/ingest/loaders.py`, is the one reader for ingestion and owns the record's rules).

The corpus folder stays the source of truth: the record is `<file>.meta.yaml` beside the
document (format: the docstring of `loaders.py`: title, kind, jurisdiction, language, as_of,
review_by, url, consolidation, ...), so a re-sync or a rebuild keeps it. Keys this module does
not edit (a statute's `act`, `notice`, `attribution`, `license`) are kept as they were. A new
version of a document keeps its file name (its identity) and its record, and the record gains
one `versions` entry per replaced version: the previous file's SHA-256 and date, and when it
was replaced.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

import yaml

from assistant.ingest.loaders import (
    JURISDICTIONS as JURISDICTIONS,  # the form's choices (re-exported for the staff page)
)
from assistant.ingest.loaders import (
    NOTICE_LANGUAGES,
    SOURCE_KINDS,
    SUPPORTED,
    record_problems,
    sidecar_path,
)
from assistant.text.lexicon import LANGUAGE_JURISDICTION

KINDS = SOURCE_KINDS  # law / guidance / an internal rule of the authority
LANGUAGES = NOTICE_LANGUAGES
# Without a review date staff set, a document is due for a check a year after its date: the
# procurement rules and thresholds change at most yearly (EU thresholds every two years).
DEFAULT_REVIEW_DAYS = 365
MAX_VERSIONS = 50  # entries kept in a record: enough history for years of yearly updates
# Keys a new version keeps from the record it replaces, beside the ones the form gives: the
# document's identity (which act) and its reuse terms. A notice says the old text predates a
# change, and a consolidation names the old text: neither is true of a new version.
KEPT_FOR_NEW_VERSION = ("act", "attribution", "license")
# The keys staff edit (form fields and `assistant meta` options), in the order they are written.
EDITABLE = ("title", "kind", "jurisdiction", "language", "consolidation", "as_of", "review_by", "url")


@dataclass(kw_only=True)
class Version:
    content_hash: str  # SHA-256 of the replaced file
    date: str  # the replaced version's date (ISO)
    replaced_at: str  # when the new version replaced it (ISO, local time with offset)


@dataclass(kw_only=True)
class DocumentMeta:
    title: str = ""
    kind: str = "guidance"
    jurisdiction: str = ""
    language: str = ""
    consolidation: str = ""  # which consolidated text (a statute): "LBK nr. 116 af 3. februar 2025"
    as_of: str = ""
    review_by: str = ""
    url: str = ""
    versions: list[Version] = field(default_factory=list)
    # Keys of the record this module does not edit (act, notice, attribution, license), kept.
    other: dict = field(default_factory=dict)

    def problems(self) -> list[str]:
        """What keeps the record from being valid, as codes (`loaders.PROBLEM_REASONS` words them
        in English, the staff page in its language)."""
        return record_problems({**self.other, **{k: getattr(self, k) for k in EDITABLE}})


def file_hash(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read(path: Path) -> DocumentMeta | None:
    """The record beside `path` as the form shows it, or None (none, or not readable)."""
    data = _raw(path)
    if data is None:
        return None
    versions = [Version(content_hash=str(v.get("content_hash") or ""), date=str(v.get("date") or ""),
                        replaced_at=str(v.get("replaced_at") or ""))
                for v in data.get("versions") or [] if isinstance(v, dict)]
    jurisdiction = "NO" if data.get("jurisdiction") is False else str(data.get("jurisdiction") or "").upper()
    other = {k: v for k, v in data.items() if k not in EDITABLE and k != "versions"}
    return DocumentMeta(title=str(data.get("title") or ""), kind=str(data.get("kind") or "guidance"),
                        jurisdiction=jurisdiction, language=str(data.get("language") or ""),
                        consolidation=str(data.get("consolidation") or ""),
                        as_of=str(data.get("as_of") or ""), review_by=str(data.get("review_by") or ""),
                        url=str(data.get("url") or ""), versions=versions, other=other)


def _raw(path: Path) -> dict | None:
    meta_path = sidecar_path(path)
    try:
        data = yaml.safe_load(meta_path.read_text(encoding="utf-8")) if meta_path.is_file() else None
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return None
    return data if isinstance(data, dict) else None


def write(path: Path, meta: DocumentMeta) -> Path:
    """Write the record beside `path` (atomically: a crash leaves the old record or the new).
    The keys it does not edit (`meta.other`) are written back as they were."""
    record = {k: getattr(meta, k) for k in EDITABLE if getattr(meta, k)}
    record.update({k: v for k, v in meta.other.items() if k not in record})
    if meta.versions:
        record["versions"] = [asdict(v) for v in meta.versions[-MAX_VERSIONS:]]
    text = ("# Sidecar record written by the staff page or `assistant meta` (assistant/ingest/metadata.py).\n"
            + yaml.safe_dump(record, sort_keys=False, allow_unicode=True))
    target = sidecar_path(path)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".meta-")
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)
    os.replace(tmp, target)
    return target


class RecordUnreadable(ValueError):
    """A sidecar record that is there but is not a YAML mapping: fixed by hand, never overwritten."""


def amend(path: Path, changes: dict[str, str], *, today: dt.date, max_mb: float) -> tuple[DocumentMeta, bool]:
    """The record of `path` with `changes` applied (EDITABLE keys; "" clears an optional one),
    and whether it had none, so the other keys were proposed from the file (`prefill`). Not
    written: the caller checks `problems()` first and writes under the corpus writer lock."""
    meta = read(path)
    if meta is None and sidecar_path(path).exists():
        raise RecordUnreadable(f"its record {sidecar_path(path).name} is not a readable YAML mapping; "
                               "fix or remove it first")
    proposed = meta is None
    meta = meta or prefill(path, path.name, today, max_mb)
    for key, value in changes.items():
        if key not in EDITABLE:
            raise KeyError(key)
        value = " ".join(str(value).split())
        if key in ("kind", "language"):
            value = value.lower()
        elif key == "jurisdiction":
            value = value.upper()
        setattr(meta, key, value)
    return meta, proposed


def prefill(path: Path, name: str, today: dt.date, max_mb: float) -> DocumentMeta:
    """A record proposed from the file itself: its title (PDF/DOCX properties, else its first
    heading, as the loader reads it), detected language and jurisdiction, its own date."""
    from assistant.ingest.loaders import LoadError, iso_date, load_file

    meta, stated, review = DocumentMeta(), "", ""
    try:
        doc = load_file(path, None, max_mb)
        meta.title, meta.language, meta.jurisdiction = doc.title, doc.language, doc.jurisdiction
        meta.kind = doc.source_kind or meta.kind
        stated, review = iso_date(doc.as_of), iso_date(doc.review_by)  # a note's front matter
    except (LoadError, OSError, ValueError):
        pass
    own_title, own_date = _properties(path, name)
    meta.title = own_title or meta.title or Path(name).stem.replace("_", " ").replace("-", " ")
    meta.language = meta.language if meta.language in LANGUAGES else "da"
    meta.jurisdiction = meta.jurisdiction or LANGUAGE_JURISDICTION.get(meta.language, "EU")
    as_of = dt.date.fromisoformat(stated) if stated else own_date or today
    meta.as_of = as_of.isoformat()
    meta.review_by = review or (max(as_of, today) + dt.timedelta(days=DEFAULT_REVIEW_DAYS)).isoformat()
    return meta


def _properties(path: Path, name: str) -> tuple[str, dt.date | None]:
    """A PDF's or DOCX's own title and date (its document properties), when it has them."""
    suffix = Path(name).suffix.lower()
    try:
        if suffix == ".docx":
            import docx

            props = docx.Document(str(path)).core_properties
            when = props.modified or props.created
            return (props.title or "").strip(), when.date() if when else None
        if suffix == ".pdf":
            from pypdf import PdfReader

            info = PdfReader(str(path)).metadata
            if info is None:
                return "", None
            when = info.modification_date or info.creation_date
            return str(info.title or "").strip(), when.date() if when else None
    except Exception:  # noqa: BLE001 - a damaged property block only loses the proposal
        return "", None
    return "", None


def same_content(corpus: Path, digest: str, size: int, *, skip: Path | None = None) -> Path | None:
    """A document in the corpus folder whose file has exactly this content, or None."""
    for path in corpus.rglob("*"):
        if (path.suffix.lower() not in SUPPORTED or not path.is_file() or path == skip
                or any(part.startswith(".") for part in path.relative_to(corpus).parts)):
            continue
        try:
            if path.stat().st_size == size and file_hash(path) == digest:
                return path
        except OSError:
            continue
    return None
