"""Hybrid retrieval as named stages: analyse the question once, rank with BM25 and with the
dense embedding per corpus language, fuse, boost, gate.

1. `analyse_search` (once per question): its language, countries, kind and hinges
   (`query.analyse`), the glossary concepts it names and their terms per corpus language
   (a "translation" by whole phrases, plus LLM renderings when given), the provisions it
   names, its BM25 tokens and the words the gate weighs.
2. `_bm25_lists` / `_dense_lists`: one ranking per corpus language on each side, over the
   BM25 snapshot (`assistant.store.bm25`, kept in step with Chroma) and Chroma's dense search.
   Each ranking is weighted by how strong its best match is, so the Danish law, the
   Norwegian regulation and the English guides each get a fair ranking.
3. `fuse` (pure): weighted reciprocal rank fusion of all rankings.
4. Boosts (`assistant.retrieval.boosts`): jurisdiction scope, a named document; after the gate's look,
   a figure of the kind asked for; then `rerank` (pure) reorders the top by how much of the
   question each passage covers; provisions asked for first.
5. The gate (`assistant.retrieval.gate`): evidence from 0 to 1; below the threshold, abstain.

Fusion weights and the gate come from the calibration of the embedding in use
(`calibration_for`, assistant/data/calibration.yaml). When the embedding endpoint is
down, search runs on BM25 alone and says so (`SearchResult.degraded`); it retries the
endpoint after `embedding_retry_seconds`.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
import yaml

from assistant.config import Settings
from assistant.ingest.chunking import Chunk
from assistant.retrieval import gate, jurisdiction
from assistant.retrieval.boosts import (
    VALUE_BOOST,
    Provision,
    parse_provisions,
    provisions_first,
    scope_factors,
    value_factors,
)
from assistant.retrieval.query import OutOfScope, Query, analyse, out_of_scope
from assistant.store.bm25 import Bm25Index, Bm25Snapshot
from assistant.store.chroma import Store
from assistant.store.embeddings import EmbeddingUnavailable
from assistant.text.glossary import Glossary, default_glossary, equivalent_stems, equivalent_terms
from assistant.text.words import content_words, query_tokens, stems, words

CANDIDATES = 50  # passages each per-language ranking contributes
# The dense side asks the store once per question, unfiltered, for the DENSE_DEPTH nearest
# passages of each language's text (the question with that language's glossary terms), and
# keeps each language's own passages among them. Chroma's query cost at 50,000 chunks
# (7 Dec 2026, 2 shared cores): 1.1 ms at k=128 (its ef_search, the floor of the search
# depth), 2 ms at 300, 4 ms at 600, 8-10 ms at 1,200; fetching the vectors too, 5.5 ms at 128.
# A store of up to DENSE_WHOLE_STORE chunks (the gold sets' corpora) is ranked whole, so every
# language's list there is exactly what a per-language filtered query gave; in a larger store
# a language with few passages among its text's nearest 128 gets a shorter dense list (at
# 50,000 synthetic chunks, 1 of 13 benchmark questions found no Norwegian passage there); its
# BM25 list, with the question's glossary terms in that language, still counts.
DENSE_DEPTH = 128
DENSE_WHOLE_STORE = 1000
EXPANSION_WEIGHT = 0.3  # glossary synonyms in the question's own language
TRANSLATION_WEIGHT = 0.8  # glossary terms in another language: they stand in for the question's words
LIST_FLOOR = 0.3  # the weakest per-language list still counts this much of the strongest
NEIGHBOUR_WEIGHT = 0.3
# Measured on both gold sets (2 Dec 2026): reordering the top 5 lifts MRR@10 on both
# (0.585 -> 0.597, 0.656 -> 0.689). Once every provision piece indexed its title (chunker
# 2026-12-02b), the top 10 lifts Hit@5 further with either embedding (real documents:
# built-in 0.868 -> 0.895, e5 0.842 -> 0.921; notes 0.874 -> 0.883, e5 0.919 -> 0.937)
# without costing MRR@10; 20 gains no more and costs the built-in MRR on the real documents.
RERANK_DEPTH = 10
# Those figures were measured with six ranked lists (three languages x BM25 and dense). Since
# statutes and guidance rank apart (`Bm25Index.law_mask`), a corpus with statutes has up to ten: each
# list's first places take fused places ahead of a passage two lists agree on, and at a fixed
# depth such a passage missed the rerank it would have won. The depth keeps its share per list.
RERANK_LISTS = 6


def rerank_depth(lists: int) -> int:
    """How many of the fused passages the coverage rerank reads, for `lists` ranked lists."""
    return max(RERANK_DEPTH, -(-RERANK_DEPTH * lists // RERANK_LISTS))
RERANK_WEIGHT = 1.0

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
    # When the embedding endpoint is down the evidence is lexical alone, a lower scale than
    # the blend: with e5's blended threshold, keyword-only search refused 0.09 of the notes'
    # answerable questions and 0.41 of the blind set's (2 Dec 2026). None: the blended one.
    degraded_threshold: float | None = None
    # The similarity unrelated text gets in this embedding (the mean over questions and a
    # sample of passages): support is measured from it up to `dense_full`. e5's cosines sit
    # high (unrelated text 0.81, 8 Dec 2026), so read from zero its best passage looked like
    # support for every question, answerable or not (0.83-0.88 against 0.85-0.92); the
    # built-in's unrelated text sits near 0.1, and its stored calibration keeps 0.
    dense_floor: float = 0.0
    calibrated_with: str = ""

    def threshold(self, degraded: bool) -> float:
        """The abstain threshold for a search with the dense side, or without it."""
        if degraded and self.degraded_threshold is not None:
            return self.degraded_threshold
        return self.abstain_threshold


CALIBRATION_PATH = Path(__file__).parents[1] / "data" / "calibration.yaml"
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
    degraded = entry.get("degraded_threshold")
    return Calibration(key=key, calibrated_with=str(entry.get("calibrated_with", "")),
                       degraded_threshold=None if degraded is None else float(degraded),
                       dense_floor=float(entry.get("dense_floor", 0.0)), **values)


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


@dataclass(frozen=True, kw_only=True)
class SearchQuery:
    """A question analysed once for search (stage 1); every later stage reads it."""

    text: str
    asked: Query  # language, countries, kind, hinges (query.analyse)
    concepts: list  # glossary concepts the question names, each with the words that named it
    concept_stems: dict[str, set[str]]  # question word -> stems of its concept's terms
    terms: list[str]  # the content words the gate weighs
    tokens: list[str]  # the question's BM25 tokens (stems and compound parts)
    translated: dict[str, list[str]]  # corpus language -> the question's terms in it
    renderings: dict[str, str]  # corpus language -> the whole question in it (LLM mode)
    provisions: list[Provision]
    concept_terms: dict[str, list[frozenset[str]]] = field(default_factory=dict)  # question word -> its concept's terms, each as its stems


def analyse_search(text: str, *, glossary: Glossary, languages: list[str], today: date | None = None,
                   translations: dict[str, str] | None = None, asked: Query | None = None) -> SearchQuery:
    """Stage 1: everything search needs to know about the question, computed once."""
    asked = asked or analyse(text, today=today, glossary=glossary)
    # The concepts were matched once when the question was analysed (with this glossary, on
    # this text); a different text (a condensed follow-up) is matched afresh.
    concepts = (list(asked.concepts) if asked.glossary is glossary and asked.search_text == text
                else glossary.match(text))
    renderings = _renderings(translations)
    translated = glossary_terms(text, concepts, languages)
    for lang, rendering in renderings.items():
        if lang in translated and lang != asked.language:
            translated[lang].append(rendering)
    content = content_words(text)
    return SearchQuery(
        text=text, asked=asked, concepts=concepts, concept_stems=equivalent_stems(concepts),
        concept_terms=equivalent_terms(concepts),
        terms=[w for w in dict.fromkeys(content) if not w.isdigit() or len(w) >= 3],
        tokens=[t for w in content for t in sorted(query_tokens(w))],  # sorted: the same order in every process
        translated=translated, renderings=renderings, provisions=parse_provisions(text),
    )


def _renderings(translations: dict[str, str] | None) -> dict[str, str]:
    return {lang: t.strip() for lang, t in (translations or {}).items() if t and t.strip()}


def glossary_terms(text: str, concepts: list, languages: list[str]) -> dict[str, list[str]]:
    """The question's glossary terms per corpus language (its "translation" into each), the
    terms it does not already hold."""
    lower = text.lower()
    return {lang: list(dict.fromkeys(t for concept, _ in concepts for t in concept.terms.get(lang, ()) if t not in lower))
            for lang in languages}


class Retriever:
    """Hybrid search over the store, with the relevance gate."""

    def __init__(self, store: Store, settings: Settings, glossary: Glossary | None = None):
        self.store = store
        self.settings = settings
        self.glossary = glossary or default_glossary()
        self.snapshot = Bm25Snapshot(store, settings)
        self.calibration = calibration_for(store.embedding, settings)
        self._dense_down_until = 0.0  # while the endpoint is down, skip it until then
        self._dense_error = ""

    def index(self) -> Bm25Index:
        """The BM25 snapshot of the store's current state."""
        return self.snapshot.index()

    def refresh(self) -> None:
        """Forget the cached check so the next search sees a just-finished ingest."""
        self.snapshot.refresh()

    def search(self, query: str, k: int | None = None, *,
               translations: dict[str, str] | None = None, asked: Query | None = None,
               dense: bool = True) -> SearchResult:
        """The fused, scoped hits for `query` and whether to abstain.

        `translations` ({"da": "...", "nb": "...", "en": "..."}, optional) are renderings of
        the question in corpus languages (LLM mode makes them): each language's search then
        also uses its rendering, on the BM25 side as translated terms and on the dense side
        as the text embedded. The gate still judges the question as asked. `asked` is the
        caller's `query.analyse` of the same text, so it is not analysed twice. `dense=False`
        searches as when the endpoint is down (BM25 alone), for the calibration.
        """
        k = k or self.settings.top_k
        started = time.perf_counter()
        index = self.index()
        # The store's nearest-neighbour query runs in a worker thread (Chroma's native code
        # releases the GIL) while the question is analysed and the BM25 lists are ranked
        # here: on two cores the dense side costs little more than the slower of the two.
        # Its texts need only the glossary concepts the question names (`analyse_search`
        # matches the same ones: the question's own text, with this glossary), so it starts
        # first; the nearest-neighbour query is the longest single step of a search.
        if dense:
            concepts = (list(asked.concepts) if asked is not None and asked.glossary is self.glossary
                        and asked.search_text == query else self.glossary.match(query))
            pending = self._dense_query(index, query, glossary_terms(query, concepts, index.languages),
                                        _renderings(translations))
        else:
            pending = _DenseQuery(error="dense side off")
        t_embed = time.perf_counter()
        question = analyse_search(query, glossary=self.glossary, languages=index.languages,
                                  today=self.settings.today, translations=translations, asked=asked)
        t_expand = time.perf_counter()
        bm25_lists, lifted = self._bm25_lists(index, question)
        t_bm25 = time.perf_counter()
        dense_lists, cosine, degraded = self._dense_lists(index, pending)
        t_dense = time.perf_counter()

        cal = self.calibration
        fused = self._fuse(question, index, bm25_lists, dense_lists)
        order = sorted(fused, key=lambda i: -fused[i])
        gated = order[:5]  # the gate judges the fused ranking, before passages are reranked by coverage
        if lifted is not None:
            # The named country's law lifted (`named_law_lists`) ranks the answer; the gate keeps
            # judging the fusion without the lift: the lift says which passages should state the
            # rule, not how well the corpus covers the question (as `value_factors` runs after
            # the gate). Judged on the lifted top, an English question's coverage of the Danish
            # law's passages is low by language alone (real documents dev: 2 more refusals).
            fused = self._fuse(question, index, lifted, dense_lists)
            order = sorted(fused, key=lambda i: -fused[i])
        named = {i for provision, _, _ in question.provisions for i in index.by_provision.get(provision, ())}
        depth = rerank_depth(len(bm25_lists) + len(dense_lists))
        reachable = _reachable(fused, order, _read_depth(question, k, depth), named)
        figures = value_factors(question.asked, index, reachable)
        if figures:
            for i, factor in figures.items():
                fused[i] *= factor
            order = sorted(fused, key=lambda i: -fused[i])
        order = self._rerank(question, index, order, fused, depth)
        order = provisions_first(question.provisions, index, order, fused, CANDIDATES, question.asked.scope)
        hits = [Hit.from_chunk(index.ids[i], index.chunks[i], score=round(fused.get(i, 0.0), 6),
                               dense=round(cosine.get(i, 0.0), 4))
                for i in order[: max(k, 10)]]

        best_dense = None if degraded else max(cosine.values(), default=0.0)
        evidence = gate.evidence(question, index, gated, best_dense, cal.dense_full, cal.dense_floor)
        abstain = not hits or (evidence < cal.threshold(bool(degraded))
                               and not gate.names_found_provision(question, index, order))
        done = time.perf_counter()
        return SearchResult(
            query=query,
            hits=hits,
            evidence=round(evidence, 4),
            abstain=abstain,
            expansions=[c.id for c, _ in question.concepts],
            timings={
                "embed_ms": (t_embed - started) * 1000,
                "expand_ms": (t_expand - t_embed) * 1000,
                "bm25_ms": (t_bm25 - t_expand) * 1000,
                "dense_ms": (t_dense - t_bm25) * 1000,  # what was left of the store's query
                "total_ms": (done - started) * 1000,
            },
            degraded=degraded,
            scope=sorted(question.asked.countries),
        )

    def out_of_scope(self, asked: Query, hits: list[Hit]) -> OutOfScope:
        """`query.out_of_scope` over these passages (source, title, heading path, section and
        text), with the glossary's other names for a name the question hinges on. The heading
        path says where a provision stands ("Del III", "Kapittel 8"): a question that names the
        part is about the provisions under it, though their own text never repeats it."""
        return out_of_scope(asked, [f"{h.source}\n{h.title}\n{h.chunk.heading}\n{h.section}\n{h.text}" for h in hits],
                            aliases=self.glossary.aliases)

    def _fuse(self, question: SearchQuery, index: Bm25Index, bm25_lists, dense_lists) -> dict[int, float]:
        """Stage 3 and the scope factors: the fused score of every listed passage."""
        cal = self.calibration
        fused = fuse([(cal.bm25_weight, bm25_lists), (cal.dense_weight, dense_lists)], self.settings.rrf_k)
        for i, factor in scope_factors(question.asked, index, fused).items():
            fused[i] *= factor
        return fused

    def _rerank(self, question: SearchQuery, index: Bm25Index, order: list[int], fused: dict[int, float],
                depth: int = RERANK_DEPTH) -> list[int]:
        """Stage 4b: the top of the fused list reordered by how much of the question each
        passage covers on its own (the gate's measure, one passage at a time)."""
        cover = {i: gate.coverage(question, index, [i]) for i in order[:depth]}
        return rerank(order, fused, cover)

    def _bm25_lists(self, index: Bm25Index, question: SearchQuery) -> tuple[list, list | None]:
        """Stage 2a: one BM25 ranking per corpus language: the question's words plus its glossary
        terms in that language (synonyms weigh little in the question's own language; in another
        language they stand in for the question's words). Returned twice: as weighted by coverage,
        and with a named country's law lifted (`named_law_lists`; None when that changes nothing)."""
        base = index.scores(question.tokens)
        has_law = bool(index.law_mask().any())
        rankings = []
        for lang in index.languages:
            # Ranked on the language's part of the store (`LanguagePart`: its passages and
            # their neighbours): the same scores as over the whole store, a third of the work.
            part = index.language_part(lang)
            scores = base[part.positions]
            extra = [s for term in question.translated.get(lang, []) for s in stems(words(term), lang)]
            if extra:
                weight = EXPANSION_WEIGHT if lang == question.asked.language else TRANSLATION_WEIGHT
                scores = scores + weight * index.scores(extra)[part.positions]
            scores = part.with_neighbours(scores * part.mask, NEIGHBOUR_WEIGHT)
            law = part.law
            for kind in (scores * law, scores * (1.0 - law)) if has_law else (scores,):  # statutes apart (`law_mask`)
                top = part.positions[top_positive(kind, CANDIDATES)].tolist()
                if top:
                    # Raw BM25 scores do not compare across lists (a translated list sums many
                    # glossary stems); how much of the question its best passage covers does.
                    rankings.append((gate.coverage(question, index, top[:1]), top))
        lifted = named_law_lists(question.asked.scope, index, rankings)
        return _weighted(rankings), (None if lifted == rankings else _weighted(lifted))

    def _dense_query(self, index: Bm25Index, text: str, terms: dict[str, list[str]],
                     renderings: dict[str, str]) -> "_DenseQuery":
        """Stage 2b, first half: embed each corpus language's text (the question `text`, or
        its rendering, with that language's glossary `terms`) and start one unfiltered
        nearest-neighbour call for all of them in the worker thread (see DENSE_DEPTH).

        One embedding call for the distinct texts; an endpoint that is down is skipped for
        `embedding_retry_seconds` (the result's `error` says why)."""
        if not index.ids:
            return _DenseQuery()
        if time.monotonic() < self._dense_down_until:
            return _DenseQuery(error=self._dense_error)
        texts = {}
        for lang in index.languages:
            rendering = renderings.get(lang)
            own = [t for t in terms.get(lang, []) if t != rendering][:12]
            texts[lang] = "\n".join([rendering or text] + own)
        distinct = list(dict.fromkeys(texts.values()))
        try:
            vectors = self.store.embed_queries(distinct)
        except EmbeddingUnavailable as exc:
            self._dense_error = str(exc)
            self._dense_down_until = time.monotonic() + self.settings.embedding_retry_seconds
            log.warning("answering from BM25 alone for %.0f s: %s", self.settings.embedding_retry_seconds, exc)
            return _DenseQuery(error=self._dense_error)
        k = len(index.ids) if len(index.ids) <= DENSE_WHOLE_STORE else DENSE_DEPTH
        return _DenseQuery(texts=texts, distinct=distinct, future=_dense_pool().submit(self.store.nearest, vectors, k))

    def _dense_lists(self, index: Bm25Index, pending: "_DenseQuery"):
        """Stage 2b, second half: one dense ranking per corpus language, the cosine of every
        passage seen, and why dense search was skipped (or None). Each language's ranking is
        that language's passages among the nearest to its own text, split in memory; a
        store error in the worker is raised here."""
        if pending.future is None:
            return [], {}, pending.error
        found = dict(zip(pending.distinct, pending.future.result()))
        position, kinds = index.position.get, index.kinds
        rankings, cosine = [], {}
        for lang in index.languages:
            lists: dict[bool, list[int]] = {}  # one list per source kind (statute or not)
            for cid, sim in found[pending.texts[lang]]:
                i = position(cid)
                if i is None:
                    continue  # written after the BM25 snapshot (next refresh)
                language, law = kinds[i]
                if language != lang:
                    continue  # another language's
                order = lists.setdefault(law, [])
                if len(order) < CANDIDATES:
                    cosine[i] = sim
                    order.append(i)
                if len(lists) == 2 and all(len(o) == CANDIDATES for o in lists.values()):
                    break
            for order in lists.values():
                rankings.append((max(cosine[order[0]], 1e-6), order))
        return _weighted(rankings), cosine, None


@dataclass(kw_only=True)
class _DenseQuery:
    """The dense side under way: each language's text, the distinct texts embedded, and the
    store's query running in the worker (None: no dense side, `error` says why or is None)."""

    texts: dict[str, str] = field(default_factory=dict)
    distinct: list[str] = field(default_factory=list)
    future: Future | None = None
    error: str | None = None


# Threads for the store's nearest-neighbour queries: a few, so concurrent questions (the
# web app answers several at once) do not queue behind one another's query.
DENSE_WORKERS = 4
_POOL: ThreadPoolExecutor | None = None
_POOL_LOCK = threading.Lock()


def _dense_pool() -> ThreadPoolExecutor:
    global _POOL
    if _POOL is None:
        with _POOL_LOCK:
            if _POOL is None:
                _POOL = ThreadPoolExecutor(max_workers=DENSE_WORKERS, thread_name_prefix="dense-query")
    return _POOL


def named_law_lists(scope: jurisdiction.Scope | None, index: Bm25Index,
                    rankings: list[tuple[float, list[int]]]) -> list[tuple[float, list[int]]]:
    """(coverage, ranking) per BM25 list, with the lists of a country the question names
    (`Scope.named`: "In Denmark, ...") raised to the strongest list of guidance with no
    jurisdiction. Why: the jurisdiction policy wants the named country's law to state the rule,
    but a list's coverage counts a question word in another language only through the glossary,
    so an English question judged the Danish statute's list (its first passage the rule asked
    for) by the few words a glossary concept or a shared spelling carries, and the English
    guide's list, holding the question's own words, outweighed it some three to one; the guide's
    passages took the top five. A list's jurisdiction is its first passage's (lists are per
    language and source kind, so a list is one country's or none). Measured on the real
    documents (7 Dec 2026, built-in embedding): dev Hit@5 0.667 -> 0.706, MRR@10 0.476 -> 0.512,
    key facts 0.460 -> 0.492; held-out and blind up, notes and unscoped probes unchanged."""
    named = scope.named & jurisdiction.NATIONAL if scope is not None else frozenset()
    if not named or not rankings:
        return rankings
    where = [jurisdiction.of_passage(index.meta(top[0]).jurisdiction, index.meta(top[0]).language)
             for _, top in rankings]
    guidance = max((strength for (strength, _), w in zip(rankings, where) if not w), default=0.0)
    return [(max(strength, guidance) if w in named else strength, top)
            for (strength, top), w in zip(rankings, where)]


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


def rerank(order: list[int], fused: dict[int, float], cover: dict[int, float],
           weight: float | None = None) -> list[int]:
    """The passages in `cover` (the top of `order`) by fused score x (1 + weight x coverage),
    the rest as they were; `fused` is updated to the new scores. Fusion ranks by agreement
    between lists; a passage that holds every specific word of the question should still
    beat one that holds half of them at the top."""
    weight = RERANK_WEIGHT if weight is None else weight
    if weight <= 0 or not cover:
        return order
    for i, share in cover.items():
        fused[i] *= 1.0 + weight * share
    head = sorted(cover, key=lambda i: -fused[i])
    return head + [i for i in order if i not in cover]


def _read_depth(question: SearchQuery, k: int, rerank_at: int) -> int:
    """How far down the fused order later stages read: the rerank's depth and the hits shown
    (`max(k, 10)`); with a provision named, `provisions_first` and the gate read the first
    CANDIDATES too. Nothing reads further, so the figure boost need not reach further: a
    question for a figure scanned every passage that could reach the first 50 (some hundred
    texts read and searched, the slowest step of such a search) to settle the first 10-17."""
    shown = max(k, 10, rerank_at)
    return max(shown, CANDIDATES) if question.provisions else shown


def _reachable(fused: dict[int, float], order: list[int], depth: int, named: set[int]) -> dict[int, float]:
    """The fused passages whose figure boost can change what later stages read: those it
    could lift into the first `depth` of the order (a passage below the depth-th score /
    VALUE_BOOST stays below it boosted or not) and the passages of a provision asked for
    (`provisions_first` reads their scores wherever they rank). The rest need no scan."""
    if len(order) <= depth or VALUE_BOOST <= 1.0:
        return fused
    floor = fused[order[depth - 1]] / VALUE_BOOST
    return {i: fused[i] for i in order if fused[i] >= floor or i in named}


TOP_SAMPLE = 16  # every 16th score sets the floor of a long list's top (see top_positive)


def top_positive(scores: np.ndarray, n: int) -> list[int]:
    """Positions of the `n` highest scores above zero, highest first (ties: lower position
    first). A partial sort: a full argsort of 50,000 scores cost some 3 ms per list."""
    candidates = np.flatnonzero(scores > 0)
    if len(candidates) > n:
        values = scores[candidates]
        if len(values) > TOP_SAMPLE * n:
            # A floor first: the n-th highest of every TOP_SAMPLE-th value. At least n values
            # reach it (those n), so the n highest all do, ties included; the exact cut below
            # then partitions a few hundred values instead of tens of thousands (a BM25 list
            # spread over its neighbours is positive for most of a 50,000-chunk store).
            sample = values[::TOP_SAMPLE]
            floor = np.partition(sample, len(sample) - n)[len(sample) - n]
            keep = values >= floor
            candidates, values = candidates[keep], values[keep]
        kth = np.partition(values, len(values) - n)[len(values) - n]  # the n-th highest
        candidates = candidates[values >= kth]  # ties at the cut: the lower positions are kept below
    order = candidates[np.lexsort((candidates, -scores[candidates]))]
    return order[:n].tolist()


# Statutes and guidance rank in separate lists (per language), as languages do: a statute of
# some 250 provisions in one language otherwise fills that language's first CANDIDATES dense
# slots with provisions near the question's legal vocabulary, and the guidance passages that
# answered before the statutes shipped fall out of the dense list altogether (dense similarity
# unseen, 0). Each kind's best passages reach fusion; fusion, the rerank and the gate decide.
# Which passages are a statute's: `Bm25Index.law_mask` (the chunk's source kind, read once).

def _weighted(rankings: list[tuple[float, list[int]]]) -> list[tuple[float, list[int]]]:
    """(strength, ranking) per language list: its best match relative to the strongest list's,
    never below LIST_FLOOR, so a language with no real match does not take the top of the
    fused list and one with a match as good as the best gets an equal share of it."""
    if not rankings:
        return []
    best = max(score for score, _ in rankings) or 1.0
    return [(max(LIST_FLOOR, score / best), order) for score, order in rankings]


