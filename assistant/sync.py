"""Sync files into the store: files -> sections -> chunks -> embeddings -> Chroma.

The files are the source of truth. A file whose content hash is unchanged is skipped
without embedding; a changed one has its chunks replaced; a file that was synced from a
folder and is gone from it has its chunks removed. One writer at a time (a lock file in
the data folder). Progress and results are reported through a callback so the CLI and
the web app can each show them in their own way.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from filelock import FileLock, Timeout

from .chunking import chunk_document
from .config import Settings
from .loaders import LoadError, load_file, source_name
from .store import DocumentRecord, Store, now_iso


class SyncBusy(Exception):
    """Another ingest holds the lock."""


@dataclass
class FileResult:
    source: str
    status: str  # added | updated | unchanged | removed | failed
    chunks: int = 0
    reason: str = ""
    warnings: list[str] = field(default_factory=list)


@dataclass
class SyncReport:
    results: list[FileResult] = field(default_factory=list)
    repaired: list[str] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(r.status == status for r in self.results)

    @property
    def failed(self) -> list[FileResult]:
        return [r for r in self.results if r.status == "failed"]

    @property
    def changed(self) -> bool:
        return any(r.status in {"added", "updated", "removed"} for r in self.results)


@dataclass
class PlannedFile:
    path: Path | None
    source: str
    origin: str
    action: str  # add | update | unchanged | remove
    content_hash: str = ""
    chunks: int = 0  # stored chunks of the current version, if any


@dataclass
class Progress:
    """Callbacks for long work; every one is optional."""

    on_plan: Callable[[list[PlannedFile]], None] | None = None
    on_file: Callable[[PlannedFile, int, int], None] | None = None
    on_chunks: Callable[[str, int, int], None] | None = None
    on_result: Callable[[FileResult], None] | None = None


def discover(paths: Iterable[Path], corpus_dir: Path) -> list[tuple[Path, str, str]]:
    """(file, source, origin) for every file under the given files and folders.

    Hidden files and folders (".git", "~$lock" files from Office) are skipped.
    """
    found = []
    corpus = corpus_dir.resolve()
    for path in paths:
        path = Path(path)
        if path.is_dir():
            root = path.resolve()
            base = corpus if _inside(root, corpus) else root
            for dirpath, dirnames, filenames in os.walk(root):
                dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
                for name in sorted(filenames):
                    if name.startswith((".", "~$")):
                        continue
                    file = Path(dirpath) / name
                    found.append((file, source_name(file, base), str(root)))
        elif path.is_file():
            base = corpus if _inside(path.resolve(), corpus) else None
            found.append((path, source_name(path, base), ""))
        else:
            raise FileNotFoundError(f"no such file or folder: {path}")
    return found


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.relative_to(folder)
        return True
    except ValueError:
        return False


def plan(store: Store, paths: Iterable[Path], corpus_dir: Path) -> list[PlannedFile]:
    from .loaders import content_hash

    paths = list(paths)
    records = store.documents()
    planned: list[PlannedFile] = []
    seen: set[str] = set()
    for file, source, origin in discover(paths, corpus_dir):
        seen.add(source)
        try:
            digest = content_hash(file.read_bytes())
        except OSError:
            digest = ""
        record = records.get(source)
        if record is None or not record.content_hash:
            action = "add"
        elif record.content_hash == digest and not record.pending:
            action = "unchanged"
        else:
            action = "update"
        planned.append(PlannedFile(file, source, origin, action, digest, record.chunks if record else 0))
    synced_folders = {str(Path(p).resolve()) for p in paths if Path(p).is_dir()}
    for source, record in sorted(records.items()):
        if source not in seen and record.origin and record.origin in synced_folders:
            planned.append(PlannedFile(None, source, record.origin, "remove"))
    return planned


def sync(
    store: Store,
    settings: Settings,
    paths: Iterable[Path] | None = None,
    progress: Progress | None = None,
    wait: float = 0.0,
) -> SyncReport:
    """Bring the store in line with the files; never stops at a bad file."""
    paths = list(paths) if paths else [settings.corpus_dir]
    progress = progress or Progress()
    Path(settings.data_dir).mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(Path(settings.data_dir) / "ingest.lock"))
    try:
        lock.acquire(timeout=wait)
    except Timeout as exc:
        raise SyncBusy(
            f"another ingest is running (lock {lock.lock_file}); wait for it to finish "
            "or run again with --wait SECONDS"
        ) from exc
    try:
        report = SyncReport(repaired=store.repair())
        planned = plan(store, paths, settings.corpus_dir)
        if progress.on_plan:
            progress.on_plan(planned)
        for index, item in enumerate(planned, start=1):
            if progress.on_file:
                progress.on_file(item, index, len(planned))
            result = _apply(store, settings, item, progress)
            report.results.append(result)
            if progress.on_result:
                progress.on_result(result)
        return report
    finally:
        lock.release()


def _apply(store: Store, settings: Settings, item: PlannedFile, progress: Progress) -> FileResult:
    if item.action == "remove":
        store.remove_document(item.source)
        return FileResult(item.source, "removed")
    if item.action == "unchanged":
        return FileResult(item.source, "unchanged", item.chunks)
    try:
        doc = load_file(item.path, None, settings.max_file_mb)
    except LoadError as exc:
        return FileResult(item.source, "failed", reason=str(exc))
    except Exception as exc:  # a loader bug must not stop the other files
        return FileResult(item.source, "failed", reason=f"could not read: {type(exc).__name__}: {exc}")
    doc.source = item.source
    chunks = chunk_document(doc)
    if not chunks:
        return FileResult(item.source, "failed", reason="no text to index")
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
    )

    def on_progress(done: int, total: int) -> None:
        if progress.on_chunks:
            progress.on_chunks(item.source, done, total)

    store.write_document(record, chunks, on_progress)
    status = "added" if item.action == "add" else "updated"
    return FileResult(item.source, status, len(chunks), warnings=doc.warnings)
