"""Hybrid retrieval: dense search in Chroma plus BM25, fused by reciprocal rank fusion.

The BM25 index is built from the chunks stored in Chroma and cached on disk under a key
of the store's state, so Chroma stays the one source of truth and every app process
against one Chroma server sees the same corpus. A question that names a provision
("§ 39", "artikel 31", "FOA § 7-9", "stk. 2") gets that provision first. A relevance
gate scores how well the best passages cover the question's own terms; below the
threshold the assistant abstains instead of answering from weak evidence.
"""

from __future__ import annotations

import gc
import json
import re
import shutil
import threading
import time
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import bm25s
import numpy as np

from .chunking import indexed_text, normalise_provision
from .config import Settings
from .glossary import Glossary, default_glossary, equivalent_stems
from .store import Store, StoredChunk
from .text import content_words, doc_tokens, query_stems, query_tokens, stems, words

CANDIDATES = 50
INDEX_VERSION = 5  # bump when tokenisation changes, so cached indexes are rebuilt
EVIDENCE_PASSAGES = 3
EXPANSION_WEIGHT = 0.3
NEIGHBOUR_WEIGHT = 0.3
UNSEEN_BOOST = 1.5
LEXICAL_SHARE = 0.6
DENSE_FULL = 0.45  # a char-n-gram cosine this high counts as full dense support
REFRESH_SECONDS = 2.0

# Names a buyer uses for the laws in the corpus, mapped to a piece of the file name.
LAW_ALIASES = {
    "foa": "anskaffelsesforskrift", "anskaffelsesforskriften": "anskaffelsesforskrift",
    "loa": "anskaffelseslov", "anskaffelsesloven": "anskaffelseslov",
    "udbudsloven": "udbudslov", "udbl": "udbudslov", "ul": "udbudslov",
    "direktivet": "direktiv", "directive": "direktiv",
}
_PROVISION_QUERY = re.compile(
    r"(?:(?P<law>\b[a-zæøå]+\b)\s+)?(?P<label>§+\s*\d+(?:-\d+)?(?:\s?[a-z]\b)?|"
    r"\b(?:artikel|article|art\.?)\s*\d+[a-z]?)"
    r"(?:[,\s]+(?:stk\.?|nr\.?|ledd|paragraph)?\s*\(?(?P<sub>\d+)\)?(?:\s*ledd)?)?",
    re.I,
)
_STK_ONLY = re.compile(r"\bstk\.?\s*(\d+)", re.I)


COUNTRY_BOOST = 1.2
COUNTRY_WORDS = {
    "denmark": "da", "danish": "da", "danmark": "da", "dansk": "da", "danske": "da",
    "norway": "nb", "norwegian": "nb", "norge": "nb", "norsk": "nb", "norske": "nb",
}

@dataclass
class Hit:
    """A retrieved passage with its fused score."""

    id: str
    text: str
    source: str
    title: str
    section: str
    page: int
    language: str
    score: float
    provision: str = ""
    dense: float = 0.0
    role: str = "body"  # body | steps | pitfalls | sources (from the chunk's section heading)
    units: str = ""  # the chunk's quotable units (JSON, see chunking.units_to_json)
    jurisdiction: str = ""
    as_of: str = ""
    official_urls: str = ""  # space-separated links from the document's front matter

    @classmethod
    def from_stored(cls, chunk: StoredChunk, score: float, dense: float = 0.0) -> "Hit":
        m = chunk.meta
        return cls(
            id=chunk.id, text=chunk.text, source=m.get("source", ""), title=m.get("title", ""),
            section=m.get("section", ""), page=int(m.get("page") or 0),
            language=m.get("language", ""), score=score, provision=m.get("provision", ""),
            dense=dense,
        )


@dataclass
class SearchResult:
    query: str
    hits: list[Hit]
    evidence: float  # 0..1: how well the best passages cover the question's terms
    abstain: bool
    expansions: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)


class Bm25Index:
    """BM25 over every stored chunk, plus the per-chunk facts retrieval needs.

    Token lists are not kept: after indexing only bm25s's sparse matrix remains, and the
    few passages the relevance gate inspects are re-tokenised on demand.
    """

    def __init__(self, ids: list[str], metas: list[dict], texts: list[str], model: bm25s.BM25 | None):
        self.ids = ids
        self.metas = metas
        self.texts = texts
        self.model = model
        self.vocab: dict[str, int] = model.vocab_dict if model is not None else {}
        self.position = {cid: i for i, cid in enumerate(ids)}
        self._masks: dict[str, np.ndarray] = {}
        self._tokens: dict[int, frozenset[str]] = {}
        self.prev, self.next = _neighbours(metas)
        self.by_provision: dict[str, list[int]] = {}
        for i, meta in enumerate(metas):
            if meta.get("provision"):
                self.by_provision.setdefault(meta["provision"], []).append(i)

    @classmethod
    def build(cls, store: Store) -> "Bm25Index":
        ids, metas, texts, tokens = [], [], [], []
        for chunk in store.all_chunks():
            ids.append(chunk.id)
            metas.append(_slim(chunk.meta))
            texts.append(chunk.text)
            tokens.append(_passage_tokens(metas[-1], chunk.text))
        model = None
        if ids:
            model = bm25s.BM25()
            model.index(tokens, show_progress=False)
        return cls(ids, metas, texts, model)

    def passage_tokens(self, i: int) -> frozenset[str]:
        if i not in self._tokens:
            if len(self._tokens) > 5000:
                self._tokens.clear()
            self._tokens[i] = frozenset(_passage_tokens(self.metas[i], self.texts[i]))
        return self._tokens[i]

    def with_neighbours(self, scores: np.ndarray, weight: float) -> np.ndarray:
        """Add a share of the neighbouring passages' scores: a provision or page continues
        the topic of the ones around it (§ 75 is about innovation partnerships because
        §§ 73-79 are, though it never says the word)."""
        if weight <= 0 or not len(scores):
            return scores
        padded = np.append(scores, 0.0)
        return scores + weight * (padded[self.prev] + padded[self.next])

    def language_mask(self, language: str) -> np.ndarray:
        if language not in self._masks:
            self._masks[language] = np.array(
                [m.get("language") == language for m in self.metas], dtype=np.float32
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
        (tmp / "chunks.json").write_text(
            json.dumps({"ids": self.ids, "metas": self.metas, "texts": self.texts}, ensure_ascii=False),
            encoding="utf-8",
        )
        shutil.rmtree(folder, ignore_errors=True)
        tmp.rename(folder)  # readers see the whole cache or none of it

    @classmethod
    def load(cls, folder: Path) -> "Bm25Index":
        data = json.loads((folder / "chunks.json").read_text(encoding="utf-8"))
        model = bm25s.BM25.load(str(folder / "bm25")) if data["ids"] else None
        return cls(data["ids"], data["metas"], data["texts"], model)


def _passage_tokens(meta: dict, text: str) -> list[str]:
    full = indexed_text(meta.get("title", ""), meta.get("section", ""), meta.get("heading", ""), text)
    return doc_tokens(full, meta.get("language", "da"))


def _neighbours(metas: list[dict]) -> tuple[np.ndarray, np.ndarray]:
    """Index of the previous and next passage of the same document (-1: none)."""
    n = len(metas)
    prev = np.full(n, -1, dtype=np.int64)
    nxt = np.full(n, -1, dtype=np.int64)
    order = sorted(range(n), key=lambda i: (metas[i].get("source", ""), int(metas[i].get("position") or 0)))
    for a, b in zip(order, order[1:]):
        if metas[a].get("source") == metas[b].get("source"):
            nxt[a], prev[b] = b, a
    return prev, nxt


def _slim(meta: dict) -> dict:
    keys = ("source", "title", "section", "page", "language", "provision", "subsections", "heading", "position",
            "role", "units", "jurisdiction", "as_of", "official_urls")
    return {k: meta.get(k, "") for k in keys}


class Retriever:
    """Hybrid search over the store, with the relevance gate."""

    def __init__(self, store: Store, settings: Settings, glossary: Glossary | None = None):
        self.store = store
        self.settings = settings
        self.glossary = glossary or default_glossary()
        self._index: Bm25Index | None = None
        self._state = ""
        self._checked = 0.0
        self._lock = threading.Lock()

    # --- the BM25 side, kept in step with Chroma -------------------------------------------

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

    # --- search -----------------------------------------------------------------------------

    def search(self, query: str, k: int | None = None) -> SearchResult:
        k = k or self.settings.top_k
        started = time.perf_counter()
        index = self.index()
        concepts = self.glossary.match(query)
        expansion_terms = [
            (lang, term) for concept, _ in concepts for lang, term in concept.all_terms()
            if term not in query.lower()
        ]
        t_expand = time.perf_counter()

        bm25 = self._bm25(index, query, expansion_terms)
        bm25_order = [i for i in np.argsort(-bm25)[:CANDIDATES] if bm25[i] > 0]
        t_bm25 = time.perf_counter()

        dense_query = "\n".join([query] + [term for _, term in expansion_terms[:12]])
        dense = self.store.query(self.store.embed_query(dense_query), CANDIDATES) if index.ids else []
        t_dense = time.perf_counter()

        fused: dict[int, float] = {}
        cosine: dict[int, float] = {}
        for rank, i in enumerate(bm25_order):
            fused[i] = fused.get(i, 0.0) + self.settings.bm25_weight / (self.settings.rrf_k + rank + 1)
        for rank, (chunk, sim) in enumerate(dense):
            i = index.position.get(chunk.id)
            if i is None:
                continue  # written after the BM25 snapshot; picked up on the next refresh
            cosine[i] = sim
            fused[i] = fused.get(i, 0.0) + self.settings.dense_weight / (self.settings.rrf_k + rank + 1)

        for i, factor in self._scope(query, index, fused).items():
            fused[i] *= factor
        order = sorted(fused, key=lambda i: -fused[i])
        order = self._provisions_first(query, index, order, fused)
        hits = [
            Hit(id=index.ids[i], text=index.texts[i], score=round(fused.get(i, 0.0), 6),
                dense=round(cosine.get(i, 0.0), 4), **_hit_meta(index.metas[i]))
            for i in order[: max(k, 10)]
        ]
        evidence = self.evidence(query, index, order[:5], concepts, max(cosine.values(), default=0.0))
        abstain = not hits or evidence < self.settings.abstain_threshold
        done = time.perf_counter()
        return SearchResult(
            query=query,
            hits=hits[: max(k, 10)],
            evidence=round(evidence, 4),
            abstain=abstain,
            expansions=[c.id for c, _ in concepts],
            timings={
                "expand_ms": (t_expand - started) * 1000,
                "bm25_ms": (t_bm25 - t_expand) * 1000,
                "dense_ms": (t_dense - t_bm25) * 1000,
                "total_ms": (done - started) * 1000,
            },
        )

    def _bm25(self, index: Bm25Index, query: str, expansion_terms: list[tuple[str, str]]) -> np.ndarray:
        """BM25 of the question, plus its glossary terms in each passage's own language.

        Passages are monolingual, so a Danish passage is scored with the question's
        Danish glossary terms, a Norwegian one with the Norwegian terms, and so on:
        a question in one language reaches the law written in another.
        """
        tokens = [t for w in content_words(query) for t in query_tokens(w)]
        scores = index.scores(tokens)
        if not expansion_terms:
            return index.with_neighbours(scores, NEIGHBOUR_WEIGHT)
        for lang in ("da", "nb", "en"):
            extra = [s for term_lang, term in expansion_terms if term_lang == lang
                     for s in stems(words(term), lang)]
            mask = index.language_mask(lang)
            if extra and mask.any():
                scores = scores + EXPANSION_WEIGHT * index.scores(extra) * mask
        return index.with_neighbours(scores, NEIGHBOUR_WEIGHT)

    def _scope(self, query: str, index: Bm25Index, fused: dict[int, float]) -> dict[int, float]:
        """Boost passages in the language of a country the question names
        ("under the Danish act", "i norsk rett"): such a question is scoped to its law."""
        qwords = set(words(query))
        languages = {lang for word, lang in COUNTRY_WORDS.items() if word in qwords}
        factors: dict[int, float] = {}
        for i in fused:
            meta = index.metas[i]
            factor = 1.0
            if languages and meta.get("language") in languages:
                factor *= COUNTRY_BOOST
            if factor != 1.0:
                factors[i] = factor
        return factors

    def _provisions_first(self, query: str, index: Bm25Index, order: list[int], fused) -> list[int]:
        wanted = parse_provisions(query)
        if not wanted:
            return order
        scored: dict[int, float] = {}
        for provision, sub, law in wanted:
            for i in index.by_provision.get(provision, []):
                meta = index.metas[i]
                bonus = 1.0
                if law and law in meta.get("source", "").lower():
                    bonus += 1.0
                if sub and sub in _sub_range(meta.get("subsections", "")):
                    bonus += 0.5
                scored[i] = max(scored.get(i, 0.0), bonus + fused.get(i, 0.0) * 10)
        first = sorted(scored, key=lambda i: -scored[i])
        if not any(law for _, _, law in wanted):
            # Without a named law, prefer the provision from the documents already ranked well.
            first.sort(key=lambda i: -(scored[i] + (1.0 if i in order[:CANDIDATES] else 0.0)))
        seen = set(first)
        return first + [i for i in order if i not in seen]

    def evidence(self, query: str, index: Bm25Index, top: list[int], concepts, dense: float = 0.0) -> float:
        """How well the best passages support the question, from 0 to 1.

        Mostly lexical: the share of the question's words found in the top passages,
        each word weighted by how specific it is in general language (wordfreq's Zipf
        scale: "barsel" or "Mercell" weigh far more than "går" or "actually"). A word
        counts as found when any of its stems, or (for a glossary term) any term of
        the same concept in any language, or (for a compound) all its parts occur.
        Words the corpus has never seen weigh extra: a question about something absent
        scores low. The dense similarity of the best passage is blended in.
        """
        terms = [w for w in dict.fromkeys(content_words(query)) if not w.isdigit() or len(w) >= 3]
        if not terms or not top:
            return 0.0
        concept_stems = equivalent_stems(concepts)
        passage = set().union(*(index.passage_tokens(i) for i in top[:EVIDENCE_PASSAGES]))
        found = total = 0.0
        for w in terms:
            weight = max(0.5, 7.0 - zipf(w))
            variants = [query_stems(w)] if w in concept_stems else _compound_variants(w, index)
            if not variants:
                weight *= UNSEEN_BOOST
            total += weight
            if concept_stems.get(w, set()) & passage or any(all(p & passage for p in v) if isinstance(v, list) else v & passage for v in variants):
                found += weight
        lexical = found / total if total else 0.0
        if asks_for_amount(query) and not any(AMOUNT.search(index.texts[i]) for i in top[:EVIDENCE_PASSAGES]):
            lexical *= 0.5  # "what did it cost?" needs a passage that states an amount
        return LEXICAL_SHARE * lexical + (1 - LEXICAL_SHARE) * min(1.0, dense / DENSE_FULL)


def _hit_meta(meta: dict) -> dict:
    return {
        "source": meta.get("source", ""), "title": meta.get("title", ""),
        "section": meta.get("section", ""), "page": int(meta.get("page") or 0),
        "language": meta.get("language", ""), "provision": meta.get("provision", ""),
        "role": meta.get("role") or "body", "units": meta.get("units") or "",
        "jurisdiction": meta.get("jurisdiction") or "", "as_of": meta.get("as_of") or "",
        "official_urls": meta.get("official_urls") or "",
    }


_AMOUNT_QUESTION = re.compile(
    r"\b(?:koste[rt]?|kostede|betalte?|betalt|paid|pay|costs?|price|priced|fees?|gebyr(?:et)?|"
    r"pris(?:en)?|afgift(?:en)?|avgift(?:en)?)\b",
    re.I,
)
AMOUNT = re.compile(
    r"(?:\d[\d.,\s]*\s*(?:kr\b|kroner|dkk|nok|eur|euro|€|mio|mia|million|billion|mill\.|"
    r"pct|procent|prosent|percent|%))|(?:(?:dkk|nok|eur|€|kr\.?)\s*\d)",
    re.I,
)


def asks_for_amount(question: str) -> bool:
    return bool(_AMOUNT_QUESTION.search(question))


@lru_cache(maxsize=50_000)
def zipf(word: str) -> float:
    """How common a word is in Danish, Norwegian or English text (0 = unknown, 7 = "og")."""
    from wordfreq import zipf_frequency

    return max(zipf_frequency(word, lang) for lang in ("da", "nb", "en"))


def _compound_variants(word: str, index: Bm25Index) -> list:
    """Ways the corpus knows a word: its stems, or a Danish/Norwegian compound's parts.

    Returns [] when the corpus has never seen the word in any form.
    """
    stems_ = query_stems(word)
    if stems_ & index.vocab.keys():
        return [stems_]
    if len(word) >= 8:
        for cut in range(4, len(word) - 3):
            head, tail = word[:cut], word[cut:]
            for h in (head, head[:-1] if head.endswith(("s", "e")) else None):
                if h and query_stems(h) & index.vocab.keys() and query_stems(tail) & index.vocab.keys():
                    return [[query_stems(h), query_stems(tail)]]
    return []


def _sub_range(value: str) -> set[str]:
    if not value:
        return set()
    if "-" in value:
        a, b = value.split("-", 1)
        if a.isdigit() and b.isdigit():
            return {str(n) for n in range(int(a), int(b) + 1)}
    return {value}


def parse_provisions(query: str) -> list[tuple[str, str, str]]:
    """(provision, sub-section, law hint) for each provision the question names."""
    found = []
    for m in _PROVISION_QUERY.finditer(query):
        label = normalise_provision(m.group("label").replace("§§", "§"))
        law = LAW_ALIASES.get((m.group("law") or "").lower(), "")
        sub = m.group("sub") or ""
        if not sub:
            stk = _STK_ONLY.search(query[m.end() : m.end() + 20])
            sub = stk.group(1) if stk else ""
        found.append((label, sub, law))
    if not found:
        return []
    # A law named anywhere in the question applies to every provision in it.
    laws = [LAW_ALIASES[w] for w in words(query) if w in LAW_ALIASES]
    return [(p, s, law or (laws[0] if laws else "")) for p, s, law in found]
