"""Answers without a language model: the most relevant sentences of the best passages,
verbatim, each with its source number.

Sentences are scored by the question's specific words they contain (rare words count
more, glossary equivalents count too), near-duplicates are dropped, and at most two
sentences come from one passage so the answer shows the breadth of the sources.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from assistant.retrieval.search import Hit
from assistant.text import sentences
from assistant.text.glossary import default_glossary, equivalent_stems
from assistant.text.words import content_words, query_stems, query_tokens, term_weight, words

MAX_SENTENCES = 4
PER_SOURCE = 2
RELATIVE_FLOOR = 0.5
@dataclass(kw_only=True)
class Sentence:
    text: str
    hit_index: int
    position: int
    score: float = 0.0



def split_sentences(text: str) -> list[str]:
    """Sentences of a legal or guidance passage of three words or more (`text.sentences`)."""
    return list(_sentences_of(text))


@lru_cache(maxsize=8192)
def _sentences_of(text: str) -> tuple[str, ...]:
    """Cached like `sentence_tokens`: the passages search returns recur across questions, and
    splitting a unit's lines was a fifth of the offline answer's time (issue 23)."""
    return tuple(sentences.split_sentences(text, min_words=3))


def question_terms(question: str, concepts: list | tuple | None = None) -> dict[str, tuple[set[str], float]]:
    """Each specific question word: its stems (plus glossary equivalents) and a weight.
    `concepts`: the glossary concepts already matched for the question (`Query.concepts`),
    so the glossary is not matched again; else the configured glossary is matched here."""
    equivalents = equivalent_stems(list(concepts) if concepts is not None else default_glossary().match(question))
    terms = {}
    for w in dict.fromkeys(content_words(question)):
        terms[w] = (set(query_stems(w)) | equivalents.get(w, set()), term_weight(w))
    return terms


@lru_cache(maxsize=8192)
def sentence_tokens(sentence: str, compounds: bool = False) -> frozenset[str]:
    """Stems of a sentence's words in all three languages; with `compounds`, also the stems
    of Danish/Norwegian compounds' parts ("referencelister" also counts as "referencer").
    Cached: the passages a search returns recur across questions, and the offline answer
    weighs each of their sentences several times (measured: a third of its time)."""
    if not compounds:
        return frozenset(s for w in words(sentence) for s in query_stems(w))
    return frozenset(s for w in words(sentence) for s in query_tokens(w))


def score_sentence(sentence: str, terms: dict[str, tuple[set[str], float]], compounds: bool = False) -> float:
    tokens = sentence_tokens(sentence, compounds)
    found = sum(weight for stems_, weight in terms.values() if not tokens.isdisjoint(stems_))
    length = len(sentence.split())
    penalty = 0.7 if length < 6 else (0.8 if length > 90 else 1.0)
    return found * penalty


def similar(a: str, b: str) -> bool:
    """Near-duplicates: more than 60 % of their words shared."""
    ta, tb = set(words(a)), set(words(b))
    return bool(ta and tb) and len(ta & tb) / len(ta | tb) > 0.6


def best_sentences(question: str, hits: list[Hit], limit: int = MAX_SENTENCES) -> list[Sentence]:
    """The top sentences across the passages: verbatim, no near-duplicates."""
    terms = question_terms(question)
    candidates = []
    for i, hit in enumerate(hits):
        for position, text in enumerate(split_sentences(hit.text)):
            score = score_sentence(text, terms) * (1.0 - 0.08 * i)  # earlier passages first on ties
            if score > 0:
                candidates.append(Sentence(text=text, hit_index=i, position=position, score=score))
    candidates.sort(key=lambda s: -s.score)
    if candidates:  # a sentence far weaker than the best one is noise, not support
        floor = RELATIVE_FLOOR * candidates[0].score
        candidates = [c for c in candidates if c.score >= floor]
    chosen: list[Sentence] = []
    per_hit: dict[int, int] = {}
    for sentence in candidates:
        if per_hit.get(sentence.hit_index, 0) >= PER_SOURCE:
            continue
        if any(similar(sentence.text, other.text) for other in chosen):
            continue
        chosen.append(sentence)
        per_hit[sentence.hit_index] = per_hit.get(sentence.hit_index, 0) + 1
        if len(chosen) >= limit:
            break
    if not chosen and hits:  # nothing overlaps: the opening of the best passage
        first = split_sentences(hits[0].text)[:1] or [hits[0].text[:300]]
        chosen = [Sentence(text=first[0], hit_index=0, position=0, score=0.0)]
    return sorted(chosen, key=lambda s: (s.hit_index, s.position))


def supporting_quote(claim: str, passage: str, max_sentences: int = 2) -> str:
    """The sentence(s) of a passage that best support a claim (for LLM citations)."""
    terms = question_terms(claim)
    sentences = split_sentences(passage) or [passage]
    ranked = sorted(sentences, key=lambda s: -score_sentence(s, terms))
    keep = [s for s in ranked[:max_sentences] if score_sentence(s, terms) > 0] or ranked[:1]
    return " ".join(s for s in sentences if s in keep)
