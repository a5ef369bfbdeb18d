"""The offline answer's shortcuts give what the plain way gave (issue 23: ask within 1.5x of
search): the phrase factor looks a unit's words up in the question's, instead of comparing
every word pair with every question pair."""

from __future__ import annotations

import itertools
from pathlib import Path

from assistant.answer.compose import _PhraseIndex, _word_sequence
from assistant.retrieval import factors

ROOT = Path(__file__).resolve().parents[2]


def _phrase_factor_pairwise(question: str, text: str) -> float:
    """The factor as first written: every adjacent unit word pair against every question pair."""
    q = _word_sequence(question)
    if len(q) < 2:
        return 1.0
    seq = _word_sequence(text)
    adjacent = set()
    for a, b in zip(seq, seq[1:]):
        for i, (qa, qb) in enumerate(zip(q, q[1:])):
            if qa & a and qb & b:
                adjacent.add(i)
    return 1.0 + factors.value("phrase") * min(len(adjacent), 4)


QUESTIONS = ["Må vi tale med leverandører inden udbuddet?", "Hvornår kan vi bruge et innovationspartnerskab?",
             "What is pre-commercial procurement?", "Hva er fristen for innovasjonspartnerskap?",
             "Kan vi indgå kontrakt uden udbud?", "requests to participate in a competitive dialogue",
             "udbud udbud med forhandling udbud", "Hvad", ""]


def test_phrase_factor_equals_the_pairwise_comparison_on_the_shipped_notes():
    texts = [p.read_text(encoding="utf-8") for p in sorted((ROOT / "corpus").glob("*/*.md"))]
    paragraphs = [p for t in texts for p in t.split("\n\n") if p.strip()][:400]
    assert len(paragraphs) > 50
    lifted = 0
    for question, text in itertools.product(QUESTIONS, paragraphs):
        expected = _phrase_factor_pairwise(question, text)
        assert _PhraseIndex(question).factor(text) == expected, (question, text)
        lifted += expected > 1.0
    assert lifted > 20  # the comparison covers units the factor lifts, not only neutral ones
