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
ALL_STOPWORDS = STOPWORDS["da"] | STOPWORDS["nb"] | STOPWORDS["en"] | QUESTION_WORDS
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


def doc_tokens(text: str, language: str) -> list[str]:
    """Index tokens of a passage: its own language's stop words out, its stems in."""
    stop = STOPWORDS.get(language, STOPWORDS["da"])
    kept = [w for w in words(text) if w not in stop]
    return stems(kept, language if language in _SNOWBALL else "da")


def query_stems(word: str) -> set[str]:
    """A query word's stems in all three languages: questions cross languages."""
    return {stemmer(lang).stemWord(word) for lang in LANGUAGES}
