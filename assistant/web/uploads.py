"""Uploaded files into the corpus folder: safe names, allowed types, size limit, atomic writes."""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Literal, NamedTuple

from assistant.ingest import metadata
from assistant.ingest.loaders import SUPPORTED
from assistant.ingest.metadata import DocumentMeta, Version, file_hash, same_content
from assistant.web.security import drop_upload_copy

# Why an upload was refused before it reached the corpus folder: a closed set the staff page
# words in its language (i18n `r_<code>`), with the values the sentence names.
RefusalCode = Literal["type", "size", "exists", "duplicate", "no_such", "version_type", "metadata_bad"]


class Refusal(NamedTuple):
    name: str
    status: Literal["failed", "skipped"]
    code: RefusalCode
    args: dict


_UNSAFE = re.compile(r"[^\w.\- ]+", re.UNICODE)


def safe_filename(name: str) -> str:
    """A plain file name: no folders, no hidden files, no odd characters."""
    name = unicodedata.normalize("NFC", Path(str(name).replace("\\", "/")).name)
    name = _UNSAFE.sub("_", name).strip(" ._")
    stem, dot, suffix = name.rpartition(".")
    if dot and stem and len(suffix) <= 10:
        # Shorten the stem, never the type: a cut must not turn "x.docx" into "x.do".
        return f"{stem[:120 - len(suffix) - 1].rstrip(' ._')}.{suffix}"
    return name[:120]


@dataclass(kw_only=True)
class UploadRequest:
    """What staff asked for beside the files: a new version of `version_of` (a source in the
    corpus folder), the record the form gives (one file only), and the inventory's titles
    (to name the document a duplicate repeats)."""

    version_of: str = ""
    meta: DocumentMeta | None = None
    titles: dict[str, str] = field(default_factory=dict)
    recorded: list[tuple[str, Version]] = field(default_factory=list)  # out: versions recorded


def save_uploads(paths: list[str], corpus: Path, replace: bool, max_mb: float,
                 request: UploadRequest | None = None) -> tuple[list[Path], list[Refusal]]:
    """Copy uploaded files into the corpus folder; return saved paths and rows for refused ones.
    Saved or refused, each upload's temporary copy in Gradio's cache is deleted now."""
    try:
        return _save_uploads(paths, corpus, replace, max_mb, request or UploadRequest())
    finally:
        for temp in paths or []:
            drop_upload_copy(Path(getattr(temp, "name", temp)))


def _save_uploads(paths: list[str], corpus: Path, replace: bool, max_mb: float,
                  request: UploadRequest) -> tuple[list[Path], list[Refusal]]:
    saved, refused = [], []
    corpus.mkdir(parents=True, exist_ok=True)
    files = [Path(getattr(temp, "name", temp)) for temp in paths or []]
    for temp in files:
        name = safe_filename(getattr(temp, "orig_name", None) or temp.name)
        suffix = Path(name).suffix.lower()
        if not name or suffix not in SUPPORTED:
            refused.append(Refusal(name or "?", "failed", "type", {"types": allowed_types()}))
            continue
        size = temp.stat().st_size
        if size > max_mb * 1024 * 1024:
            refused.append(Refusal(name, "failed", "size", {"mb": f"{max_mb:g}"}))
            continue
        target = corpus / name
        if request.version_of:
            target = (corpus / request.version_of).resolve()
            if corpus.resolve() not in target.parents or not target.is_file():
                refused.append(Refusal(name, "failed", "no_such", {"name": request.version_of}))
                continue
            if target.suffix.lower() != suffix:
                refused.append(Refusal(name, "failed", "version_type", {"name": request.version_of}))
                continue
        elif target.exists() and not replace:
            refused.append(Refusal(name, "skipped", "exists", {"name": name}))
            continue
        # The same content under any name is the same document: refused, naming it.
        digest = file_hash(temp)
        twin = same_content(corpus, digest, size)
        if twin is not None:
            source = twin.relative_to(corpus).as_posix()
            refused.append(Refusal(name, "skipped", "duplicate",
                                   {"title": request.titles.get(source) or source, "file": source}))
            continue
        record = request.meta if len(files) == 1 else None
        if target.exists():
            # A new version: same file name (its identity), its record kept unless the form
            # changed it, and the previous version's hash and date recorded.
            old = metadata.read(target)
            if record is not None and old is not None:
                # The form edits only its fields: the document's identity and reuse terms stay;
                # what describes the old text alone (its consolidation, a notice that it predates
                # a change) does not carry over to the new one.
                record.other = {k: v for k, v in old.other.items() if k in metadata.KEPT_FOR_NEW_VERSION}
            record = record or old
            if record is not None:
                previous = Version(content_hash=file_hash(target), date=_file_date(target),
                                   replaced_at=datetime.now().astimezone().isoformat(timespec="seconds"))
                record.versions = [*(old.versions if old else []), previous]
                request.recorded.append((request.version_of or name, previous))
        # Write beside the target, then rename: a crash never leaves half a file in the corpus.
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".upload-")
        with os.fdopen(fd, "wb") as out, open(temp, "rb") as src:
            shutil.copyfileobj(src, out)
        if record is not None:
            metadata.write(target, record)
        os.replace(tmp, target)
        saved.append(target)
    return saved, refused


def _file_date(path: Path) -> str:
    return datetime.fromtimestamp(path.stat().st_mtime).astimezone().date().isoformat()


def allowed_types() -> str:
    """The file types an upload may have, as staff read them: ".docx, .htm, ..."."""
    return ", ".join(sorted(SUPPORTED))
