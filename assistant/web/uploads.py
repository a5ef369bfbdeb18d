"""Uploaded files into the corpus folder: safe names, allowed types, size limit, atomic writes."""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import unicodedata
from pathlib import Path
from typing import Literal, NamedTuple

from assistant.ingest.loaders import SUPPORTED
from assistant.web.security import drop_upload_copy

# Why an upload was refused before it reached the corpus folder: a closed set the staff page
# words in its language (i18n `r_<code>`), with the values the sentence names.
RefusalCode = Literal["type", "size", "exists", "duplicate"]


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


def save_uploads(paths: list[str], corpus: Path, replace: bool, max_mb: float) -> tuple[list[Path], list[Refusal]]:
    """Copy uploaded files into the corpus folder; return saved paths and rows for refused ones.
    Saved or refused, each upload's temporary copy in Gradio's cache is deleted now."""
    try:
        return _save_uploads(paths, corpus, replace, max_mb)
    finally:
        for temp in paths or []:
            drop_upload_copy(Path(getattr(temp, "name", temp)))


def _save_uploads(paths: list[str], corpus: Path, replace: bool, max_mb: float) -> tuple[list[Path], list[Refusal]]:
    saved, refused = [], []
    corpus.mkdir(parents=True, exist_ok=True)
    for temp in paths or []:
        temp = Path(getattr(temp, "name", temp))
        name = safe_filename(getattr(temp, "orig_name", None) or temp.name)
        suffix = Path(name).suffix.lower()
        if not name or suffix not in SUPPORTED:
            refused.append(Refusal(name or "?", "failed", "type", {"types": allowed_types()}))
            continue
        if temp.stat().st_size > max_mb * 1024 * 1024:
            refused.append(Refusal(name, "failed", "size", {"mb": f"{max_mb:g}"}))
            continue
        target = corpus / name
        if target.exists() and not replace:
            refused.append(Refusal(name, "skipped", "exists", {"name": name}))
            continue
        # Write beside the target, then rename: a crash never leaves half a file in the corpus.
        fd, tmp = tempfile.mkstemp(dir=corpus, prefix=".upload-")
        with os.fdopen(fd, "wb") as out, open(temp, "rb") as src:
            shutil.copyfileobj(src, out)
        os.replace(tmp, target)
        saved.append(target)
    return saved, refused



def allowed_types() -> str:
    """The file types an upload may have, as staff read them: ".docx, .htm, ..."."""
    return ", ".join(sorted(SUPPORTED))
