"""The Chroma store: the one place that talks to Chroma.

Two collections: `<name>` holds the chunks (embedded with an explicit embedding
function) and `<name>__documents` holds one record per document (the manifest:
content hash, chunk count, where it was synced from). Chroma has no transactions,
so writes follow a small protocol that makes a killed ingest harmless:

1. mark the document record `pending` with the new version,
2. add the new version's chunks (ids carry the version),
3. commit: the record's `content_hash` becomes the new version (still pending),
4. delete the chunks of every other version, then clear `pending`.

`repair()` finishes or rolls back any document left pending, so after a crash the
store again holds exactly one version of every file and no orphan chunks; `audit()`
finds what no record explains (a record whose stored chunk count differs, chunks of a
document with no record) so a sync can re-write or drop it.

A third collection, `<name>__lease`, holds the writer lease in server mode (see
`assistant.corpus.service`): records that expire, so a process that dies does not block writers.

Collection handles are reopened when Chroma reports them gone (a rebuild elsewhere, a
server that came back empty): a stale handle never breaks a running app. Store errors
are classified by exception type (a transport error is `StoreUnavailable`), never by
words in a message.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import time
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Literal
from urllib.parse import urlparse

import chromadb
import httpx
import numpy as np
from chromadb.errors import NotFoundError

from assistant.config import Settings
from assistant.ingest.chunking import Chunk, join_list, split_list
from assistant.store.embeddings import make_embedding

log = logging.getLogger(__name__)

BATCH = 5000  # below Chroma's maximum batch size (5461)
DELETING = "-"
VERSION = "version"  # the store's own key on every chunk: the document version it belongs to
Collection = Literal["chunks", "docs", "lease"]


class StoreError(Exception):
    """The store cannot be used; the message says what to do."""


class StoreUnavailable(StoreError):
    """The Chroma server cannot be reached."""


class EmbeddingMismatch(StoreError):
    pass


@dataclass(kw_only=True)
class DocumentRecord:
    source: str
    title: str
    language: str
    content_hash: str
    chunks: int
    ingested_at: str
    origin: str = ""  # absolute folder the file belongs to; a re-sync of it removes the gone
    jurisdiction: str = ""
    updated: str = ""
    kind: str = ""
    pending: str = ""  # version being written, or "-" while deleting
    as_of: str = ""  # the legal date the document describes (front matter)
    review_by: str = ""  # staff must re-check it by this date (front matter)
    sources: tuple[str, ...] = ()  # what the document is based on (front matter)
    topics: tuple[str, ...] = ()  # front matter
    chunker: str = ""  # chunking.CHUNKER_VERSION the chunks were made by ("": before versions)

    def overdue(self, today) -> bool:
        """Past its review date: the inventory and `assistant docs` flag it."""
        return bool(self.review_by) and self.review_by < today.isoformat()

    def metadata(self) -> dict:
        """The record as Chroma metadata (lists joined: Chroma stores no empty list)."""
        return {k: join_list(v) if k in _LISTS else v for k, v in asdict(self).items()}

    @classmethod
    def from_metadata(cls, meta: dict) -> "DocumentRecord":
        values = {f.name: meta.get(f.name) or "" for f in fields(cls)}
        values["chunks"] = int(meta.get("chunks") or 0)
        for name in _LISTS:
            values[name] = split_list(str(values[name]))
        return cls(**values)


_LISTS = ("sources", "topics")


@dataclass(kw_only=True)
class Audit:
    """What `Store.audit()` found: records whose stored chunk count is off, orphan chunks."""

    mismatched: dict[str, int] = field(default_factory=dict)  # source -> chunks actually stored
    orphan_ids: list[str] = field(default_factory=list)  # chunks of no recorded document

    @property
    def clean(self) -> bool:
        return not self.mismatched and not self.orphan_ids


@dataclass(frozen=True, kw_only=True)
class StoredChunk:
    """A chunk as the store holds it: its id and the document version it belongs to."""

    id: str
    chunk: Chunk
    version: str = ""

    @classmethod
    def from_chroma(cls, cid: str, text: str, meta: dict | None) -> "StoredChunk":
        meta = meta or {}
        return cls(id=cid, chunk=Chunk.from_metadata(text, meta), version=str(meta.get(VERSION) or ""))


def doc_key(source: str) -> str:
    return hashlib.sha1(source.encode("utf-8")).hexdigest()[:16]


def chunk_id(source: str, version: str, position: int) -> str:
    return f"{doc_key(source)}-{version[:12]}-{position:05d}"


# A lease is written with expiry now + ttl; clocks of the writers may differ by a little, so a
# record may claim up to this much more before it is taken for forged.
LEASE_CLOCK_SKEW_S = 300.0


def valid_lease(meta: dict, record_id: str, now: float, ttl: float) -> bool:
    """A lease record as `claim_lease`/`renew_lease` write it: holder (its own id), note,
    a numeric expiry no further ahead than one ttl (plus clock skew), an integer pid."""
    expires = meta.get("expires")
    return (isinstance(meta.get("holder"), str) and meta.get("holder") == record_id
            and isinstance(meta.get("note", ""), str)
            and isinstance(expires, (int, float)) and not isinstance(expires, bool)
            and expires == expires and expires <= now + ttl + LEASE_CLOCK_SKEW_S
            and isinstance(meta.get("pid", 0), int) and isinstance(meta.get("host", ""), str))


SEAL = "seal"  # a chunk's HMAC over its id, text and metadata (see `Store.tampered`)


def chunk_seal(key: bytes, cid: str, text: str, meta: dict) -> str:
    """What a chunk's seal must be: its id, text and every other metadata field, so a chunk
    rewritten in the store (the quoted § 39 passage, a title) is noticed by the next sync."""
    payload = json.dumps([cid, text, sorted((k, v) for k, v in meta.items() if k != SEAL)],
                         ensure_ascii=False, default=str)
    return hmac.new(key, payload.encode("utf-8"), hashlib.sha256).hexdigest()


def auth_headers(settings: Settings) -> dict[str, str]:
    """The token header for a Chroma server behind a token-checking proxy (or Chroma Cloud)."""
    token = settings.chroma_token.get_secret_value() if settings.chroma_token else ""
    if not token:
        return {}
    if settings.chroma_token_header == "X-Chroma-Token":
        return {"X-Chroma-Token": token}
    return {"Authorization": f"Bearer {token}"}


def make_client(settings: Settings):
    chroma_settings = chromadb.Settings(anonymized_telemetry=False)
    if settings.chroma_url:
        url = urlparse(settings.chroma_url if "://" in settings.chroma_url else f"http://{settings.chroma_url}")
        if settings.chroma_ca_bundle:
            # TLS to the server checked against the deployment's own CA (no `verify=False` path).
            chroma_settings = chromadb.Settings(anonymized_telemetry=False,
                                                chroma_server_ssl_verify=settings.chroma_ca_bundle)
        try:
            return chromadb.HttpClient(
                host=url.hostname or "127.0.0.1",
                port=url.port or (443 if url.scheme == "https" else 8000),
                ssl=url.scheme == "https",
                headers=auth_headers(settings),
                settings=chroma_settings,
            )
        except Exception as exc:
            if not is_transport_error(exc):
                raise
            raise StoreUnavailable(
                f"the document store is unavailable (Chroma server {settings.chroma_url}): {exc}"
            ) from exc
    path = Path(settings.data_dir) / "chroma"
    path.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(path), settings=chroma_settings)


class Store:
    """Chunks and the document manifest in Chroma."""

    def __init__(self, settings: Settings, embedding=None, client=None):
        self.settings = settings
        self.embedding = embedding or make_embedding(settings)
        self.client = client or make_client(settings)
        self.name = settings.collection
        self._chunks = None
        self._docs = None
        self._lease = None
        # The chunk seal's key: the Chroma token when there is one (someone who can write to the
        # server without it cannot forge a seal), else none (a plain hash still catches edits
        # made without knowing the scheme). Rotating the token re-ingests every document once.
        token = settings.chroma_token.get_secret_value() if getattr(settings, "chroma_token", None) else ""
        self._seal_key = token.encode("utf-8")

    # --- collections ----------------------------------------------------------------------

    def _embedding_info(self) -> dict:
        return {
            "embedding": self.embedding.name(),
            "embedding_fingerprint": self.embedding.fingerprint(),
        }

    @property
    def chunks(self):
        if self._chunks is None:
            self._chunks = self._open_chunks()
        return self._chunks

    @property
    def docs(self):
        if self._docs is None:
            # The manifest holds no vectors worth searching: a 1-d placeholder is passed
            # explicitly, and no embedding function means Chroma never loads its default.
            self._docs = self._call(
                self.client.get_or_create_collection, f"{self.name}__documents", embedding_function=None
            )
        return self._docs

    @property
    def lease(self):
        if self._lease is None:
            self._lease = self._call(
                self.client.get_or_create_collection, f"{self.name}__lease", embedding_function=None
            )
        return self._lease

    def _open_chunks(self):
        info = self._embedding_info()
        existing = self._call(self.client.list_collections)
        if self.name in [c.name if hasattr(c, "name") else c for c in existing]:
            meta = self._call(self.client.get_collection, self.name).metadata or {}
            built = {k: meta.get(k) for k in info}
            if built != info:
                raise EmbeddingMismatch(
                    f"The collection '{self.name}' was built with embedding "
                    f"{built['embedding']} ({built['embedding_fingerprint']}), but the current "
                    f"setting is {info['embedding']} ({info['embedding_fingerprint']}). "
                    "Run `python ingest.py --rebuild` to re-embed the corpus, or change "
                    "ASSISTANT_EMBEDDINGS back."
                )
            return self._call(self.client.get_collection, self.name, embedding_function=self.embedding)
        try:
            return self._call(
                self.client.create_collection,
                self.name,
                embedding_function=self.embedding,
                metadata=info,
                configuration={"hnsw": {"space": "cosine", "ef_construction": 200, "ef_search": 128}},
            )
        except chromadb.errors.ChromaError:
            # Another process created it between our list and create: open theirs (checked).
            if self.name in [c.name if hasattr(c, "name") else c for c in self._call(self.client.list_collections)]:
                return self._open_chunks()
            raise

    def _on(self, collection: Collection, method: str, **kwargs):
        """Call `method` on a collection, reopening it once if Chroma says it is gone."""
        for attempt in (1, 2):
            handle = getattr(self, collection)
            try:
                return self._call(getattr(handle, method), **kwargs)
            except NotFoundError:
                if attempt == 2:
                    raise
                self._chunks = self._docs = self._lease = None

    def _call(self, fn, *args, **kwargs):
        """Run a Chroma call; a dead server becomes one clear StoreUnavailable error."""
        try:
            return fn(*args, **kwargs)
        except StoreError:
            raise
        except Exception as exc:
            if self.settings.chroma_url and is_transport_error(exc):
                raise StoreUnavailable(
                    f"the document store is unavailable (Chroma server {self.settings.chroma_url})"
                ) from exc
            raise

    def drop_collections(self) -> None:
        """Drop the manifest, then the chunks (for a rebuild; the caller holds the lock).

        The manifest goes first so that no record ever claims chunks that are gone: a kill
        in between leaves chunks without records, which the next sync's `audit()` drops.
        """
        for name in (f"{self.name}__documents", self.name):
            try:
                self._call(self.client.delete_collection, name)
            except NotFoundError:
                pass
        self._chunks = self._docs = None

    # --- manifest -------------------------------------------------------------------------

    def documents(self) -> dict[str, DocumentRecord]:
        got = self._on("docs", "get", include=["metadatas"])
        records = (DocumentRecord.from_metadata(meta) for meta in got["metadatas"] or [])
        return {record.source: record for record in records}

    def document(self, source: str) -> DocumentRecord | None:
        """One document's record, without reading the whole manifest."""
        got = self._on("docs", "get", ids=[doc_key(source)], include=["metadatas"])
        return DocumentRecord.from_metadata(got["metadatas"][0]) if got["metadatas"] else None

    def _put_record(self, record: DocumentRecord) -> None:
        self._on(
            "docs", "upsert",
            ids=[doc_key(record.source)],
            embeddings=[[1.0]],
            metadatas=[record.metadata()],
            documents=[record.source],
        )

    def state(self) -> str:
        """A key that changes whenever the committed content of the store changes.

        The write time is part of it: a document written again with the same content (a
        repair, a rebuild) changes the key, so no snapshot built from the broken state lives on.
        """
        records = sorted((r.source, r.content_hash, r.pending, r.chunks, r.ingested_at)
                         for r in self.documents().values())
        return hashlib.sha1(repr(records).encode()).hexdigest()[:16]

    # --- writing --------------------------------------------------------------------------

    def write_document(self, record: DocumentRecord, chunks: list[Chunk], on_progress=None) -> None:
        """Replace a document's chunks with a new version, crash-safely."""
        old = self.document(record.source)
        if old is not None:  # keep serving the committed version until the commit
            pending = replace(old, pending=record.content_hash)
        else:
            pending = replace(record, pending=record.content_hash, content_hash="")
        self._put_record(pending)

        done = 0
        for start in range(0, len(chunks), 256):
            batch = chunks[start : start + 256]
            vectors = self.embedding([c.indexed_text for c in batch])
            self._on(
                "chunks", "upsert",
                ids=[chunk_id(c.source, record.content_hash, c.position) for c in batch],
                embeddings=[np.asarray(v, dtype=np.float32) for v in vectors],
                documents=[c.text for c in batch],
                metadatas=[self._sealed(chunk_id(c.source, record.content_hash, c.position), c.text,
                                        {**c.metadata(), VERSION: record.content_hash}) for c in batch],
            )
            done += len(batch)
            if on_progress:
                on_progress(done, len(chunks))

        # Commit the new version but stay pending until the old chunks are gone: a kill
        # between these steps leaves a record that repair() still finishes.
        record.pending = record.content_hash
        self._put_record(record)
        self._delete_chunks(record.source, keep_version=record.content_hash)
        record.pending = ""
        self._put_record(record)

    def remove_document(self, source: str) -> bool:
        record = self.document(source)
        if record is None:
            return False
        record.pending = DELETING
        self._put_record(record)
        self._delete_chunks(source, keep_version=None)
        self._on("docs", "delete", ids=[doc_key(source)])
        return True

    def _delete_chunks(self, source: str, keep_version: str | None) -> None:
        where = Chunk.where(source=source)
        if keep_version is not None:
            where = {"$and": [where, {VERSION: {"$ne": keep_version}}]}
        while True:
            got = self._on("chunks", "get", where=where, include=[], limit=BATCH)
            if not got["ids"]:
                return
            self._on("chunks", "delete", ids=got["ids"])

    def repair(self) -> list[str]:
        """Finish or roll back documents a killed ingest left pending; return their sources."""
        repaired = []
        for record in self.documents().values():
            if not record.pending:
                continue
            repaired.append(record.source)
            if record.pending == DELETING or not record.content_hash:
                self._delete_chunks(record.source, keep_version=None)
                self._on("docs", "delete", ids=[doc_key(record.source)])
            else:
                self._delete_chunks(record.source, keep_version=record.content_hash)
                record.pending = ""
                self._put_record(record)
        return repaired

    def audit(self) -> Audit:
        """Compare what is stored with what the records say (the caller holds the lock).

        Cheap when all is well: one count against the sum of the records, through a handle
        without the embedding (an unchanged sync never loads the embedding model). Only on a
        difference are the chunk ids read (ids carry the document key and version).
        """
        records = self.documents()
        expected = sum(r.chunks for r in records.values() if r.content_hash and not r.pending)
        if self._raw_chunks("count") == expected and not any(r.pending for r in records.values()):
            return Audit()
        by_key: dict[str, list[str]] = {}
        for offset in range(0, 1 << 62, BATCH):
            got = self._raw_chunks("get", include=[], limit=BATCH, offset=offset)
            if not got or not got["ids"]:
                break
            for cid in got["ids"]:
                by_key.setdefault(cid.split("-")[0], []).append(cid)
        known = {doc_key(source) for source in records}
        orphans = [cid for key, ids in by_key.items() if key not in known for cid in ids]
        mismatched = {}
        for source, record in records.items():
            if not record.content_hash or record.pending:
                continue
            prefix = f"{doc_key(source)}-{record.content_hash[:12]}-"
            stored = sum(cid.startswith(prefix) for cid in by_key.get(doc_key(source), []))
            if stored != record.chunks:
                mismatched[source] = stored
        return Audit(mismatched=mismatched, orphan_ids=orphans)

    def _raw_chunks(self, method: str, **kwargs):
        """Read the chunks collection without its embedding function; a missing one is empty."""
        try:
            handle = self._call(self.client.get_collection, self.name, embedding_function=None)
            return self._call(getattr(handle, method), **kwargs)
        except NotFoundError:
            return 0 if method == "count" else None

    def _sealed(self, cid: str, text: str, meta: dict) -> dict:
        return {**meta, SEAL: chunk_seal(self._seal_key, cid, text, meta)}

    def tampered(self) -> dict[str, int]:
        """Documents (source -> chunks) whose stored chunks no longer match what sync wrote:
        text or metadata changed in the store, or no seal (written before seals existed).
        Reads every chunk; sync calls it once per run (the caller holds the lock)."""
        records = {doc_key(source): (source, r) for source, r in self.documents().items()
                   if r.content_hash and not r.pending}
        bad: dict[str, int] = {}
        for offset in range(0, 1 << 62, BATCH):
            got = self._raw_chunks("get", include=["documents", "metadatas"], limit=BATCH, offset=offset)
            if not got or not got["ids"]:
                break
            for cid, text, meta in zip(got["ids"], got["documents"] or [], got["metadatas"] or [], strict=False):
                owner = records.get(cid.split("-")[0])
                if owner is None or not cid.startswith(f"{doc_key(owner[0])}-{owner[1].content_hash[:12]}-"):
                    continue  # an orphan or an old version: audit() and repair() deal with those
                meta = dict(meta or {})
                seal = meta.pop(SEAL, "")
                if not hmac.compare_digest(str(seal), chunk_seal(self._seal_key, cid, text or "", meta)):
                    bad[owner[0]] = bad.get(owner[0], 0) + 1
        if bad:
            log.warning("stored chunks changed outside sync (re-ingesting): %s",
                        ", ".join(f"{source} ({n})" for source, n in sorted(bad.items())[:20]))
        return bad

    def drop_chunks(self, ids: list[str]) -> None:
        """Delete chunks by id (orphans `audit()` found; the caller holds the lock)."""
        for start in range(0, len(ids), BATCH):
            self._raw_chunks("delete", ids=ids[start : start + BATCH])

    # --- the writer lease (server mode) ----------------------------------------------------

    def claim_lease(self, holder: str, note: str, ttl: float, host: str = "", pid: int = 0) -> str:
        """Try to take the writer lease; "" when taken, else the live holder's note.

        Chroma has no compare-and-swap, so the lease is claimed by registration: write
        your own record, then read them all; you hold it only if no other live record is
        there, else you withdraw yours. Of two claimants, the later reader always sees the
        earlier writer, so at most one wins (both may withdraw and retry).
        """
        now = time.time()
        self._on("lease", "upsert", ids=[holder], embeddings=[[1.0]], documents=[note],
                 metadatas=[{"holder": holder, "note": note, "expires": now + ttl, "host": host, "pid": pid}])
        got = self._on("lease", "get", include=["metadatas"])

        def stale(m: dict) -> bool:
            # Expired, or held by a process on this machine that no longer runs (killed):
            # a dead writer holds nothing, so its lease need not run out first.
            return m["expires"] < now or bool(host and m.get("host") == host and m.get("pid")
                                               and not _pid_alive(int(m["pid"])))

        # Anyone who reaches the server can write this collection: a record that is not one a
        # writer makes (missing or mistyped fields, or an expiry further ahead than any writer
        # sets) is not honoured; it is removed with a log line, so it neither blocks staff
        # writes for as long as it claims nor breaks every write by being unreadable.
        records = [(rid, m or {}) for rid, m in zip(got["ids"], got["metadatas"], strict=False)]
        invalid = [rid for rid, m in records if rid != holder and not valid_lease(m, rid, now, ttl)]
        if invalid:
            log.warning("ignored %d malformed or far-future writer lease record(s): %s", len(invalid),
                        ", ".join(repr(str(r)[:60]) for r in invalid[:5]))
        metas = [m for rid, m in records if rid not in invalid]
        expired = [m["holder"] for m in metas if m["holder"] != holder and stale(m)]
        if expired or invalid:
            self._on("lease", "delete", ids=expired + invalid)
        others = [m for m in metas if m["holder"] != holder and not stale(m)]
        if others:
            self._on("lease", "delete", ids=[holder])
            return str(others[0]["note"])
        return ""

    def renew_lease(self, holder: str, note: str, ttl: float, host: str = "", pid: int = 0) -> bool:
        """Push the expiry on; False when the record was gone (taken over as expired)."""
        had = bool(self._on("lease", "get", ids=[holder], include=[])["ids"])
        self._on("lease", "upsert", ids=[holder], embeddings=[[1.0]], documents=[note],
                 metadatas=[{"holder": holder, "note": note, "expires": time.time() + ttl, "host": host,
                             "pid": pid}])
        return had

    def release_lease(self, holder: str) -> None:
        self._on("lease", "delete", ids=[holder])

    # --- reading --------------------------------------------------------------------------

    def count(self) -> int:
        return self._on("chunks", "count")

    def all_chunks(self, page: int = 5000):
        """Every stored chunk, in pages."""
        offset = 0
        while True:
            got = self._on("chunks", "get", include=["documents", "metadatas"], limit=page, offset=offset)
            if not got["ids"]:
                return
            for cid, text, meta in zip(got["ids"], got["documents"], got["metadatas"]):
                yield StoredChunk.from_chroma(cid, text, meta)
            offset += len(got["ids"])

    def embed_query(self, text: str) -> np.ndarray:
        return np.asarray(self.embedding.embed_query([text])[0], dtype=np.float32)

    def embed_queries(self, texts: list[str]) -> list[np.ndarray]:
        """Several query texts in one call (one request to an endpoint, one matrix product
        for the built-in embedding)."""
        return [np.asarray(v, dtype=np.float32) for v in self.embedding.embed_query(list(texts))]

    def nearest(self, vectors: list[np.ndarray], k: int) -> list[list[tuple[str, float]]]:
        """For each vector, the ids of the `k` nearest chunks with their cosine similarity,
        nearest first: one unfiltered call for all vectors, ids and distances only.

        The search's hot path: the caller holds every chunk already (the BM25 snapshot), so
        nothing else is read back (asking for the vectors too made a k=128 query five times
        slower at 50,000 chunks). A `where` filter is what made the dense side slow (Chroma
        pre-filters through its metadata tables: 66 ms per filtered query against 0.9 ms
        unfiltered at 50,000 chunks, issue 23), so none is offered here.
        """
        if not vectors:
            return []
        got = self._on("chunks", "query", query_embeddings=list(vectors), n_results=k, include=["distances"])
        return [[(cid, 1.0 - float(dist)) for cid, dist in zip(ids, dists)]
                for ids, dists in zip(got["ids"], got["distances"])]

    def query(self, vector: np.ndarray, k: int, where: dict | None = None) -> list[tuple[StoredChunk, float]]:
        """Nearest chunks with cosine similarity (1 - cosine distance)."""
        got = self._on(
            "chunks", "query",
            query_embeddings=[vector],
            n_results=k,  # Chroma returns fewer when the collection is smaller
            where=where,
            include=["documents", "metadatas", "distances"],
        )
        return [
            (StoredChunk.from_chroma(cid, text, meta), 1.0 - float(dist))
            for cid, text, meta, dist in zip(
                got["ids"][0], got["documents"][0], got["metadatas"][0], got["distances"][0]
            )
        ]


# Transport failures of the HTTP client (chromadb 1.x talks httpx) and of sockets. The
# HTTP client's constructor wraps a refused connection in a ValueError: the chain is read.
TRANSPORT_ERRORS = (httpx.TransportError, ConnectionError, TimeoutError)


def is_transport_error(exc: BaseException | None) -> bool:
    """True when `exc`, or an exception it was raised from, is a transport failure."""
    seen = 0
    while exc is not None and seen < 10:
        if isinstance(exc, TRANSPORT_ERRORS):
            return True
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return False


def now_iso() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


def _pid_alive(pid: int) -> bool:
    """Whether a process with this id runs on this machine."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it runs, as another user
    except OSError:
        return False
    return True
