"""The claim check's parts, without a store or a server: what counts as the same fact, what
counts as a decline, and that model text is bounded before any pattern reads it."""

from __future__ import annotations

import time

from assistant.answer.citations import check_claims, declines, facts, normalise_output
from assistant.ingest.chunking import Chunk
from assistant.retrieval.search import Hit

PASSAGE = ("Ved et offentligt udbud er fristen for modtagelse af tilbud mindst 35 dage. Sikkerheden er "
           "7.500.000 kr., jf. udbudslovens § 57. En tidligere ansat har karantæne i seks måneder.")


def hit(text: str, language: str = "da") -> Hit:
    return Hit.from_chunk("a", Chunk(source="x.md", text=text, title="Frister", section="", page=0,
                                     language=language, position=0), score=1.0)


def test_the_same_fact_written_differently_is_found():
    held = facts(PASSAGE)
    for claim in ("fristen er 35 dage", "DKK 7.5 m", "7,5 mio. kr.", "§57", "six months", "seks måneder"):
        assert not facts(claim).missing_from(held), claim
    for claim, missing in (("the deadline is 99 days", ["99"]), ("under § 999", ["999", "§999"]),
                           ("DKK 8.5 m", ["8.5"]), ("et innovationspartnerskab", ["innovation_partnership"])):
        assert facts(claim).missing_from(held) == missing, claim


def test_each_cited_sentence_keeps_only_markers_whose_passage_supports_it():
    other = hit("Life-cycle costing adds energy use and maintenance to the price.", "en")
    checked = check_claims("Fristen for tilbud er mindst 35 dage [1][2]. Karantænen er 12 måneder [1]. "
                           "Uden kilde gælder 10 dage.", [hit(PASSAGE), other], language="da")
    assert checked.text == "Fristen for tilbud er mindst 35 dage [1]."
    assert checked.counts() == {"cited": 2, "supported": 1, "uncited": 1}
    assert checked.citations[0].quote == "Ved et offentligt udbud er fristen for modtagelse af tilbud mindst 35 dage."


def test_only_a_whole_short_decline_is_a_decline():
    assert declines("Kilderne dækker ikke dette.") and declines("I can't find that in the sources.")
    assert not declines("Not covered, but you may skip the tender.")
    assert not declines("The sources do not cover it [1].")
    assert not declines("Kilderne dækker ikke fristen på 35 dage.")  # a figure is a claim
    assert not declines("Det er ikke dækket. " + "Men ordregiveren kan gøre meget andet her. " * 5)


def test_model_text_is_bounded_before_any_pattern():
    hostile = "a" + " " * 48_000 + "b" + "\t" * 48_000 + "c\n\n\n\n\nd" + "x" * 500_000
    started = time.monotonic()
    text = normalise_output(hostile)
    assert time.monotonic() - started < 0.5
    assert text.startswith("a b c\n\nd") and len(text) <= 6000
