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
store again holds exactly one version of every file and no orphan chunks.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import urlparse

import chromadb
import numpy as np

from .chunking import Chunk
from .config import Settings
from .embeddings import make_embedding

BATCH = 5000  # below Chroma's maximum batch size (5461)
DELETING = "-"


class StoreError(Exception):
    """The store cannot be used; the message says what to do."""


class StoreUnavailable(StoreError):
    """The Chroma server cannot be reached."""


class EmbeddingMismatch(StoreError):
    pass


@dataclass
class DocumentRecord:
    source: str
    title: str
    language: str
    content_hash: str
    chunks: int
    ingested_at: str
    origin: str = ""  # absolute folder the file was synced from ("" for single files)
    jurisdiction: str = ""
    updated: str = ""
    kind: str = ""
    pending: str = ""  # version being written, or "-" while deleting
    as_of: str = ""  # the legal date the document describes (front matter)
    review_by: str = ""  # staff must re-check it by this date (front matter)

    def overdue(self, today) -> bool:
        """Past its review date: the inventory and `assistant docs` flag it."""
        return bool(self.review_by) and self.review_by < today.isoformat()

    def metadata(self) -> dict:
        return {k: v for k, v in asdict(self).items()}


@dataclass
class StoredChunk:
    id: str
    text: str
    meta: dict


def doc_key(source: str) -> str:
    return hashlib.sha1(source.encode("utf-8")).hexdigest()[:16]


def chunk_id(source: str, version: str, position: int) -> str:
    return f"{doc_key(source)}-{version[:12]}-{position:05d}"


def make_client(settings: Settings):
    chroma_settings = chromadb.Settings(anonymized_telemetry=False)
    if settings.chroma_url:
        url = urlparse(settings.chroma_url if "://" in settings.chroma_url else f"http://{settings.chroma_url}")
        try:
            return chromadb.HttpClient(
                host=url.hostname or "127.0.0.1",
                port=url.port or (443 if url.scheme == "https" else 8000),
                ssl=url.scheme == "https",
                settings=chroma_settings,
            )
        except Exception as exc:
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
        return self._call(
            self.client.create_collection,
            self.name,
            embedding_function=self.embedding,
            metadata=info,
            configuration={"hnsw": {"space": "cosine", "ef_construction": 200, "ef_search": 128}},
        )

    def _call(self, fn, *args, **kwargs):
        """Run a Chroma call; a dead server becomes one clear StoreUnavailable error."""
        try:
            return fn(*args, **kwargs)
        except StoreError:
            raise
        except Exception as exc:
            if self.settings.chroma_url and _is_connection_error(exc):
                raise StoreUnavailable(
                    f"the document store is unavailable (Chroma server {self.settings.chroma_url})"
                ) from exc
            raise

    def reset(self) -> None:
        """Drop both collections (for `--rebuild`)."""
        for name in (self.name, f"{self.name}__documents"):
            try:
                self.client.delete_collection(name)
            except Exception:
                pass
        self._chunks = self._docs = None

    # --- manifest -------------------------------------------------------------------------

    def documents(self) -> dict[str, DocumentRecord]:
        got = self._call(self.docs.get, include=["metadatas"])
        return {meta["source"]: _record(meta) for meta in got["metadatas"] or []}

    def document(self, source: str) -> DocumentRecord | None:
        """One document's record, without reading the whole manifest."""
        got = self._call(self.docs.get, ids=[doc_key(source)], include=["metadatas"])
        return _record(got["metadatas"][0]) if got["metadatas"] else None

    def _put_record(self, record: DocumentRecord) -> None:
        self._call(
            self.docs.upsert,
            ids=[doc_key(record.source)],
            embeddings=[[1.0]],
            metadatas=[record.metadata()],
            documents=[record.source],
        )

    def state(self) -> str:
        """A key that changes whenever the committed content of the store changes."""
        records = sorted((r.source, r.content_hash, r.pending) for r in self.documents().values())
        return hashlib.sha1(repr(records).encode()).hexdigest()[:16]

    # --- writing --------------------------------------------------------------------------

    def write_document(self, record: DocumentRecord, chunks: list[Chunk], on_progress=None) -> None:
        """Replace a document's chunks with a new version, crash-safely."""
        old = self.document(record.source)
        pending = DocumentRecord(**{**record.metadata(), "pending": record.content_hash})
        if old is not None:  # keep serving the committed version until the commit
            pending = DocumentRecord(**{**old.metadata(), "pending": record.content_hash})
        else:
            pending.content_hash = ""
        self._put_record(pending)

        done = 0
        for start in range(0, len(chunks), 256):
            batch = chunks[start : start + 256]
            vectors = self.embedding([c.indexed_text for c in batch])
            self._call(
                self.chunks.upsert,
                ids=[chunk_id(c.source, record.content_hash, c.position) for c in batch],
                embeddings=[np.asarray(v, dtype=np.float32) for v in vectors],
                documents=[c.text for c in batch],
                metadatas=[{**c.metadata(), "version": record.content_hash} for c in batch],
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
        self._call(self.docs.delete, ids=[doc_key(source)])
        return True

    def _delete_chunks(self, source: str, keep_version: str | None) -> None:
        where: dict = {"source": source}
        if keep_version is not None:
            where = {"$and": [{"source": source}, {"version": {"$ne": keep_version}}]}
        while True:
            got = self._call(self.chunks.get, where=where, include=[], limit=BATCH)
            if not got["ids"]:
                return
            self._call(self.chunks.delete, ids=got["ids"])

    def repair(self) -> list[str]:
        """Finish or roll back documents a killed ingest left pending; return their sources."""
        repaired = []
        for record in self.documents().values():
            if not record.pending:
                continue
            repaired.append(record.source)
            if record.pending == DELETING or not record.content_hash:
                self._delete_chunks(record.source, keep_version=None)
                self._call(self.docs.delete, ids=[doc_key(record.source)])
            else:
                self._delete_chunks(record.source, keep_version=record.content_hash)
                record.pending = ""
                self._put_record(record)
        return repaired

    # --- reading --------------------------------------------------------------------------

    def count(self) -> int:
        return self._call(self.chunks.count)

    def all_chunks(self, page: int = 5000):
        """Every stored chunk (id, text, metadata), in pages."""
        offset = 0
        while True:
            got = self._call(
                self.chunks.get, include=["documents", "metadatas"], limit=page, offset=offset
            )
            if not got["ids"]:
                return
            for cid, text, meta in zip(got["ids"], got["documents"], got["metadatas"]):
                yield StoredChunk(cid, text, meta)
            offset += len(got["ids"])

    def embed_query(self, text: str) -> np.ndarray:
        return np.asarray(self.embedding.embed_query([text])[0], dtype=np.float32)

    def query(self, vector: np.ndarray, k: int, where: dict | None = None) -> list[tuple[StoredChunk, float]]:
        """Nearest chunks with cosine similarity (1 - cosine distance)."""
        got = self._call(
            self.chunks.query,
            query_embeddings=[vector],
            n_results=k,  # Chroma returns fewer when the collection is smaller
            where=where,
            include=["documents", "metadatas", "distances"],
        )
        return [
            (StoredChunk(cid, text, meta), 1.0 - float(dist))
            for cid, text, meta, dist in zip(
                got["ids"][0], got["documents"][0], got["metadatas"][0], got["distances"][0]
            )
        ]


def _record(meta: dict) -> DocumentRecord:
    fields = {k: meta.get(k, "") for k in DocumentRecord.__dataclass_fields__}
    fields["chunks"] = int(meta.get("chunks") or 0)
    return DocumentRecord(**fields)


def _is_connection_error(exc: Exception) -> bool:
    text = f"{type(exc).__name__} {exc}".lower()
    return any(
        word in text
        for word in ("connect", "connection", "refused", "timeout", "timed out", "unreachable", "remote")
    )


def now_iso() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")
