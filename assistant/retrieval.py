"""Hybrid retrieval: dense search in Chroma plus BM25, fused by reciprocal rank fusion.

The BM25 index is built from the chunks stored in Chroma and cached on disk under a key
of the store's state, so Chroma stays the one source of truth and every app process
against one Chroma server sees the same corpus. A question that names a provision
("§ 39", "artikel 31", "FOA § 7-9", "stk. 2") gets that provision first. A relevance
gate scores how well the best passages cover the question's own terms; below the
threshold the assistant abstains instead of answering from weak evidence.

A question is searched once per corpus language, each time with its glossary terms in
that language (a "translation" by whole phrases), on both the BM25 and the dense side;
the per-language lists are fused, each weighted by how strong its best match is, so the
Danish law, the Norwegian regulation and the English guides each get a fair ranking.
Jurisdiction then scopes the fused list: a question that names a country prefers that
country's law (and a document it names, "ifølge Barcelonas vejledning", that document);
a Danish or Norwegian question naming none prefers its own country's law.

Fusion weights and the gate come from the calibration of the embedding in use
(`calibration_for`, assistant/data/calibration.yaml). When the embedding endpoint is
down, search runs on BM25 alone and says so (`SearchResult.degraded`); it retries the
endpoint after `embedding_retry_seconds`.
"""

from __future__ import annotations

import gc
import json
import logging
import re
import shutil
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import bm25s
import numpy as np
import yaml

from .chunking import Chunk, normalise_provision
from .config import Settings
from .embeddings import EmbeddingUnavailable
from .glossary import Glossary, default_glossary, equivalent_stems
from .query import COUNTRIES, analyse, mentions
from .store import Store
from .text import content_words, doc_tokens, query_stems, query_tokens, stems, term_weight, words

CANDIDATES = 50
INDEX_VERSION = 6  # bump when tokenisation or the snapshot's format changes, so cached indexes are rebuilt
EVIDENCE_PASSAGES = 3
EXPANSION_WEIGHT = 0.3  # glossary synonyms in the question's own language
TRANSLATION_WEIGHT = 0.8  # glossary terms in another language: they stand in for the question's words
LIST_FLOOR = 0.3  # the weakest per-language list still counts this much of the strongest
NEIGHBOUR_WEIGHT = 0.3
UNSEEN_BOOST = 1.5
LEXICAL_SHARE = 0.6
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


# Jurisdiction scoping (factors on the fused score). A named country's law comes first and
# another country's law falls back; EU law applies in both countries, so it stays neutral
# (preferred when the question names the EU). Guidance without a jurisdiction is neutral.
NAMED_BOOST = 1.5
OTHER_COUNTRY = 0.5
OWN_COUNTRY_BOOST = 1.15  # an unscoped Danish/Norwegian question: its own country's law
NEIGHBOUR_COUNTRY = 0.9
NAMED_DOCUMENT_BOOST = 1.5
LANGUAGE_JURISDICTION = {"da": "DK", "nb": "NO"}
# A table of contents ("1. INNOVATING THROUGH ... ......... 5" three times) names every topic
# and answers none: it falls back behind the passages it points to.
CONTENTS_FACTOR = 0.3
_LEADER = re.compile(r"\.{5,}|(?:\. ){4,}|…{3,}")

log = logging.getLogger(__name__)

DEGRADED_NOTICE = {
    "da": "Søgningen bruger lige nu kun ordsøgning, fordi embedding-serveren ikke svarer. Svaret kan "
          "overse kilder, der bruger andre ord end spørgsmålet.",
    "nb": "Søket bruker nå bare ordsøk, fordi embedding-serveren ikke svarer. Svaret kan overse kilder "
          "som bruker andre ord enn spørsmålet.",
    "en": "Search is using keyword search only because the embedding server is not answering. The answer "
          "may miss sources that use other words than the question.",
}


@dataclass(frozen=True, kw_only=True)
class Calibration:
    """Fusion weights and the gate for one embedding (see assistant/data/calibration.yaml)."""

    key: str
    dense_weight: float
    bm25_weight: float
    dense_full: float  # dense similarity of the best passage that counts as full support
    abstain_threshold: float
    calibrated_with: str = ""


CALIBRATION_PATH = Path(__file__).parent / "data" / "calibration.yaml"
# For an embedding nobody has calibrated: dense and BM25 alike, and a dense scale typical of
# transformer embeddings (their cosines sit high); `assistant calibrate` replaces it.
UNCALIBRATED = {"dense_weight": 1.0, "bm25_weight": 1.0, "dense_full": 0.85, "abstain_threshold": 0.48}


def calibration_for(embedding, settings: Settings, path: Path | None = None) -> Calibration:
    """The embedding's calibrated values, each overridden by its setting when one is set."""
    key = getattr(embedding, "calibration_key", None) or embedding.name()
    try:
        table = yaml.safe_load(Path(path or CALIBRATION_PATH).read_text(encoding="utf-8")) or {}
    except OSError:
        table = {}
    entry = table.get(key) or {**UNCALIBRATED, "calibrated_with": "not calibrated: generic defaults"}
    values = {name: float(entry.get(name, UNCALIBRATED[name])) for name in UNCALIBRATED}
    for name in UNCALIBRATED:
        override = getattr(settings, name, None)
        if override is not None:
            values[name] = float(override)
    return Calibration(key=key, calibrated_with=str(entry.get("calibrated_with", "")), **values)


def passage_jurisdiction(chunk: Chunk) -> str:
    """DK, NO, EU or "" (guidance with no jurisdiction): the front matter's, else the law's language."""
    explicit = chunk.jurisdiction.strip().upper()
    return explicit or LANGUAGE_JURISDICTION.get(chunk.language, "")


@dataclass(frozen=True, kw_only=True)
class Hit:
    """A retrieved passage: the stored chunk with its fused score and dense similarity.

    The chunk's fields read through (`hit.source`, `hit.section`, ...)."""

    id: str
    chunk: Chunk
    score: float
    dense: float = 0.0

    @classmethod
    def from_chunk(cls, id: str, chunk: Chunk, *, score: float, dense: float = 0.0) -> "Hit":
        return cls(id=id, chunk=chunk, score=score, dense=dense)

    text = property(lambda self: self.chunk.text)
    source = property(lambda self: self.chunk.source)
    title = property(lambda self: self.chunk.title)
    section = property(lambda self: self.chunk.section)
    page = property(lambda self: self.chunk.page)
    language = property(lambda self: self.chunk.language)
    provision = property(lambda self: self.chunk.provision)
    role = property(lambda self: self.chunk.role)  # body | steps | pitfalls | sources (its heading)
    jurisdiction = property(lambda self: self.chunk.jurisdiction)
    as_of = property(lambda self: self.chunk.as_of)
    # As stored: the quotable units as JSON (chunking.units_to_json), the links space-separated.
    units = property(lambda self: self.chunk.units_json)
    official_urls = property(lambda self: " ".join(self.chunk.official_urls))
    sources = property(lambda self: self.chunk.sources)  # the document's front matter
    topics = property(lambda self: self.chunk.topics)


@dataclass
class SearchResult:
    query: str
    hits: list[Hit]
    evidence: float  # 0..1: how well the best passages cover the question's terms
    abstain: bool
    expansions: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    # Why this result is weaker than usual, for the log ("" or None: it is not); the answer
    # shows `notice(language)` beside it. Set when the embedding endpoint is down.
    degraded: str | None = None
    scope: list[str] = field(default_factory=list)  # jurisdictions the question was scoped to

    def notice(self, language: str) -> str:
        """The buyer-facing note for a degraded search ("" when search ran in full)."""
        return DEGRADED_NOTICE.get(language, DEGRADED_NOTICE["en"]) if self.degraded else ""


class Bm25Index:
    """BM25 over every stored chunk, plus the per-chunk facts retrieval needs.

    Token lists are not kept: after indexing only bm25s's sparse matrix remains, and the
    few passages the relevance gate inspects are re-tokenised on demand.
    """

    def __init__(self, ids: list[str], chunks: list[Chunk], model: bm25s.BM25 | None):
        self.ids = ids
        self.chunks = chunks
        self.model = model
        self.vocab: dict[str, int] = model.vocab_dict if model is not None else {}
        self.position = {cid: i for i, cid in enumerate(ids)}
        self._masks: dict[str, np.ndarray] = {}
        self.languages = sorted({c.language for c in chunks} - {""})
        self._tokens: dict[int, frozenset[str]] = {}
        self.prev, self.next = _neighbours(chunks)
        self.by_provision: dict[str, list[int]] = {}
        for i, chunk in enumerate(chunks):
            if chunk.provision:
                self.by_provision.setdefault(chunk.provision, []).append(i)

    @classmethod
    def build(cls, store: Store) -> "Bm25Index":
        ids, chunks, tokens = [], [], []
        for stored in store.all_chunks():
            ids.append(stored.id)
            chunks.append(stored.chunk)
            tokens.append(_passage_tokens(stored.chunk))
        model = None
        if ids:
            model = bm25s.BM25()
            model.index(tokens, show_progress=False)
        return cls(ids, chunks, model)

    def passage_tokens(self, i: int) -> frozenset[str]:
        if i not in self._tokens:
            if len(self._tokens) > 5000:
                self._tokens.clear()
            self._tokens[i] = frozenset(_passage_tokens(self.chunks[i]))
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
        (tmp / "chunks.json").write_text(
            json.dumps({"ids": self.ids, "texts": [c.text for c in self.chunks],
                        "metas": [c.metadata() for c in self.chunks]}, ensure_ascii=False),
            encoding="utf-8",
        )
        shutil.rmtree(folder, ignore_errors=True)
        tmp.rename(folder)  # readers see the whole cache or none of it

    @classmethod
    def load(cls, folder: Path) -> "Bm25Index":
        data = json.loads((folder / "chunks.json").read_text(encoding="utf-8"))
        model = bm25s.BM25.load(str(folder / "bm25")) if data["ids"] else None
        chunks = [Chunk.from_metadata(text, meta) for text, meta in zip(data["texts"], data["metas"], strict=True)]
        return cls(data["ids"], chunks, model)


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
        self.calibration = calibration_for(store.embedding, settings)
        self._dense_down_until = 0.0  # while the endpoint is down, skip it until then
        self._dense_error = ""

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

    def search(self, query: str, k: int | None = None, *,
               translations: dict[str, str] | None = None) -> SearchResult:
        """The fused, scoped hits for `query` and whether to abstain.

        `translations` ({"da": "...", "nb": "...", "en": "..."}, optional) are renderings of
        the question in corpus languages (LLM mode makes them): each language's search then
        also uses its rendering, on the BM25 side as translated terms and on the dense side
        as the text embedded. The gate still judges the question as asked.
        """
        k = k or self.settings.top_k
        translations = {lang: text.strip() for lang, text in (translations or {}).items() if text and text.strip()}
        started = time.perf_counter()
        index = self.index()
        asked = analyse(query, today=self.settings.today)
        concepts = self.glossary.match(query)
        # The question's glossary terms per corpus language: its "translation" into each.
        translated = {
            lang: list(dict.fromkeys(t for concept, _ in concepts for t in concept.terms.get(lang, ())
                                     if t not in query.lower()))
            for lang in index.languages
        }
        for lang, text in translations.items():
            if lang in translated and lang != asked.language:
                translated[lang].append(text)
        t_expand = time.perf_counter()

        bm25_lists = self._bm25_lists(index, query, asked.language, translated, concepts)
        t_bm25 = time.perf_counter()
        dense_lists, cosine, degraded = self._dense_lists(index, query, translated, translations)
        t_dense = time.perf_counter()

        cal = self.calibration
        fused = fuse([(cal.bm25_weight, bm25_lists), (cal.dense_weight, dense_lists)], self.settings.rrf_k)

        scope = sorted(asked.countries)
        for i, factor in self._scope(asked, index, fused).items():
            fused[i] *= factor
        order = sorted(fused, key=lambda i: -fused[i])
        order = self._provisions_first(query, index, order, fused)
        hits = [Hit.from_chunk(index.ids[i], index.chunks[i], score=round(fused.get(i, 0.0), 6),
                               dense=round(cosine.get(i, 0.0), 4))
                for i in order[: max(k, 10)]]
        best_dense = None if degraded else max(cosine.values(), default=0.0)
        evidence = self.evidence(query, index, order[:5], concepts, best_dense)
        abstain = not hits or evidence < cal.abstain_threshold
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
            degraded=degraded,
            scope=scope,
        )

    def _bm25_lists(self, index: Bm25Index, query: str, language: str, translated: dict[str, list[str]],
                    concepts) -> list[tuple[float, list[int]]]:
        """One BM25 ranking per corpus language: the question's words plus its glossary terms
        in that language (synonyms weigh little in the question's own language; in another
        language they stand in for the question's words)."""
        tokens = [t for w in content_words(query) for t in query_tokens(w)]
        base = index.scores(tokens)
        rankings = []
        for lang in index.languages:
            scores = base
            extra = [s for term in translated.get(lang, []) for s in stems(words(term), lang)]
            if extra:
                weight = EXPANSION_WEIGHT if lang == language else TRANSLATION_WEIGHT
                scores = base + weight * index.scores(extra)
            scores = index.with_neighbours(scores * index.language_mask(lang), NEIGHBOUR_WEIGHT)
            top = [i for i in np.argsort(-scores)[:CANDIDATES] if scores[i] > 0]
            if top:
                # Raw BM25 scores do not compare across lists (a translated list sums many
                # glossary stems); how much of the question its best passage covers does.
                rankings.append((self.coverage(query, index, top[:1], concepts), top))
        return _weighted(rankings)

    def _dense_lists(self, index: Bm25Index, query: str, translated: dict[str, list[str]],
                     translations: dict[str, str] | None = None):
        """One dense ranking per corpus language (the question with that language's glossary
        terms), the cosine of every passage seen, and why dense search was skipped (or None)."""
        if not index.ids:
            return [], {}, None
        if time.monotonic() < self._dense_down_until:
            return [], {}, self._dense_error
        rankings, cosine = [], {}
        for lang in index.languages:
            rendering = (translations or {}).get(lang)
            terms = [t for t in translated.get(lang, []) if t != rendering][:12]
            text = "\n".join([rendering or query] + terms)
            try:
                found = self.store.query(self.store.embed_query(text), CANDIDATES, where=Chunk.where(language=lang))
            except EmbeddingUnavailable as exc:
                self._dense_error = str(exc)
                self._dense_down_until = time.monotonic() + self.settings.embedding_retry_seconds
                log.warning("answering from BM25 alone for %.0f s: %s", self.settings.embedding_retry_seconds, exc)
                return [], {}, self._dense_error
            order = []
            for chunk, sim in found:
                i = index.position.get(chunk.id)
                if i is None:
                    continue  # written after the BM25 snapshot; picked up on the next refresh
                cosine[i] = sim
                order.append(i)
            if order:
                rankings.append((max(cosine[order[0]], 1e-6), order))
        return _weighted(rankings), cosine, None

    def _scope(self, asked, index: Bm25Index, fused: dict[int, float]) -> dict[int, float]:
        """Jurisdiction and named-document factors for the fused scores (see module docstring)."""
        named = set(asked.countries)
        own = LANGUAGE_JURISDICTION.get(asked.language, "")
        documents = [h for h in asked.hinges if h.lower() not in COUNTRIES]
        factors: dict[int, float] = {}
        by_source: dict[str, float] = {}
        for i in fused:
            chunk = index.chunks[i]
            where = passage_jurisdiction(chunk)
            factor = 1.0
            national = named - {"EU"}
            if national:
                if where in national:
                    factor *= NAMED_BOOST
                elif where and where != "EU":
                    factor *= OTHER_COUNTRY
            else:
                # No country named: a Danish or Norwegian question prefers its own country's
                # law; one that names the EU prefers EU law as much.
                if "EU" in named and where == "EU":
                    factor *= OWN_COUNTRY_BOOST
                elif own and where == own:
                    factor *= OWN_COUNTRY_BOOST
                elif own and where and where != "EU":
                    factor *= NEIGHBOUR_COUNTRY
            if len(_LEADER.findall(chunk.text)) >= 3:
                factor *= CONTENTS_FACTOR
            if documents:
                source = chunk.source
                if source not in by_source:
                    label = f"{source} {chunk.title}".replace("_", " ")
                    by_source[source] = NAMED_DOCUMENT_BOOST if any(mentions(h, label) for h in documents) else 1.0
                factor *= by_source[source]
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
                chunk = index.chunks[i]
                bonus = 1.0
                if law and law in chunk.source.lower():
                    bonus += 1.0
                if sub and sub in _sub_range(chunk.subsections):
                    bonus += 0.5
                scored[i] = max(scored.get(i, 0.0), bonus + fused.get(i, 0.0) * 10)
        first = sorted(scored, key=lambda i: -scored[i])
        if not any(law for _, _, law in wanted):
            # Without a named law, prefer the provision from the documents already ranked well.
            first.sort(key=lambda i: -(scored[i] + (1.0 if i in order[:CANDIDATES] else 0.0)))
        seen = set(first)
        return first + [i for i in order if i not in seen]

    def coverage(self, query: str, index: Bm25Index, top: list[int], concepts) -> float:
        """The lexical share of `evidence`: how much of the question the passages cover, with a
        glossary term counting in any language, so passages in different languages compare."""
        return self.evidence(query, index, top, concepts, None)

    def evidence(self, query: str, index: Bm25Index, top: list[int], concepts, dense: float | None = 0.0) -> float:
        """How well the best passages support the question, from 0 to 1.

        Mostly lexical: the share of the question's words found in the top passages,
        each word weighted by how specific it is in general language (wordfreq's Zipf
        scale: "barsel" or "Mercell" weigh far more than "går" or "actually"). A word
        counts as found when any of its stems, or (for a glossary term) any term of
        the same concept in any language, or (for a compound) all its parts occur.
        Words the corpus has never seen weigh extra: a question about something absent
        scores low. The dense similarity of the best passage is blended in, on the
        embedding's calibrated scale; without one (`dense=None`: the endpoint is down) the
        lexical share alone decides.
        """
        terms = [w for w in dict.fromkeys(content_words(query)) if not w.isdigit() or len(w) >= 3]
        if not terms or not top:
            return 0.0
        concept_stems = equivalent_stems(concepts)
        passage = set().union(*(index.passage_tokens(i) for i in top[:EVIDENCE_PASSAGES]))
        found = total = 0.0
        for w in terms:
            weight = term_weight(w)
            variants = [query_stems(w)] if w in concept_stems else _compound_variants(w, index)
            if not variants:
                weight *= UNSEEN_BOOST
            total += weight
            if concept_stems.get(w, set()) & passage or any(all(p & passage for p in v) if isinstance(v, list) else v & passage for v in variants):
                found += weight
        lexical = found / total if total else 0.0
        if asks_for_amount(query) and not any(AMOUNT.search(index.chunks[i].text) for i in top[:EVIDENCE_PASSAGES]):
            lexical *= 0.5  # "what did it cost?" needs a passage that states an amount
        if dense is None:
            return lexical
        return LEXICAL_SHARE * lexical + (1 - LEXICAL_SHARE) * min(1.0, dense / self.calibration.dense_full)


def fuse(sides: list[tuple[float, list[tuple[float, list[int]]]]], rrf_k: int) -> dict[int, float]:
    """Weighted reciprocal rank fusion: each side (BM25, dense) has a weight and one ranking
    per language with its strength; a passage gains weight * strength / (rrf_k + rank) from
    every ranking it is in (rank counted from 1)."""
    fused: dict[int, float] = {}
    for weight, rankings in sides:
        for strength, order in rankings:
            for rank, i in enumerate(order, start=1):
                fused[i] = fused.get(i, 0.0) + weight * strength / (rrf_k + rank)
    return fused


def _weighted(rankings: list[tuple[float, list[int]]]) -> list[tuple[float, list[int]]]:
    """(strength, ranking) per language list: its best match relative to the strongest list's,
    never below LIST_FLOOR, so a language with no real match does not take the top of the
    fused list and one with a match as good as the best gets an equal share of it."""
    if not rankings:
        return []
    best = max(score for score, _ in rankings) or 1.0
    return [(max(LIST_FLOOR, score / best), order) for score, order in rankings]


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
