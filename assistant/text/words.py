"""Words, stop words and stems for Danish, Norwegian and English (PyStemmer, Snowball)."""

from __future__ import annotations

import re
from functools import lru_cache

import Stemmer
from bm25s.stopwords import STOPWORDS_DANISH, STOPWORDS_EN, STOPWORDS_NORWEGIAN

LANGUAGES = ("da", "nb", "en")
_SNOWBALL = {"da": "danish", "nb": "norwegian", "en": "english"}
STOPWORDS = {
    "da": frozenset(STOPWORDS_DANISH),
    "nb": frozenset(STOPWORDS_NORWEGIAN),
    "en": frozenset(STOPWORDS_EN),
}
# Words that carry no subject in a buyer's question, on top of the usual stop words.
QUESTION_WORDS = frozenset(
    "hvad hvordan hvornår hvorfor hvilke hvilken hvilket hvor hva hvem kan skal må bør "
    "gerne vil kunne skulle ville får få gælder gjelder regler reglerne reglene krav "
    "what how when why which where who can could should must may might does do is are "
    "rules rule apply applies please tell us our vi jeg i we you der det den dette "
    "mange many much meget mye".split()
)
# The pieces of the common abbreviations ("f.eks.", "fx", "bl.a.", "jf.", "m.v.", "evt.", "ca.",
# "osv.", "etc."): they say "for example", "see", "and so on", never what a question is about
# ("et miljømærke som f.eks. Svanemærket" had "eks" weighed as a word of the question).
ABBREVIATIONS = frozenset("eks fx bl jf mv evt ca osv etc".split())
ALL_STOPWORDS = STOPWORDS["da"] | STOPWORDS["nb"] | STOPWORDS["en"] | QUESTION_WORDS | ABBREVIATIONS
_WORD = re.compile(r"[0-9a-zæøåäöüéèáàóò]+(?:[-/][0-9a-zæøåäöüéèáàóò]+)*")


@lru_cache(maxsize=4)
def stemmer(language: str) -> Stemmer.Stemmer:
    return Stemmer.Stemmer(_SNOWBALL.get(language, "danish"))


def words(text: str) -> list[str]:
    """Lower-cased words; hyphenated compounds ("12-2", "life-cycle") are kept whole and split."""
    out = []
    for word in _WORD.findall(text.lower()):
        out.append(word)
        if "-" in word and not word.replace("-", "").isdigit():
            out.extend(part for part in word.split("-") if part)
    return out


def content_words(text: str) -> list[str]:
    return [w for w in words(text) if w not in ALL_STOPWORDS and len(w) > 1]


def stems(text_words: list[str], language: str) -> list[str]:
    return stemmer(language).stemWords(text_words)


# Inflectional endings that happen to be words; never a compound's second part.
_SUFFIXES = frozenset("erne ende ene ens ere este ener else ning heden ingen arne".split())


@lru_cache(maxsize=1)
def _dictionary() -> frozenset[str]:
    """Danish and Norwegian words common enough to be compound parts (wordfreq lists)."""
    from wordfreq import top_n_list

    common = set(top_n_list("da", 30_000)) | set(top_n_list("nb", 30_000))
    return frozenset(w for w in common if len(w) >= 4 and w.isalpha() and w not in ALL_STOPWORDS)


@lru_cache(maxsize=200_000)
def decompound(word: str) -> tuple[str, ...]:
    """Split a Danish/Norwegian compound into dictionary words ("tilbudsfristen" ->
    "tilbud", "fristen"), allowing a linking -s- or -e-; () when it is not one.

    Scandinavian law writes concepts as compounds that questions spell apart
    ("kontraktsverdi" vs "verdien av kontrakten"), so both sides index the parts too.
    """
    vocab = _dictionary()
    if len(word) < 8 or not word.isalpha() or word in vocab:
        return ()
    best: tuple[str, ...] = ()
    best_score = 0
    for cut in range(4, len(word) - 3):
        head, tail = word[:cut], word[cut:]
        heads = [head] + ([head[:-1]] if head[-1] in "se" and len(head) > 4 else [])
        for h in heads:
            if h in vocab and tail in vocab and tail not in _SUFFIXES:
                score = min(len(h), len(tail))
                if score > best_score:
                    best, best_score = (h, tail), score
    return best


def doc_tokens(text: str, language: str) -> list[str]:
    """Index tokens of a passage: its own language's stop words out, its stems in,
    plus the parts of Danish/Norwegian compounds."""
    stop = STOPWORDS.get(language, STOPWORDS["da"])
    lang = language if language in _SNOWBALL else "da"
    kept = []
    for w in words(text):
        if w in stop:
            continue
        kept.append(w)
        if lang != "en":
            kept.extend(decompound(w))
    return stems(kept, lang)


@lru_cache(maxsize=50_000)
def query_stems(word: str) -> frozenset[str]:
    """A query word's stems in all three languages: questions cross languages."""
    return frozenset(stemmer(lang).stemWord(word) for lang in LANGUAGES)


@lru_cache(maxsize=50_000)
def query_tokens(word: str) -> frozenset[str]:
    """A query word's stems, plus its compound parts' stems (cached: the composer asks for
    every word of every sentence it weighs)."""
    out = set(query_stems(word))
    for part in decompound(word):
        out |= query_stems(part)
    return frozenset(out)


@lru_cache(maxsize=50_000)
def zipf(word: str) -> float:
    """How common a word is in Danish, Norwegian or English text (0 = unknown, 7 = "og")."""
    from wordfreq import zipf_frequency

    return max(zipf_frequency(word, lang) for lang in LANGUAGES)


def term_weight(word: str) -> float:
    """How much a question word counts when matching passages: specific words far more
    than common ones ("barsel" or "Mercell" ~5-7, "går" or "actually" 0.5). The one
    term-weighting rule: the relevance gate, sentence scoring and the composer use it."""
    return max(0.5, 7.0 - zipf(word))


def corpus_forms(word: str, vocab) -> list:
    """Ways an index with vocabulary `vocab` (stemmed tokens) knows a question word: its
    stems ([stems]), or a Danish/Norwegian compound's two parts ([[head stems, tail stems]]);
    [] when the index has never seen the word in any form.

    Unlike `decompound`, which splits by a general dictionary when indexing, this splits by
    what the index holds, so a compound the dictionary lacks ("indkøbsafdeling") still
    counts as known when both its parts occur in the corpus.
    """
    stems_ = query_stems(word)
    if stems_ & vocab.keys():
        return [stems_]
    if len(word) >= 8:
        for cut in range(4, len(word) - 3):
            head, tail = word[:cut], word[cut:]
            for h in (head, head[:-1] if head.endswith(("s", "e")) else None):
                if h and query_stems(h) & vocab.keys() and query_stems(tail) & vocab.keys():
                    return [[query_stems(h), query_stems(tail)]]
    return []
