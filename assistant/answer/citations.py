"""Citations of a model's answer, checked against the passages it was given."""

from __future__ import annotations

import logging
import re

from assistant.answer.extractive import split_sentences, supporting_quote
from assistant.answer.types import Citation
from assistant.retrieval.search import Hit

log = logging.getLogger(__name__)

_MARKER = re.compile(r"\[(\d{1,3})\]")


def check_citations(text: str, hits: list[Hit]) -> tuple[str, list[Citation]]:
    """Drop [n] that point at no given source; quote the sentences that support each claim."""
    valid = set(range(1, len(hits) + 1))
    invented = sorted({int(n) for n in _MARKER.findall(text)} - valid)
    if invented:
        log.warning("removed citations to sources that were not given: %s", invented)
    cleaned = _MARKER.sub(lambda m: m.group(0) if int(m.group(1)) in valid else "", text)
    cleaned = re.sub(r"[ \t]+([.,;:])", r"\1", cleaned)
    claims: dict[int, list[str]] = {}
    for sentence in re.split(r"(?<=[.!?])\s+|\n+", cleaned):
        for n in {int(x) for x in _MARKER.findall(sentence)}:
            claims.setdefault(n, []).append(_MARKER.sub("", sentence))
    citations = [
        citation(n, hits[n - 1], supporting_quote(" ".join(claims[n]), hits[n - 1].text))
        for n in sorted(claims)
    ]
    return cleaned.strip(), citations


_DECLINES = re.compile(r"(kan ikke finde|finner (jeg )?ikke|can't find|cannot find|do not cover|"
                       r"dækker ikke|dekker ikke|not covered|ikke dækket|no information)", re.I)


def declines(text: str) -> bool:
    return bool(_DECLINES.search(text))


def label(hit: Hit) -> str:
    parts = [hit.title or hit.source]
    if hit.section:
        parts.append(hit.section)
    if hit.page:
        parts.append(f"p. {hit.page}")
    return " – ".join(parts)


def first_sentence(text: str) -> str:
    sentences = split_sentences(text)
    return sentences[0] if sentences else text[:240]


def citation(n: int, hit: Hit, quote: str) -> Citation:
    return Citation(n=n, source=hit.source, title=hit.title, page=hit.page, section=hit.section,
                    quote=quote, score=round(hit.score, 6), language=hit.language, as_of=hit.as_of,
                    official_urls=hit.official_urls.split(), sources=list(hit.sources),
                    topics=list(hit.topics))
