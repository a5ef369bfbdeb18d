"""The corpus service: the one way to change what the store holds.

Every front end (the `assistant` CLI, `ingest.py`, the staff page) syncs, uploads,
replaces, describes (sidecar records), deletes, removes and rebuilds through `Corpus`, so these invariants have one
owner:

- Every write holds the writer lock, waiting up to `wait` seconds, else `CorpusBusy` with
  a message saying what to do. The lock is a file lock in the data folder and, with a
  Chroma server, also a lease record in Chroma itself (`<collection>__lease`), so it holds
  across processes and machines that share the server. A lease expires `LEASE_SECONDS`
  after its last renewal, so a killed writer blocks nobody for long; machines' clocks must
  agree to well within that (NTP).
- Embedded Chroma is one process's store: while the web app serves it, a CLI write is
  refused (`StoreInUse`), saying to use the staff page or a Chroma server.
- After each write, `on_change` runs once (the retriever's refresh), whatever happened.
- A rebuild drops the collections and syncs afresh under the lock; a kill at any point
  leaves a state the next sync repairs (`Store.audit()`).
"""

from __future__ import annotations

import logging
import os
import random
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from filelock import FileLock, Timeout

from assistant.config import Settings
from assistant.corpus.sync import (
    EmbeddingDown,
    FileResult,
    PlannedFile,
    Progress,
    SyncReport,
    plan,
    reconcile,
)
from assistant.ingest.loaders import source_name
from assistant.store.chroma import DocumentRecord, Store, now_iso

log = logging.getLogger(__name__)

# A writer renews its lease every RENEW_SECONDS; a lease not renewed for LEASE_SECONDS is
# treated as abandoned. 60 s is far above a renewal's round trip (milliseconds on a LAN)
# and short enough that a killed ingest blocks the next one for at most a minute.
LEASE_SECONDS = 60.0
RENEW_SECONDS = 10.0

Role = Literal["app", "cli"]  # "app": this process serves the store (the web app)


class CorpusBusy(Exception):
    """Another writer holds the lock; the message says how to wait for it."""


class StoreInUse(CorpusBusy):
    """The web app serves this embedded store, so another process must not write to it."""


# Why an uploaded file was not stored while the embedding endpoint failed: a closed set the
# web layer words in the page's language (this service holds no UI text).
EmbeddingProblem = Literal["down", "refused"]

# Reasons `delete` gives (the CLI prints them; the staff page words them by their identity).
NO_SUCH_DOCUMENT = "no such document (see the inventory)"
OUTSIDE_CORPUS = ("its file is outside the corpus folder, and only files there are deleted: "
                  "remove it with --keep-file to drop its chunks and leave the file")


@dataclass(kw_only=True)
class NotStored(FileResult):
    """A file the upload did not store because the embedding endpoint failed: `problem`
    ("down": not reachable; "refused": it answered with an error), where the endpoint is,
    its own detail, and whether the store keeps a previous version (`replaced`)."""

    problem: EmbeddingProblem = "down"
    where: str = ""
    detail: str = ""
    replaced: bool = False


def embedding_problem(exc: Exception) -> EmbeddingProblem:
    """ "down" when the endpoint could not be reached, else "refused"."""
    import openai

    cause = exc.__cause__.__cause__ if isinstance(exc.__cause__, Exception) else None
    return "down" if isinstance(cause, (openai.APIConnectionError, openai.APITimeoutError)) else "refused"


def busy_message(where: str) -> str:
    return (f"another ingest is running ({where}); wait for it to finish "
            "or run again with --wait SECONDS")


@dataclass(kw_only=True)
class Corpus:
    """Sync, upload, delete, rebuild and list the documents, each under the writer lock."""

    store: Store
    settings: Settings
    on_change: Callable[[], None] = lambda: None
    role: Role = "cli"
    _app_lock: FileLock | None = field(default=None, init=False, repr=False)

    # --- reading ---------------------------------------------------------------------------

    def inventory(self) -> list[DocumentRecord]:
        """The committed documents, by source."""
        records = (r for r in self.store.documents().values() if r.content_hash)
        return sorted(records, key=lambda r: r.source)

    def plan(self, paths: Iterable[Path] | None = None) -> list[PlannedFile]:
        """What a sync would do (a dry run: nothing is written, no lock is taken)."""
        return plan(self.store, self._paths(paths), self.settings.corpus_dir, self.store.audit().mismatched)

    # --- writing ---------------------------------------------------------------------------

    def sync(self, paths: Iterable[Path] | None = None, progress: Progress | None = None, *,
             wait: float = 0.0, confirm_remove: bool = False) -> SyncReport:
        """Bring the store in line with the files (default: the corpus folder). Removing most
        of the documents at once needs `confirm_remove` (see `sync.guard_removals`)."""
        with self.writing(wait):
            return reconcile(self.store, self.settings, self._paths(paths), progress,
                             confirm_remove=confirm_remove)

    def upload(self, save: Callable[[Path], list[Path]], progress: Progress | None = None, *,
               wait: float = 0.0) -> SyncReport:
        """Save files into the corpus folder with `save(corpus_dir)`, then sync those files.

        Saving happens under the lock too, so a delete or another upload of the same name
        never interleaves with it. Replacing a document is an upload that overwrites.
        When the embedding endpoint fails, every file not yet stored is reported failed
        with a message saying so (the store keeps what it had), rather than raising.
        """
        return self.edit(save, progress, wait=wait)

    def edit(self, change: Callable[[Path], list[Path]], progress: Progress | None = None, *,
             wait: float = 0.0) -> SyncReport:
        """Change files with `change(corpus_dir)`, which returns the documents it changed (a file
        saved, or the sidecar record beside it rewritten), then sync those documents: both under
        the writer lock. An upload is one such change; `assistant meta` setting a record another.
        When the embedding endpoint fails, every file not yet stored is reported failed."""
        with self.writing(wait):
            saved = change(Path(self.settings.corpus_dir))
            if not saved:
                return SyncReport()
            try:
                return reconcile(self.store, self.settings, saved, progress)
            except EmbeddingDown as exc:
                log.warning("upload not stored: %s", exc)
                return self._embedding_down(exc, saved)

    def not_stored(self, exc: EmbeddingDown, source: str) -> NotStored:
        """The failed row for `source` while the embedding endpoint failed: not added, or
        the previous version kept."""
        replaced = self.store.document(source) is not None
        problem = embedding_problem(exc)
        where = str(getattr(self.store.embedding, "where", "?"))
        kept = "previous version kept" if replaced else "not added"
        return NotStored(source=source, status="failed", problem=problem, where=where, detail=str(exc),
                         replaced=replaced, reason=f"embedding endpoint {problem} ({where}): {kept}")

    def _embedding_down(self, exc: EmbeddingDown, saved: list[Path]) -> SyncReport:
        """The upload's report when the embedding endpoint failed: the files done before it,
        then one failed row per file not stored."""
        done = {r.source for r in exc.report.results}
        corpus = Path(self.settings.corpus_dir)
        results = list(exc.report.results)
        for path in saved:
            source = source_name(path, corpus)
            if source in done:
                continue
            results.append(self.not_stored(exc, source))
        return SyncReport(results=results, repaired=exc.report.repaired)

    def delete(self, source: str, *, keep_file: bool = False, wait: float = 0.0) -> FileResult:
        """Remove a document: its file in the corpus folder (unless `keep_file`) and its chunks.

        The file goes first: a kill in between leaves chunks whose file is gone, which the
        next sync of the corpus folder removes.
        """
        with self.writing(wait):
            record = self.store.document(source)
            if record is None:
                return FileResult(source=source, status="failed", reason=NO_SUCH_DOCUMENT)
            path = self._corpus_file(source, record)
            if path is None and not keep_file:
                return FileResult(source=source, status="failed", reason=OUTSIDE_CORPUS)
            note = ""
            if path is not None and not keep_file:
                path.unlink(missing_ok=True)
            elif path is not None:
                note = "chunks only: the file stays in the corpus folder, so the next sync adds it back"
            self.store.remove_document(source)
            return FileResult(source=source, status="removed", reason=note)

    def rebuild(self, paths: Iterable[Path] | None = None, progress: Progress | None = None, *,
                wait: float = 0.0) -> SyncReport:
        """Drop the collections and embed everything afresh (e.g. after changing the embedding)."""
        with self.writing(wait):
            self.store.drop_collections()
            return reconcile(self.store, self.settings, self._paths(paths), progress)

    # --- the writer lock -------------------------------------------------------------------

    @contextmanager
    def writing(self, wait: float) -> Iterator[None]:
        """Hold the writer lock for one write, then notify `on_change` once."""
        data = Path(self.settings.data_dir)
        data.mkdir(parents=True, exist_ok=True)
        self._refuse_if_app_serves()
        deadline = time.monotonic() + wait
        local = FileLock(str(data / "ingest.lock"))
        try:
            local.acquire(timeout=wait)
        except Timeout as exc:
            raise CorpusBusy(busy_message(f"lock {local.lock_file}")) from exc
        try:
            with self._lease(deadline):
                try:
                    yield
                finally:
                    self.on_change()
        finally:
            local.release()

    @contextmanager
    def _lease(self, deadline: float) -> Iterator[None]:
        if not self.settings.chroma_url:  # embedded: the file lock is the whole story
            yield
            return
        holder = uuid.uuid4().hex
        note = f"{socket.gethostname()} pid {os.getpid()} since {now_iso()}"
        attempts = 0
        while other := self.store.claim_lease(holder, note, LEASE_SECONDS, socket.gethostname(), os.getpid()):
            attempts += 1
            if time.monotonic() > deadline and attempts >= 3:
                raise CorpusBusy(busy_message(
                    f"writer lease held by {other} on the Chroma server {self.settings.chroma_url}"))
            time.sleep(random.uniform(0.1, 0.5))  # two claimants that saw each other both retry
        stop = threading.Event()
        renewer = threading.Thread(target=self._renew, args=(holder, note, stop), daemon=True,
                                   name="writer-lease")
        renewer.start()
        try:
            yield
        finally:
            stop.set()
            renewer.join()
            try:
                self.store.release_lease(holder)
            except Exception:  # it expires on its own
                log.warning("could not release the writer lease; it expires in %.0f s", LEASE_SECONDS)

    def _renew(self, holder: str, note: str, stop: threading.Event) -> None:
        while not stop.wait(RENEW_SECONDS):
            try:
                if not self.store.renew_lease(holder, note, LEASE_SECONDS, socket.gethostname(), os.getpid()):
                    log.error("the writer lease expired during a write (stalled for over %.0f s)",
                              LEASE_SECONDS)
            except Exception:
                log.exception("could not renew the writer lease")

    # --- the embedded store's single process -----------------------------------------------

    def serve_store(self) -> None:
        """Claim the embedded store for this process (the web app) for its lifetime.

        Only one process may serve an embedded store; the claim also makes other
        processes' CLI writes refuse with a message pointing to the staff page.
        """
        if self.settings.chroma_url or self._app_lock is not None:
            return
        data = Path(self.settings.data_dir)
        data.mkdir(parents=True, exist_ok=True)
        lock = FileLock(str(data / "app.lock"))
        try:
            lock.acquire(timeout=0)
        except Timeout as exc:
            raise StoreInUse(
                f"another app already serves the embedded store in {data}: stop it, or run a "
                "Chroma server (ASSISTANT_CHROMA_URL) so several app processes share one store"
            ) from exc
        self._app_lock = lock

    def _refuse_if_app_serves(self) -> None:
        if self.settings.chroma_url or self.role == "app":
            return
        probe = FileLock(str(Path(self.settings.data_dir) / "app.lock"))
        try:
            probe.acquire(timeout=0)
        except Timeout as exc:
            raise StoreInUse(
                f"the web app is serving the embedded store in {self.settings.data_dir}, and an "
                "embedded store belongs to one process: change documents on the app's staff page "
                "(/staff), or stop the app first, or run a Chroma server (ASSISTANT_CHROMA_URL) "
                "that the app and the command line share"
            ) from exc
        probe.release()

    # --- helpers ---------------------------------------------------------------------------

    def _paths(self, paths: Iterable[Path] | None) -> list[Path]:
        return list(paths) if paths else [Path(self.settings.corpus_dir)]

    def _corpus_file(self, source: str, record: DocumentRecord) -> Path | None:
        """The document's file when it lies in the corpus folder (whether or not it exists)."""
        corpus = Path(self.settings.corpus_dir).resolve()
        if (record.origin or str(corpus)) != str(corpus):
            return None
        path = (corpus / source).resolve()
        return path if corpus in path.parents else None


def sync(
    store: Store,
    settings: Settings,
    paths: Iterable[Path] | None = None,
    progress: Progress | None = None,
    wait: float = 0.0,
    confirm_remove: bool = False,
) -> SyncReport:
    """Shorthand for `Corpus(...).sync(...)`: takes the writer lock, then reconciles."""
    return Corpus(store=store, settings=settings).sync(paths, progress, wait=wait, confirm_remove=confirm_remove)
