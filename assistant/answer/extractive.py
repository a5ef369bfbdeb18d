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
from assistant.text.glossary import (
    default_glossary,
    equivalent_stems,
    equivalent_terms,
    same_language_stems,
)
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


@dataclass(frozen=True, kw_only=True)
class Forms:
    """How a question word shows in a passage: any one of `stems` (the word's own stems in the
    three languages), or a term of the glossary concept it names, held whole (`wholes`: each
    term as the set of its content stems)."""

    stems: frozenset[str]
    wholes: tuple[frozenset[str], ...] = ()

    def found_in(self, tokens: frozenset[str] | set[str]) -> bool:
        return not tokens.isdisjoint(self.stems) or any(term <= tokens for term in self.wholes)

    def __or__(self, other: "Forms") -> "Forms":
        return Forms(stems=self.stems | other.stems, wholes=tuple(dict.fromkeys(self.wholes + other.wholes)))

    def all_stems(self) -> frozenset[str]:
        return self.stems.union(*self.wholes)


def question_terms(question: str, concepts: list | tuple | None = None, *,
                   language: str | None = None) -> dict[str, tuple[Forms, float]]:
    """Each specific question word: its forms (`Forms`: its own stems, its glossary concept's
    terms) and a weight. `concepts`: the glossary concepts already matched for the question
    (`Query.concepts`), so the glossary is not matched again; else the configured glossary is
    matched here.

    With the question's `language`, only the concept's terms in that language lend their stems
    one by one; a term in another language counts only held whole. A passage's words are stemmed
    by all three languages' stemmers, so a short stem of a foreign term meets an ordinary word:
    English "certification mark" lends "mark", which Danish "det indre marked" (the internal
    market) also stems to, and udbudsloven § 169, stk. 4 (state aid) led the answer on labels.
    Measured on dev (real documents key facts 0.460 -> 0.476 alone); all terms held whole, or
    stems under 5 letters held whole, lost dev or held-out answers (a same-language synonym
    shares one word with the passage's wording: "frist" of "frist for modtagelse af tilbud").
    Without `language` (the baseline composer, the LLM's citation check) every stem counts."""
    matched = list(concepts) if concepts is not None else default_glossary().match(question)
    loose = equivalent_stems(matched) if language is None else same_language_stems(matched, language)
    wholes = equivalent_terms(matched)
    terms = {}
    for w in dict.fromkeys(content_words(question)):
        forms = Forms(stems=frozenset(query_stems(w)) | loose.get(w, frozenset()), wholes=tuple(wholes.get(w, ())))
        terms[w] = (forms, term_weight(w))
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
    found = sum(weight for forms, weight in terms.values() if forms.found_in(tokens))
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
