"""The BM25 side of retrieval: an index over every stored chunk, and its snapshot cache.

The index is built from the chunks stored in Chroma and cached on disk under a key of the
store's state, so Chroma stays the one source of truth and every app process against one
Chroma server sees the same corpus. `Bm25Snapshot.index()` rechecks the store's state
every `REFRESH_SECONDS` and rebuilds (or loads the cached build) when it changed.
"""

from __future__ import annotations

import ctypes
import gc
import json
import shutil
import threading
import time
from array import array
from functools import cached_property
from pathlib import Path

import bm25s
import numpy as np
import scipy.sparse as sp

from assistant.config import Settings
from assistant.ingest.chunking import Chunk
from assistant.store.chroma import Store
from assistant.text.words import doc_tokens

INDEX_VERSION = 6  # bump when tokenisation or the snapshot's format changes, so cached indexes are rebuilt
REFRESH_SECONDS = 2.0


class Bm25Index:
    """BM25 over every stored chunk, plus the per-chunk facts retrieval needs.

    Token lists are not kept: after indexing only bm25s's sparse matrix remains, and the
    few passages the relevance gate inspects read their tokens back from it.
    """

    def __init__(self, ids: list[str], chunks: list[Chunk], model: bm25s.BM25 | None):
        self.ids = ids
        self.chunks = chunks
        self.model = model
        self.vocab: dict[str, int] = model.vocab_dict if model is not None else {}
        self.position = {cid: i for i, cid in enumerate(ids)}
        self._masks: dict[str, np.ndarray] = {}
        self.languages = sorted({c.language for c in chunks} - {""})
        self.prev, self.next = _neighbours(chunks)
        self.by_provision: dict[str, list[int]] = {}
        for i, chunk in enumerate(chunks):
            if chunk.provision:
                self.by_provision.setdefault(chunk.provision, []).append(i)

    @classmethod
    def build(cls, store: Store) -> "Bm25Index":
        # Each passage's tokens become term ids as they are read: 4 bytes a token instead
        # of a string object each (at 50,000 chunks the token lists took some 500 MB, which
        # the process kept as fragmented heap after the build).
        ids, chunks, term_ids = [], [], []
        vocab: dict[str, int] = {}
        for stored in store.all_chunks():
            ids.append(stored.id)
            chunks.append(stored.chunk)
            term_ids.append(array("i", [vocab.setdefault(t, len(vocab)) for t in _passage_tokens(stored.chunk)]))
        model = None
        if ids:
            model = bm25s.BM25()
            model.index((term_ids, vocab), show_progress=False)
        return cls(ids, chunks, model)

    def passage_tokens(self, i: int) -> frozenset[str]:
        """The passage's BM25 tokens, read back from the index's own matrix: re-tokenising
        (stemming, compound splitting) cost about a millisecond a passage, and a search reads
        some fifteen passages no earlier search read once the store is large."""
        if self.model is None:
            return frozenset()
        ptr, terms = self._doc_terms
        return frozenset(self._terms[terms[ptr[i]:ptr[i + 1]]].tolist())

    @cached_property
    def _doc_terms(self) -> tuple[np.ndarray, np.ndarray]:
        """Each passage's term ids (row pointers, term ids): bm25s keeps its matrix by term,
        so it is turned once into one by passage, without the scores (4 bytes a posting)."""
        s = self.model.scores
        by_term = sp.csc_matrix((s["data"], s["indices"], s["indptr"]), shape=(s["num_docs"], len(s["indptr"]) - 1))
        by_doc = by_term.tocsr()
        return by_doc.indptr.astype(np.int64), by_doc.indices.astype(np.int32)

    @cached_property
    def _terms(self) -> np.ndarray:
        terms = np.empty(len(self.vocab), dtype=object)
        for term, j in self.vocab.items():
            terms[j] = term
        return terms

    def with_neighbours(self, scores: np.ndarray, weight: float) -> np.ndarray:
        """Add a share of the neighbouring passages' scores: a provision or page continues
        the topic of the ones around it (§ 75 is about innovation partnerships because
        §§ 73-79 are, though it never says the word)."""
        if weight <= 0 or not len(scores):
            return scores
        padded = np.append(scores, 0.0)
        return scores + weight * (padded[self.prev] + padded[self.next])

    def language_count(self, language: str) -> int:
        """How many passages are in `language`."""
        return int(self.language_mask(language).sum())

    def law_mask(self) -> np.ndarray:
        """1 for a statute's passage (source kind "law"), 0 for any other (retrieval ranks them apart)."""
        if "\0law" not in self._masks:
            self._masks["\0law"] = np.array([c.source_kind == "law" for c in self.chunks], dtype=np.float32)
        return self._masks["\0law"]

    def language_mask(self, language: str) -> np.ndarray:
        if language not in self._masks:
            self._masks[language] = np.array(
                [c.language == language for c in self.chunks], dtype=np.float32
            )
        return self._masks[language]

    def scores(self, query_tokens: list[str]) -> np.ndarray:
        known = [t for t in dict.fromkeys(query_tokens) if t in self.vocab]
        if not known or self.model is None:
            return np.zeros(len(self.ids), dtype=np.float32)
        return self.model.get_scores(known)

    def save(self, folder: Path) -> None:
        tmp = folder.with_name(folder.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        if self.model is not None:
            self.model.save(str(tmp / "bm25"))
        with (tmp / "chunks.json").open("w", encoding="utf-8") as f:  # streamed: no 100 MB string
            json.dump({"ids": self.ids, "texts": [c.text for c in self.chunks],
                       "metas": [c.metadata() for c in self.chunks]}, f, ensure_ascii=False)
        shutil.rmtree(folder, ignore_errors=True)
        tmp.rename(folder)  # readers see the whole cache or none of it

    @classmethod
    def load(cls, folder: Path) -> "Bm25Index":
        data = json.loads((folder / "chunks.json").read_text(encoding="utf-8"))
        model = bm25s.BM25.load(str(folder / "bm25")) if data["ids"] else None
        chunks = [Chunk.from_metadata(text, meta) for text, meta in zip(data["texts"], data["metas"], strict=True)]
        return cls(data["ids"], chunks, model)


def _return_freed_memory() -> None:
    """Hand the heap that building or loading the index freed back to the system (glibc keeps
    it otherwise: at 100,000 chunks the process stayed some 500 MB above what it held)."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass  # not glibc: nothing to do


def _passage_tokens(chunk: Chunk) -> list[str]:
    return doc_tokens(chunk.indexed_text, chunk.language)


def _neighbours(chunks: list[Chunk]) -> tuple[np.ndarray, np.ndarray]:
    """Index of the previous and next passage of the same document (-1: none)."""
    n = len(chunks)
    prev = np.full(n, -1, dtype=np.int64)
    nxt = np.full(n, -1, dtype=np.int64)
    order = sorted(range(n), key=lambda i: (chunks[i].source, chunks[i].position))
    for a, b in zip(order, order[1:]):
        if chunks[a].source == chunks[b].source:
            nxt[a], prev[b] = b, a
    return prev, nxt


class Bm25Snapshot:
    """The BM25 index for the store's current state, built once per state and cached on disk."""

    def __init__(self, store: Store, settings: Settings):
        self.store = store
        self.settings = settings
        self._index: Bm25Index | None = None
        self._state = ""
        self._checked = 0.0
        self._lock = threading.Lock()

    @property
    def cache_dir(self) -> Path:
        return Path(self.settings.data_dir) / "bm25"

    def index(self) -> Bm25Index:
        """The BM25 index for the store's current state (rechecked every few seconds)."""
        now = time.monotonic()
        if self._index is not None and now - self._checked < REFRESH_SECONDS:
            return self._index
        with self._lock:
            state = self.store.state()
            self._checked = time.monotonic()
            if self._index is None or state != self._state:
                self._index = self._load_or_build(state)
                self._state = state
                # The index is hundreds of thousands of long-lived objects: keep them out of
                # the cyclic garbage collector's scans, which otherwise stall searches.
                gc.collect()
                gc.freeze()
                _return_freed_memory()
            return self._index

    def refresh(self) -> None:
        """Forget the cached check so the next search sees a just-finished ingest."""
        self._checked = 0.0

    def _load_or_build(self, state: str) -> Bm25Index:
        folder = self.cache_dir / f"{self.settings.collection}-{state}-v{INDEX_VERSION}"
        if (folder / "chunks.json").exists():
            try:
                return Bm25Index.load(folder)
            except (OSError, ValueError, KeyError):
                pass  # a damaged cache is rebuilt from Chroma
        index = Bm25Index.build(self.store)
        try:
            for old in self.cache_dir.glob(f"{self.settings.collection}-*"):
                shutil.rmtree(old, ignore_errors=True)
            index.save(folder)
        except OSError:
            pass  # the cache is an optimisation; searching works without it
        return index
