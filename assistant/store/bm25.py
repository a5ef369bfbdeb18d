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
import os
import shutil
import threading
import time
from array import array
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path

import bm25s
import numpy as np
import scipy.sparse as sp

from assistant.config import Settings
from assistant.ingest.chunking import Chunk
from assistant.store.chroma import Store
from assistant.text.lexicon import is_contents
from assistant.text.words import doc_tokens

INDEX_VERSION = 7  # bump when tokenisation or the snapshot's format changes, so cached indexes are rebuilt
REFRESH_SECONDS = 2.0
# The per-chunk fields whose values repeat across chunks (a document's title and source on
# each of its chunks, a section path on each of its pieces, "da" on most): one string object
# per distinct value instead of one per chunk. At 100,000 chunks the copies took some 60 MB.
_INTERNED = ("source", "title", "section", "heading", "language", "role", "provision", "subsections",
             "jurisdiction", "as_of", "source_kind", "act", "consolidation", "attribution")


class _FileColumn:
    """Variable-length records in one file beside the snapshot (`NAME.bin`, offsets in
    `NAME.npy`), each read with one `pread` when asked for: the chunk texts (some 100 MB at
    100,000 chunks) stay on disk, in the page cache, and out of the process's heap, while a
    search reads only the dozen passages it shows or inspects. pread, not mmap: mapped pages
    would count in the process's memory once touched and stay there."""

    def __init__(self, folder: Path, name: str):
        self.offsets = np.load(folder / f"{name}.npy")
        # Kept open: a newer snapshot may replace (unlink) the folder while this one serves.
        self._fd = os.open(folder / f"{name}.bin", os.O_RDONLY)

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def raw(self, i: int) -> bytes:
        if not -len(self) <= i < len(self):
            raise IndexError(i)
        i %= len(self)
        start, end = int(self.offsets[i]), int(self.offsets[i + 1])
        return os.pread(self._fd, end - start, start) if end > start else b""

    def __getitem__(self, i: int) -> str:
        return self.raw(i).decode("utf-8")

    def __del__(self):
        try:
            os.close(self._fd)
        except (OSError, AttributeError):
            pass

    @staticmethod
    def write(folder: Path, name: str, records) -> None:
        """Write `records` (str or bytes each) as the column `name` in `folder`."""
        offsets = [0]
        with (folder / f"{name}.bin").open("wb") as f:
            for record in records:
                data = record.encode("utf-8") if isinstance(record, str) else bytes(record)
                f.write(data)
                offsets.append(offsets[-1] + len(data))
        np.save(folder / f"{name}.npy", np.asarray(offsets, dtype=np.int64))


class ChunkTable(Sequence):
    """The index's chunks as a sequence of whole `Chunk`s, each put together when read: its
    metadata from memory (`Bm25Index.meta`), its text and quotable units from their column
    (in memory, or read from the snapshot's files). Hot loops over hundreds of passages read
    `Bm25Index.meta` and `Bm25Index.contents` instead."""

    def __init__(self, meta: list[Chunk], texts: Sequence[str], units: Sequence[str]):
        self._meta, self._texts, self._units = meta, texts, units

    def __len__(self) -> int:
        return len(self._meta)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        return replace(self._meta[i], text=self._texts[i], units_json=self._units[i])

    def __iter__(self) -> Iterator[Chunk]:
        return (self[i] for i in range(len(self)))


class Bm25Index:
    """BM25 over every stored chunk, plus the per-chunk facts retrieval needs.

    Token lists are not kept: after indexing only bm25s's sparse matrix remains, and the
    few passages the relevance gate inspects read their tokens back from it (or, for a
    snapshot loaded from disk, from its file). Each chunk's metadata stays in memory, its
    repeated strings shared (`meta(i)`); its text and units are read when a chunk is
    (`chunks[i]`), from the snapshot's files once it is saved (`load`).
    """

    def __init__(self, ids: list[str], chunks: Sequence[Chunk], model: bm25s.BM25 | None, *,
                 columns: "_Columns | None" = None):
        self.ids = ids
        self.model = model
        if columns is None:  # whole chunks in memory (a fresh build, tests)
            table: dict[str, str] = {}
            chunks = list(chunks)
            columns = _Columns(meta=[_interned_chunk(c, table) for c in chunks],
                               texts=[c.text for c in chunks], units=[c.metadata()["units"] for c in chunks],
                               contents=np.array([is_contents(c.text) for c in chunks], dtype=bool))
        self._meta = columns.meta
        self.chunks = ChunkTable(columns.meta, columns.texts, columns.units)
        # Whether each passage is a table of contents (`is_contents`), read once per chunk
        # instead of a text scan of every fused passage per search.
        self.contents = columns.contents
        self._term_column = columns.terms
        self.vocab: dict[str, int] = model.vocab_dict if model is not None else {}
        self.position = {cid: i for i, cid in enumerate(ids)}
        self._masks: dict[str, np.ndarray] = {}
        self._parts: dict[str, LanguagePart] = {}
        meta = self._meta
        self.languages = sorted({c.language for c in meta} - {""})
        self.prev, self.next = _neighbours(meta)
        self.by_provision: dict[str, list[int]] = {}
        for i, chunk in enumerate(meta):
            if chunk.provision:
                self.by_provision.setdefault(chunk.provision, []).append(i)

    def meta(self, i: int) -> Chunk:
        """Chunk `i` without its text and units (both ""): every other field, read from
        memory at no cost. For the loops over every fused passage."""
        return self._meta[i]

    def text(self, i: int) -> str:
        """Chunk `i`'s text (from the snapshot's file when loaded from disk)."""
        return self.chunks._texts[i]

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
        if self._term_column is not None:
            ids = np.frombuffer(self._term_column.raw(i), dtype=np.int32)
        else:
            ptr, terms = self._doc_terms
            ids = terms[ptr[i]:ptr[i + 1]]
        return frozenset(self._terms[ids].tolist())

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
        # In float64, as the gather from `np.append(scores, 0.0)` it replaced computed it.
        return scores + weight * (self._adjacent @ scores.astype(np.float64))

    @cached_property
    def _adjacent(self) -> sp.csr_matrix:
        """Row i holds a 1 for each neighbour of passage i: one sparse product adds up both
        neighbours' scores (a + b, or a alone at a document's edge, as the padded gather it
        replaced summed them) without two gathers and a copy of every score."""
        n = len(self.ids)
        rows, cols = [], []
        for side in (self.prev, self.next):
            has = np.flatnonzero(side >= 0)
            rows.append(has)
            cols.append(side[has])
        rows, cols = np.concatenate(rows), np.concatenate(cols)
        return sp.csr_matrix((np.ones(len(rows), dtype=np.float64), (rows, cols)), shape=(n, n))

    @cached_property
    def kinds(self) -> list[tuple[str, bool]]:
        """Each passage's (language, is a statute's): the dense side splits some four hundred
        neighbours a search by both, one list read each instead of a chunk's fields."""
        shared: dict[tuple[str, bool], tuple[str, bool]] = {}  # a handful of distinct pairs, one object each
        return [shared.setdefault(pair, pair) for pair in ((c.language, c.source_kind == "law") for c in self._meta)]

    def language_part(self, language: str) -> "LanguagePart":
        """The passages a language's BM25 list can hold, for ranking that list on them alone
        (`LanguagePart`); built once per language and snapshot."""
        part = self._parts.get(language)
        if part is None:
            own = np.flatnonzero(self.language_mask(language))
            around = np.concatenate([self.prev[own], self.next[own]])
            positions = np.union1d(own, around[around >= 0]).astype(np.int64)
            adjacent = self._adjacent[positions][:, positions].tocsr()
            adjacent.sort_indices()
            part = self._parts[language] = LanguagePart(
                positions=positions, mask=self.language_mask(language)[positions],
                law=self.law_mask()[positions], adjacent=adjacent)
        return part

    def language_count(self, language: str) -> int:
        """How many passages are in `language`."""
        return int(self.language_mask(language).sum())

    def law_mask(self) -> np.ndarray:
        """1 for a statute's passage (source kind "law"), 0 for any other (retrieval ranks them apart)."""
        if "\0law" not in self._masks:
            self._masks["\0law"] = np.array([c.source_kind == "law" for c in self._meta], dtype=np.float32)
        return self._masks["\0law"]

    def language_mask(self, language: str) -> np.ndarray:
        if language not in self._masks:
            self._masks[language] = np.array(
                [c.language == language for c in self._meta], dtype=np.float32
            )
        return self._masks[language]

    def scores(self, query_tokens: list[str]) -> np.ndarray:
        known = [t for t in dict.fromkeys(query_tokens) if t in self.vocab]
        if not known or self.model is None:
            return np.zeros(len(self.ids), dtype=np.float32)
        return self.model.get_scores(known)

    def save(self, folder: Path) -> None:
        """The snapshot as files: the BM25 model, ids and metadata (JSON), and the columns
        read one record at a time (texts, units, each passage's term ids)."""
        tmp = folder.with_name(folder.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        if self.model is not None:
            self.model.save(str(tmp / "bm25"))
        n = len(self.ids)
        _FileColumn.write(tmp, "texts", (self.text(i) for i in range(n)))
        _FileColumn.write(tmp, "units", (self.chunks._units[i] for i in range(n)))
        if self.model is not None:
            ptr, terms = self._doc_terms
            _FileColumn.write(tmp, "terms", (terms[ptr[i]:ptr[i + 1]].astype(np.int32).tobytes() for i in range(n)))
        np.save(tmp / "contents.npy", self.contents)
        metas = []
        for chunk in self._meta:
            meta = chunk.metadata()
            del meta["units"]  # in its column
            metas.append(meta)
        with (tmp / "chunks.json").open("w", encoding="utf-8") as f:  # streamed: no long string
            json.dump({"ids": self.ids, "metas": metas}, f, ensure_ascii=False)
        shutil.rmtree(folder, ignore_errors=True)
        tmp.rename(folder)  # readers see the whole cache or none of it

    @classmethod
    def load(cls, folder: Path) -> "Bm25Index":
        data = json.loads((folder / "chunks.json").read_text(encoding="utf-8"))
        model = bm25s.BM25.load(str(folder / "bm25")) if data["ids"] else None
        table: dict[str, str] = {}
        meta = [Chunk.from_metadata("", _interned_meta(m, table)) for m in data["metas"]]
        texts, units = _FileColumn(folder, "texts"), _FileColumn(folder, "units")
        if not len(texts) == len(units) == len(meta):
            raise ValueError("snapshot columns of different lengths")
        columns = _Columns(meta=meta, texts=texts, units=units, contents=np.load(folder / "contents.npy"),
                           terms=_FileColumn(folder, "terms") if model is not None else None)
        return cls(data["ids"], [], model, columns=columns)


@dataclass(frozen=True, kw_only=True)
class LanguagePart:
    """One language's share of the index: its passages and their document neighbours
    (`positions`, ascending), whether each is the language's own (`mask`) or a statute's
    (`law`), and the neighbour matrix among them.

    A language's BM25 list scores its own passages (the rest masked to 0) and then adds a
    share of each passage's neighbours' scores (`Bm25Index.with_neighbours`): only these
    positions can end up above zero, so the list is ranked on them alone, a third of the
    store each instead of the whole store three times. The numbers are the same to the bit:
    the same element-wise operations in the same precision, a neighbour outside the part
    holds 0, and a passage has at most two neighbours (a + b is b + a in floating point)."""

    positions: np.ndarray
    mask: np.ndarray
    law: np.ndarray
    adjacent: sp.csr_matrix

    def with_neighbours(self, scores: np.ndarray, weight: float) -> np.ndarray:
        """`Bm25Index.with_neighbours` of scores given at `positions`."""
        if weight <= 0 or not len(scores):
            return scores
        return scores + weight * (self.adjacent @ scores.astype(np.float64))


class _Columns:
    """What `Bm25Index` keeps per chunk: metadata objects, text and units columns, the
    table-of-contents flags and (loaded from disk) each passage's term ids."""

    def __init__(self, *, meta: list[Chunk], texts: Sequence[str], units: Sequence[str], contents: np.ndarray,
                 terms: _FileColumn | None = None):
        self.meta, self.texts, self.units, self.contents, self.terms = meta, texts, units, contents, terms


def _interned_meta(meta: dict, table: dict[str, str]) -> dict:
    """`meta` with its repeated string values replaced by one shared object each."""
    return {k: table.setdefault(v, v) if isinstance(v, str) and k in _INTERNED else v for k, v in meta.items()}


def _interned_chunk(chunk: Chunk, table: dict[str, str]) -> Chunk:
    """`chunk` without text and units, its repeated strings shared (see `_INTERNED`)."""
    return replace(chunk, text="", units_json="", **{
        name: table.setdefault(getattr(chunk, name), getattr(chunk, name)) for name in _INTERNED})


def _return_freed_memory() -> None:
    """Hand the heap that building or loading the index freed back to the system (glibc keeps
    it otherwise: at 100,000 chunks the process stayed some 500 MB above what it held)."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass  # not glibc: nothing to do


def _passage_tokens(chunk: Chunk) -> list[str]:
    return doc_tokens(chunk.indexed_text, chunk.language)


def _neighbours(chunks: Sequence[Chunk]) -> tuple[np.ndarray, np.ndarray]:
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
            # Served from the saved files: the texts the build held go back to the system.
            return Bm25Index.load(folder)
        except (OSError, ValueError, KeyError):
            return index  # the cache is an optimisation; searching works without it (texts in memory)
