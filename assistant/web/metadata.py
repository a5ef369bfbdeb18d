"""A document's metadata as staff set it on upload: the sidecar record beside the file.

The corpus folder stays the source of truth: what the upload form says is written to
`<file>.meta.yaml` beside the document (the format is the loader's, see the docstring of
`assistant/ingest/loaders.py`: title, kind, jurisdiction, language, as_of, review_by, url),
so a re-sync or a rebuild keeps it. A new version of a document keeps its file name (its
identity) and its record, and the record gains one `versions` entry per replaced version:
the previous file's SHA-256 and date, and when it was replaced.

This module writes records and reads them back for the staff page (form, inventory); the
loader is the one reader for ingestion.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal, get_args

import yaml

from assistant.ingest.loaders import SUPPORTED
from assistant.text.lexicon import LANGUAGE_JURISDICTION

SIDECAR_SUFFIX = ".meta.yaml"  # the loader's name for it (`loaders.SIDECAR_SUFFIX` on the statutes branch)
Kind = Literal["law", "guidance", "internal"]  # law / guidance / an internal rule of the authority
KINDS: tuple[str, ...] = get_args(Kind)
LANGUAGES = ("da", "nb", "en")
JURISDICTIONS = ("DK", "NO", "EU")
# Without a review date staff set, a document is due for a check a year after its date: the
# procurement rules and thresholds change at most yearly (EU thresholds every two years).
DEFAULT_REVIEW_DAYS = 365
MAX_VERSIONS = 50  # entries kept in a record: enough history for years of yearly updates


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
    as_of: str = ""
    review_by: str = ""
    url: str = ""
    versions: list[Version] = field(default_factory=list)

    def problems(self) -> list[str]:
        """What keeps the record from being valid, as (key, value) codes for the page's text."""
        out = []
        if not self.title.strip():
            out.append("title")
        if self.kind not in KINDS:
            out.append("kind")
        if self.jurisdiction not in JURISDICTIONS:
            out.append("jurisdiction")
        if self.language not in LANGUAGES:
            out.append("language")
        for key in ("as_of", "review_by"):
            value = getattr(self, key)
            if key == "as_of" or value:
                try:
                    dt.date.fromisoformat(value)
                except ValueError:
                    out.append(key)
        if self.url and not (self.url.startswith("https://") and " " not in self.url):
            out.append("url")
        return out


def sidecar_path(path: Path) -> Path:
    return path.with_name(path.name + SIDECAR_SUFFIX)


def file_hash(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read(path: Path) -> DocumentMeta | None:
    """The record beside `path` as the form shows it, or None (none, or not readable)."""
    meta_path = sidecar_path(path)
    try:
        data = yaml.safe_load(meta_path.read_text(encoding="utf-8")) if meta_path.is_file() else None
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return None
    if not isinstance(data, dict):
        return None
    versions = [Version(content_hash=str(v.get("content_hash") or ""), date=str(v.get("date") or ""),
                        replaced_at=str(v.get("replaced_at") or ""))
                for v in data.get("versions") or [] if isinstance(v, dict)]
    jurisdiction = "NO" if data.get("jurisdiction") is False else str(data.get("jurisdiction") or "").upper()
    return DocumentMeta(title=str(data.get("title") or ""), kind=str(data.get("kind") or "guidance"),
                        jurisdiction=jurisdiction, language=str(data.get("language") or ""),
                        as_of=str(data.get("as_of") or ""), review_by=str(data.get("review_by") or ""),
                        url=str(data.get("url") or ""), versions=versions)


def write(path: Path, meta: DocumentMeta) -> Path:
    """Write the record beside `path` (atomically: a crash leaves the old record or the new)."""
    record = {k: v for k, v in asdict(meta).items() if k != "versions" and v}
    record["versions"] = [asdict(v) for v in meta.versions[-MAX_VERSIONS:]]
    if not record["versions"]:
        del record["versions"]
    text = ("# Sidecar record written by the staff upload form (assistant/web/metadata.py).\n"
            + yaml.safe_dump(record, sort_keys=False, allow_unicode=True))
    target = sidecar_path(path)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".meta-")
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)
    os.replace(tmp, target)
    return target


def prefill(path: Path, name: str, today: dt.date, max_mb: float) -> DocumentMeta:
    """A record proposed from the file itself: its title (PDF/DOCX properties, else its first
    heading, as the loader reads it), detected language and jurisdiction, its own date."""
    from assistant.ingest.loaders import LoadError, load_file

    meta = DocumentMeta()
    try:
        doc = load_file(path, None, max_mb)
        meta.title, meta.language, meta.jurisdiction = doc.title, doc.language, doc.jurisdiction
    except (LoadError, OSError, ValueError):
        pass
    own_title, own_date = _properties(path, name)
    meta.title = own_title or meta.title or Path(name).stem.replace("_", " ").replace("-", " ")
    meta.language = meta.language if meta.language in LANGUAGES else "da"
    meta.jurisdiction = meta.jurisdiction or LANGUAGE_JURISDICTION.get(meta.language, "EU")
    as_of = own_date or today
    meta.as_of = as_of.isoformat()
    meta.review_by = (max(as_of, today) + dt.timedelta(days=DEFAULT_REVIEW_DAYS)).isoformat()
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
