"""The multilingual procurement glossary: finds the concepts a question names and
offers the same concepts' terms in the other languages and as synonyms.

The glossary is a data file (`assistant/data/glossary.yaml`); staff can extend it, or
point `ASSISTANT_GLOSSARY` at their own copy.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

from assistant.text.words import LANGUAGES, content_words, decompound, stems, words

DEFAULT_PATH = Path(__file__).parents[1] / "data" / "glossary.yaml"

# Grammar: Danish, Norwegian and English particle verbs put a short object between the verb and
# its particle ("holde dem ude", "holde en leverandør ude", "dele kontrakten op", "keep them
# out"), so a glossary term "verb particle" also matches with up to this many words between.
PARTICLE_GAP = 3
# The particles (adverbs of place and direction) of the three languages, stemmed as the
# glossary's terms are (`_PARTICLE_STEMS`).
PARTICLES = {
    "da": ("op", "ud", "ude", "ind", "inde", "af", "ned", "over", "til", "fra", "hen", "frem", "tilbage", "væk", "bort"),
    "nb": ("opp", "ut", "ute", "inn", "inne", "av", "ned", "over", "til", "fra", "hen", "fram", "frem", "tilbake", "vekk", "bort"),
    "en": ("up", "out", "in", "off", "down", "over", "back", "away"),
}
_PARTICLE_STEMS = {lang: frozenset(stems(list(ws), lang)) for lang, ws in PARTICLES.items()}


@dataclass(frozen=True, kw_only=True)
class Concept:
    id: str
    terms: dict[str, tuple[str, ...]]  # language -> terms

    def all_terms(self) -> list[tuple[str, str]]:
        return [(lang, t) for lang in LANGUAGES for t in self.terms.get(lang, ())]


class Glossary:
    def __init__(self, concepts: list[Concept]):
        self.concepts = concepts
        # (language, stemmed term) -> concept, matched against the stemmed question
        self._index: dict[tuple[str, tuple[str, ...]], Concept] = {}
        for concept in concepts:
            for lang, term in concept.all_terms():
                key = tuple(stems(words(term), lang))
                if key:
                    self._index.setdefault((lang, key), concept)
        self._max_len = max((len(k[1]) for k in self._index), default=1)
        # Two-word terms that are a verb and its particle ("holde ude", "dele op", "keep out"):
        # in a sentence the object stands between them ("holde dem ude", "dele kontrakten op").
        self._particle_verbs: dict[str, list[tuple[str, str, Concept]]] = {}
        for (lang, key), concept in self._index.items():
            if len(key) == 2 and key[1] in _PARTICLE_STEMS.get(lang, ()):
                self._particle_verbs.setdefault(lang, []).append((key[0], key[1], concept))

    @classmethod
    def load(cls, path: Path | None = None) -> "Glossary":
        path = Path(path or DEFAULT_PATH)
        # libyaml's safe loader when present: the same data, a sixth of the start-up time.
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=loader) or {}  # noqa: S506 - a safe loader
        concepts = [
            Concept(
                id=str(item["id"]),
                terms={lang: tuple(str(t).lower() for t in item.get(lang) or []) for lang in LANGUAGES},
            )
            for item in data.get("concepts", [])
        ]
        return cls(concepts)

    def aliases(self, name: str) -> list[str]:
        """The other terms of the concept `name` is a term of, in every language ([] when
        `name` is not one of the glossary's terms as a whole)."""
        for lang in LANGUAGES:
            concept = self._index.get((lang, tuple(stems(words(name), lang))))
            if concept:
                return [t for _, t in concept.all_terms() if t != name.lower()]
        return []

    def match(self, question: str) -> list[tuple[Concept, set[str]]]:
        """Concepts named in the question, each with the question words that named it."""
        qwords = words(question)
        found: dict[str, tuple[Concept, set[str]]] = {}
        for lang in LANGUAGES:
            qstems = stems(qwords, lang)
            for start in range(len(qstems)):
                for length in range(min(self._max_len, len(qstems) - start), 0, -1):
                    concept = self._index.get((lang, tuple(qstems[start : start + length])))
                    if concept:
                        entry = found.setdefault(concept.id, (concept, set()))
                        entry[1].update(qwords[start : start + length])
                        break
            for verb, particle, concept in self._particle_verbs.get(lang, ()):
                for start, stem in enumerate(qstems):
                    if stem != verb:
                        continue
                    gap = qstems[start + 2 : start + 2 + PARTICLE_GAP]  # adjacent ones matched above
                    if particle in gap:
                        end = start + 2 + gap.index(particle)
                        entry = found.setdefault(concept.id, (concept, set()))
                        entry[1].update((qwords[start], qwords[end]))
                        break
        return list(found.values())


def equivalent_stems(concepts: list[tuple[Concept, set[str]]]) -> dict[str, set[str]]:
    """For each question word that named a concept: the stems of all that concept's terms.

    Only the terms' content words count: "lov om offentlige anskaffelser" lends "lov",
    "offent", "anskaff", never "om", which would match nearly every sentence."""
    out: dict[str, set[str]] = {}
    for concept, qwords in concepts:
        alt = _content_stems(tuple(concept.all_terms()))
        for w in qwords:
            out.setdefault(w, set()).update(alt)
    return out


def same_language_stems(concepts: list[tuple[Concept, set[str]]], language: str) -> dict[str, set[str]]:
    """`equivalent_stems` from the concept's terms in `language` only: the stems a passage in
    that language may hold one by one (`answer.extractive.question_terms` says why)."""
    out: dict[str, set[str]] = {}
    for concept, qwords in concepts:
        alt = _content_stems(tuple((lang, t) for lang, t in concept.all_terms() if lang == language))
        for w in qwords:
            out.setdefault(w, set()).update(alt)
    return out


# Per concept (by its terms), once per process: stemming every term of every concept a
# question names took a millisecond or more per call, and search, the gate and the composer
# each ask for a question's concepts (issue 23).
@lru_cache(maxsize=4096)
def _content_stems(terms: tuple[tuple[str, str], ...]) -> frozenset[str]:
    return frozenset(s for lang, t in terms for s in stems(content_words(t), lang) if len(s) > 2)


@lru_cache(maxsize=4096)
def _term_stem_sets(terms: tuple[tuple[str, str], ...]) -> tuple[frozenset[str], ...]:
    out = []
    for lang, t in terms:
        content = content_words(t)
        out.append(frozenset(s for s in stems(content, lang) if len(s) > 2))
        if len(content) == 1 and decompound(content[0]):
            out.append(frozenset(s for s in stems(list(decompound(content[0])), lang) if len(s) > 2))
    return tuple(t for t in dict.fromkeys(out) if t)


def equivalent_terms(concepts: list[tuple[Concept, set[str]]]) -> dict[str, list[frozenset[str]]]:
    """For each question word that named a concept: each of that concept's terms as the set of
    its content stems. A passage holds a term when it holds all of them: "bundet til én
    leverandør" is not found in every passage that says "leverandør". A one-word compound
    is also held by its parts ("anskaffelsesforskriften": a passage on "forskriften" in a
    note on "anskaffelser"), as an ordinary compound question word is (`text.corpus_forms`)."""
    out: dict[str, list[frozenset[str]]] = {}
    for concept, qwords in concepts:
        terms = _term_stem_sets(tuple(concept.all_terms()))
        for w in qwords:
            out.setdefault(w, []).extend(terms)
    return out


@lru_cache(maxsize=2)
def default_glossary() -> Glossary:
    """The glossary the settings name (ASSISTANT_GLOSSARY, from the environment or `.env`),
    else the package's."""
    from assistant.config import get_settings

    return Glossary.load(get_settings().glossary)
