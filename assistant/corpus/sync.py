"""Sync files into the store: files -> sections -> chunks -> embeddings -> Chroma.

The files are the source of truth. A file whose content hash is unchanged is skipped
without being read again (so a start-up costs a hash per file, not a parse); so is a file
that failed to load with the same content and the same limits (`FailureMemory`: a bad file
reports its reason again instead of costing its parse time on every start); a changed one has its chunks replaced; a file that belongs to a folder (every document
has an origin folder: uploads and single files too) and is gone from it has its chunks
removed when that folder is synced. A document whose stored chunks differ from its record
(`Store.audit()`) is written again from its file.

This module does not lock: `reconcile()` expects the caller to hold the writer lock, and
`assistant.corpus.service.Corpus` is the one owner of that lock (`corpus.sync()` is the shorthand for
it). Progress and results are reported through callbacks so the CLI and the web app can
each show them in their own way.
"""

from __future__ import annotations

import errno
import json
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

from assistant.config import Settings
from assistant.ingest.chunking import CHUNKER_VERSION, chunk_document, list_items
from assistant.ingest.loaders import (
    LoadError,
    LoadLimits,
    is_folder_note,
    is_sidecar,
    load_file,
    source_name,
)
from assistant.store.chroma import DocumentRecord, Store, StoreError, now_iso
from assistant.store.embeddings import EmbeddingUnavailable

# A file's outcome, as the CLI and the staff page's tables show it ("skipped": a staff-page
# request that was not carried out, e.g. an upload that would overwrite without "replace").
Status = Literal["added", "updated", "unchanged", "removed", "failed", "skipped"]
Action = Literal["add", "update", "unchanged", "remove", "refuse"]


@dataclass(kw_only=True)
class FileResult:
    source: str
    status: Status
    chunks: int = 0
    reason: str = ""
    warnings: list[str] = field(default_factory=list)
    load_error: bool = False  # the loader refused the file itself (remembered: see FailureMemory)


@dataclass(kw_only=True)
class SyncReport:
    results: list[FileResult] = field(default_factory=list)
    repaired: list[str] = field(default_factory=list)

    def count(self, status: Status) -> int:
        return sum(r.status == status for r in self.results)

    @property
    def failed(self) -> list[FileResult]:
        return [r for r in self.results if r.status == "failed"]

    @property
    def changed(self) -> bool:
        return any(r.status in {"added", "updated", "removed"} for r in self.results)


class EmbeddingDown(EmbeddingUnavailable):
    """The embedding endpoint failed while a file was written; that file was rolled back,
    so the store is as it was before it, and the sync stopped (every other file would fail
    the same way). `report` holds the files finished before; `source` the one that failed."""

    def __init__(self, message: str, report: SyncReport, source: str):
        super().__init__(message)
        self.report = report
        self.source = source


@dataclass(kw_only=True)
class PlannedFile:
    path: Path | None
    source: str
    origin: str
    action: Action
    content_hash: str = ""
    chunks: int = 0  # stored chunks of the current version, if any
    reason: str = ""  # why a "refuse" entry is not synced, or what an "update" repairs


@dataclass(kw_only=True)
class Progress:
    """Callbacks for long work; every one is optional."""

    on_plan: Callable[[list[PlannedFile]], None] | None = None
    on_file: Callable[[PlannedFile, int, int], None] | None = None
    on_chunks: Callable[[str, int, int], None] | None = None
    on_result: Callable[[FileResult], None] | None = None


@dataclass(kw_only=True)
class Refused:
    """A corpus entry that is not synced, with a reason a person can act on."""

    path: Path
    source: str
    reason: str


NOT_UTF8 = "file name is not valid UTF-8: rename it"
NOT_UTF8_FOLDER = "folder name is not valid UTF-8: rename it (its files were skipped)"
NOT_UTF8_PATH = "a folder in the file's path is not valid UTF-8: rename it"
OUTSIDE = "link points outside the corpus folder: refused"
OUTSIDE_SYNCED = "link points outside the synced folder: refused"
LOOP = "link loop: the link points (through other links) back to itself; remove or fix it"
FOLDER_LOOP = "folder link points to a folder that contains it (a loop): skipped"
BROKEN = "broken link: the file it points to does not exist"


def printable(name: str) -> str:
    """A file name that can be shown and stored: undecodable bytes become U+FFFD."""
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _valid_utf8(name: str) -> bool:
    try:
        name.encode("utf-8")
        return True
    except UnicodeEncodeError:
        return False


def _real(path: Path) -> tuple[Path | None, str]:
    """(resolved path, "") or (None, reason) for a link that loops or dangles."""
    try:
        return Path(os.path.realpath(path, strict=True)), ""
    except RuntimeError:
        return None, LOOP
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return None, LOOP
        if exc.errno == errno.ENOENT:
            return None, BROKEN
        return None, f"cannot follow link: {exc.strerror or exc}"


def discover(
    paths: Iterable[Path], corpus_dir: Path, refused: list[Refused] | None = None
) -> list[tuple[Path, str, str]]:
    """(file, source, origin) for every file under the given files and folders.

    Hidden files and folders (".git", "~$lock" files from Office) are skipped, and so are
    sidecar records (`x.txt.meta.yaml`: part of the document beside them, see loaders) and
    the corpus folder's own SOURCES.md / README.md at its top (`loaders.FOLDER_NOTES`). Entries
    that cannot be synced safely are left out and, when `refused` is given, appended to it
    with a reason: names that are not valid UTF-8, links that loop or dangle, links that
    point outside the folder being synced (the corpus folder). Links inside it are followed;
    a file reached twice (through a link) is listed once.
    """
    found: list[tuple[Path, str, str]] = []
    problems = refused if refused is not None else []
    corpus = corpus_dir.resolve()
    seen_files: set[Path] = set()
    visited: set[Path] = set()
    for path in paths:
        path = Path(path)
        if path.is_dir():
            root = path.resolve()
            base = corpus if _inside(root, corpus) else root
            visited.add(root)
            _walk(root, root, base, corpus, str(root), found, problems, seen_files, {root}, visited)
        elif path.is_file():
            if is_sidecar(path.name) or (is_folder_note(path.name) and path.parent.resolve() == corpus):
                continue  # a sidecar is synced with its document; the corpus's SOURCES.md never
            location = path.parent.resolve() / path.name  # where the entry itself lives
            if not _valid_utf8(path.name):
                problems.append(Refused(path=path, source=printable(path.name), reason=NOT_UTF8))
                continue
            real = path.resolve()
            if _inside(location, corpus) and not _inside(real, corpus):
                problems.append(Refused(path=path, source=source_name(location, corpus), reason=OUTSIDE))
                continue
            if real in seen_files:
                continue
            seen_files.add(real)
            base = corpus if _inside(real, corpus) else None
            # A single file belongs to the corpus folder when it lies in it (uploads do), else
            # to its own folder: a later sync of that folder removes it once it is gone.
            origin = str(corpus) if base else str(location.parent)
            _add(found, problems, path, source_name(path, base), origin)
        elif os.path.islink(path):  # a link that loops or points nowhere
            _, reason = _real(path)
            problems.append(Refused(path=path, source=printable(path.name), reason=reason or BROKEN))
        else:
            raise FileNotFoundError(f"no such file or folder: {path}")
    return found


def _walk(
    folder: Path,
    real_folder: Path,
    base: Path,
    corpus: Path,
    origin: str,
    found: list,
    problems: list[Refused],
    seen_files: set[Path],
    ancestors: set[Path],
    visited: set[Path],
) -> None:
    """Walk `folder` (whose resolved path is `real_folder`) depth first, in name order."""

    def shown(entry: Path) -> str:
        try:
            return printable(entry.relative_to(base).as_posix())
        except ValueError:
            return printable(entry.name)

    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError as exc:
        problems.append(Refused(path=folder, source=shown(folder) + "/",
                                reason=f"folder cannot be read: {exc.strerror or exc}"))
        return
    for entry in entries:
        name = entry.name
        if name.startswith((".", "~$")) or is_sidecar(name) or (is_folder_note(name) and real_folder == corpus):
            continue
        path = Path(entry.path)
        try:
            is_link = entry.is_symlink()
        except OSError as exc:
            problems.append(Refused(path=path, source=shown(path), reason=f"cannot read: {exc.strerror or exc}"))
            continue
        if not _valid_utf8(name):
            try:
                is_dir = entry.is_dir()
            except OSError:
                is_dir = False
            problems.append(Refused(path=path, source=shown(path) + ("/" if is_dir else ""),
                                    reason=NOT_UTF8_FOLDER if is_dir else NOT_UTF8))
            continue
        if is_link:
            real, reason = _real(path)
            if real is None:
                problems.append(Refused(path=path, source=shown(path), reason=reason))
                continue
            if not _inside(real, base):
                problems.append(Refused(path=path, source=shown(path),
                                        reason=OUTSIDE if base == corpus else OUTSIDE_SYNCED))
                continue
            is_dir, is_file = real.is_dir(), real.is_file()
        else:
            real = real_folder / name
            try:
                is_dir, is_file = entry.is_dir(follow_symlinks=False), entry.is_file(follow_symlinks=False)
            except OSError as exc:
                problems.append(Refused(path=path, source=shown(path), reason=f"cannot read: {exc.strerror or exc}"))
                continue
        if is_dir:
            if real in ancestors:
                problems.append(Refused(path=path, source=shown(path) + "/", reason=FOLDER_LOOP))
                continue
            if real in visited:  # reached before through a link: its files are listed already
                continue
            visited.add(real)
            _walk(path, real, base, corpus, origin, found, problems, seen_files, ancestors | {real}, visited)
        elif is_file:
            if real in seen_files:
                continue
            seen_files.add(real)
            _add(found, problems, path, source_name(path, base), origin)


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.relative_to(folder)
        return True
    except ValueError:
        return False


def _add(found: list, problems: list[Refused], path: Path, source: str, origin: str) -> None:
    if _valid_utf8(source):
        found.append((path, source, origin))
    else:  # e.g. a folder on the way has an undecodable name
        problems.append(Refused(path=path, source=printable(source), reason=NOT_UTF8_PATH))


class FailureMemory:
    """Files that failed to load, by content hash and loader limits (`failed-files.json` in
    the data folder, derived and safe to delete). Only `LoadError`s are remembered: those
    are about the file; an unexpected loader exception is retried on every sync."""

    FILE = "failed-files.json"

    def __init__(self, data_dir: Path, limits: LoadLimits):
        self.path = Path(data_dir) / self.FILE
        self.limits = repr(limits)
        try:
            self.entries: dict[str, dict] = json.loads(self.path.read_text(encoding="utf-8"))
            if not isinstance(self.entries, dict):
                self.entries = {}
        except (OSError, ValueError):
            self.entries = {}
        self.changed = False

    def known(self, item: PlannedFile) -> str:
        entry = self.entries.get(item.source) or {}
        if item.content_hash and entry.get("hash") == item.content_hash and entry.get("limits") == self.limits:
            return str(entry.get("reason", ""))
        return ""

    def note(self, item: PlannedFile, result: FileResult, load_error: bool) -> None:
        if load_error and item.content_hash:
            self.entries[item.source] = {"hash": item.content_hash, "limits": self.limits, "reason": result.reason}
            self.changed = True
        elif result.status != "failed" and self.entries.pop(item.source, None) is not None:
            self.changed = True

    def save(self) -> None:
        if not self.changed:
            return
        tmp = self.path.with_suffix(".tmp")
        try:
            tmp.write_text(json.dumps(self.entries, ensure_ascii=False, indent=0), encoding="utf-8")
            os.replace(tmp, self.path)
        except OSError:
            pass  # only a cache: the next start reads those files again


def plan(
    store: Store, paths: Iterable[Path], corpus_dir: Path, mismatched: dict[str, int] | None = None,
    tampered: dict[str, int] | None = None,
) -> list[PlannedFile]:
    """What a sync of `paths` would do; `mismatched` (source -> chunks stored) and `tampered`
    (source -> chunks whose seal fails) are re-written."""
    from assistant.ingest.loaders import document_hash

    paths = list(paths)
    mismatched = mismatched or {}
    records = store.documents()
    planned: list[PlannedFile] = []
    seen: set[str] = set()
    refused: list[Refused] = []
    for file, source, origin in discover(paths, corpus_dir, refused):
        seen.add(source)
        try:
            digest = document_hash(file)  # the file and its sidecar record, if any
        except OSError:
            digest = ""
        record = records.get(source)
        reason = ""
        if record is None or not record.content_hash:
            action = "add"
        elif source in (tampered or {}):
            action = "update"
            reason = (f"re-ingested: {tampered[source]} of {record.chunks} stored chunks no longer "
                      "match the document (changed in the store)")
        elif source in mismatched:
            action = "update"
            reason = f"repaired: {mismatched[source]} of {record.chunks} chunks were stored"
        elif record.content_hash == digest and not record.pending:
            if record.chunker == CHUNKER_VERSION:
                action = "unchanged"
            else:
                action = "update"
                reason = "re-chunked: indexed by an earlier version of the assistant"
        else:
            action = "update"
        chunks = record.chunks if record else 0
        planned.append(PlannedFile(path=file, source=source, origin=origin, action=action,
                                   content_hash=digest, chunks=chunks, reason=reason))
    for item in refused:
        # Not added to `seen`: whatever was stored under a refused name (say, the target
        # of a link that now points outside the corpus) is removed below.
        planned.append(PlannedFile(path=item.path, source=item.source, origin="", action="refuse",
                                   reason=item.reason))
    synced_folders = {str(Path(p).resolve()) for p in paths if Path(p).is_dir()}
    corpus = str(Path(corpus_dir).resolve())
    for source, record in sorted(records.items()):
        # Records written before every document had an origin belong to the corpus folder.
        origin = record.origin or corpus
        if source not in seen and origin in synced_folders:
            planned.append(PlannedFile(path=None, source=source, origin=origin, action="remove"))
    return planned


# A sync that would remove more than half of the stored documents (and at least this many) is
# refused unless confirmed: an unmounted share or an emptied folder looks exactly like "every
# document was deleted". Removing one or two documents is an ordinary edit and needs no question.
MIN_GUARDED_REMOVALS = 3


def guard_removals(planned: list[PlannedFile], stored: int, confirmed: bool) -> list[PlannedFile]:
    """The plan with its removals turned into refusals when they are most of the corpus."""
    removals = [p for p in planned if p.action == "remove"]
    if confirmed or len(removals) < MIN_GUARDED_REMOVALS or len(removals) * 2 <= stored:
        return planned
    reason = (f"not removed: this sync would remove {len(removals)} of {stored} documents (is the corpus "
              "folder mounted?); run it again with --confirm-remove (or confirm on the staff page)")
    return [replace(p, action="refuse", reason=reason) if p.action == "remove" else p for p in planned]


def reconcile(
    store: Store, settings: Settings, paths: Iterable[Path] | None = None, progress: Progress | None = None,
    *, confirm_remove: bool = False,
) -> SyncReport:
    """Bring the store in line with the files; never stops at a bad file.

    The caller holds the writer lock (`assistant.corpus.service.Corpus` does).
    """
    paths = list(paths) if paths else [settings.corpus_dir]
    progress = progress or Progress()
    report = SyncReport(repaired=store.repair())
    audit = store.audit()
    store.drop_chunks(audit.orphan_ids)
    # A chunk changed in the store (anyone who reaches a Chroma server can write) is not
    # "unchanged" because its file is: its document is written afresh.
    tampered = store.tampered()
    planned = plan(store, paths, settings.corpus_dir, audit.mismatched, tampered)
    planned = guard_removals(planned, len(store.documents()), confirm_remove)
    failures = FailureMemory(Path(settings.data_dir), LoadLimits.from_settings(settings))
    if progress.on_plan:
        progress.on_plan(planned)
    for index, item in enumerate(planned, start=1):
        if progress.on_file:
            progress.on_file(item, index, len(planned))
        if item.action == "update" and (item.source in audit.mismatched or item.source in tampered):
            # broken or tampered: start it afresh
            store.remove_document(item.source)
        known = failures.known(item) if item.action in {"add", "update"} else ""
        if known:
            result = FileResult(source=item.source, status="failed",
                                reason=f"{known} (unchanged since it failed; not read again)")
        else:
            try:
                result = _apply(store, settings, item, progress)
            except EmbeddingUnavailable as exc:
                store.repair()  # roll this file back: its pending record and any chunks go
                failures.save()
                raise EmbeddingDown(str(exc), report, item.source) from exc
            failures.note(item, result, load_error=result.load_error)
        report.results.append(result)
        if progress.on_result:
            progress.on_result(result)
    failures.save()
    return report


def _apply(store: Store, settings: Settings, item: PlannedFile, progress: Progress) -> FileResult:
    if item.action == "refuse":
        return FileResult(source=item.source, status="failed", reason=item.reason)
    if item.action == "remove":
        store.remove_document(item.source)
        return FileResult(source=item.source, status="removed")
    if item.action == "unchanged":
        return FileResult(source=item.source, status="unchanged", chunks=item.chunks)
    try:
        doc = load_file(item.path, None, limits=LoadLimits.from_settings(settings))
    except LoadError as exc:
        return FileResult(source=item.source, status="failed", reason=str(exc), load_error=True)
    except Exception as exc:  # a loader bug must not stop the other files
        return FileResult(source=item.source, status="failed",
                          reason=f"could not read: {type(exc).__name__}: {exc}")
    doc.source = item.source
    try:
        chunks = chunk_document(doc)
    except Exception as exc:  # a chunking bug must not stop the other files
        return FileResult(source=item.source, status="failed",
                          reason=f"could not split into chunks: {type(exc).__name__}: {exc}")
    if not chunks:
        return FileResult(source=item.source, status="failed", reason="no text to index")
    record = DocumentRecord(
        source=item.source,
        title=doc.title,
        language=doc.language,
        content_hash=doc.content_hash,
        chunks=len(chunks),
        ingested_at=now_iso(),
        origin=item.origin,
        jurisdiction=doc.jurisdiction,
        updated=doc.updated,
        kind=doc.kind,
        as_of=doc.as_of,
        review_by=doc.review_by,
        sources=list_items(doc.sources),
        topics=list_items(doc.topics),
        chunker=CHUNKER_VERSION,
    )

    def on_progress(done: int, total: int) -> None:
        if progress.on_chunks:
            progress.on_chunks(item.source, done, total)

    try:
        store.write_document(record, chunks, on_progress)
    except StoreError:
        raise  # the store itself is unusable: every other file would fail the same way
    except (UnicodeError, ValueError, TypeError) as exc:  # this document's data, not the store
        return FileResult(source=item.source, status="failed",
                          reason=f"could not store: {type(exc).__name__}: {exc}")
    status: Status = "added" if item.action == "add" else "updated"
    return FileResult(source=item.source, status=status, chunks=len(chunks), reason=item.reason,
                      warnings=doc.warnings)
