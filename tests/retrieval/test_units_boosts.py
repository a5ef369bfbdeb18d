"""Unit tests for the pure stages after fusion: jurisdiction scope (`boosts.scope_factors`),
provisions first (`boosts.provisions_first`) and the gate (`gate.coverage`)."""

from __future__ import annotations

from datetime import date

import bm25s

from assistant.ingest.chunking import Chunk
from assistant.retrieval import gate
from assistant.retrieval.boosts import (
    CONTENTS_FACTOR,
    NAMED_DOCUMENT_BOOST,
    VALUE_BOOST,
    parse_provisions,
    provisions_first,
    scope_factors,
    value_factors,
)
from assistant.retrieval.jurisdiction import (
    GUIDANCE_WHEN_SCOPED,
    NAMED_BOOST,
    NEIGHBOUR_COUNTRY,
    OTHER_COUNTRY,
    OWN_COUNTRY_BOOST,
)
from assistant.retrieval.query import analyse
from assistant.retrieval.search import analyse_search
from assistant.store.bm25 import Bm25Index
from assistant.text.glossary import default_glossary
from assistant.text.words import doc_tokens

TODAY = date(2026, 12, 2)


def chunk(source: str, text: str, *, language: str, jurisdiction: str = "", provision: str = "",
          position: int = 0) -> Chunk:
    return Chunk(source=source, text=text, title=source, section=provision or source, page=0,
                 language=language, position=position, provision=provision, jurisdiction=jurisdiction)


def index_of(chunks: list[Chunk]) -> Bm25Index:
    model = bm25s.BM25()
    model.index([doc_tokens(c.indexed_text, c.language) for c in chunks], show_progress=False)
    return Bm25Index([f"c{i}" for i in range(len(chunks))], chunks, model)


DK = chunk("udbudsloven.txt", "§ 57. Fristen for modtagelse af tilbud er mindst 35 dage.", language="da",
           jurisdiction="DK", provision="§ 57")
NO = chunk("foa.html", "§ 20-3. Fristen for å motta tilbud skal være minst 30 dager.", language="nb",
           jurisdiction="NO", provision="§ 20-3")
EU = chunk("direktiv.txt", "Article 27. The minimum time limit for receipt of tenders is 35 days.", language="en",
           jurisdiction="EU", provision="artikel 27")
GUIDE = chunk("guide.pdf", "Guidance on deadlines for tenders in open procedures.", language="en")
CONTENTS = chunk("guide.pdf", "1. Deadlines ........ 5\n2. Criteria ........ 9\n3. Contracts ........ 12",
                 language="en", position=1)
INDEX = index_of([DK, NO, EU, GUIDE, CONTENTS])
FUSED = {i: 0.1 for i in range(5)}


def test_an_unscoped_danish_question_prefers_danish_law_leaves_eu_law_neutral_and_guidance_a_little_back():
    factors = scope_factors(analyse("Hvad er fristen for tilbud ved offentligt udbud?", today=TODAY), INDEX, FUSED)
    assert factors[0] == OWN_COUNTRY_BOOST and factors[1] == NEIGHBOUR_COUNTRY
    assert 2 not in factors  # EU law applies in Denmark: neutral
    # A guide with no country is not Denmark's rule, as when the question names Denmark.
    assert factors[3] == GUIDANCE_WHEN_SCOPED < 1


def test_a_document_the_question_names_is_not_held_back_by_its_jurisdiction():
    """"ifølge Barcelonas vejledning" names the guide: its passages lead, although a guide without
    a country falls back for a Danish question; a named Norwegian regulation is no longer held
    back as another country's law (naming it names its country)."""
    barcelona = chunk("barcelona_guide.pdf", "Consultations are not binding.", language="en")
    index = index_of([DK, NO, EU, barcelona])
    fused = {i: 0.1 for i in range(4)}
    guide = scope_factors(analyse("Er vi bundet af markedsdialogen ifølge Barcelonas vejledning?", today=TODAY),
                          index, fused)
    assert guide[3] == NAMED_DOCUMENT_BOOST and guide[3] > guide[0]
    foa = scope_factors(analyse("Hvad siger Foa om frister for tilbud?", today=TODAY), index, fused)
    assert foa[1] >= NAMED_DOCUMENT_BOOST > foa[0]


def test_a_question_that_names_norway_is_scoped_to_norwegian_law():
    factors = scope_factors(analyse("Hvad er fristen for tilbud i Norge?", today=TODAY), INDEX, FUSED)
    assert factors[1] == NAMED_BOOST and factors[0] == OTHER_COUNTRY and 2 not in factors
    assert factors[3] == GUIDANCE_WHEN_SCOPED < 1  # guidance is not Norway's law


def test_an_unscoped_english_question_leaves_both_countries_law_and_the_guides_neutral():
    """An English question that names no country has no "own law": the Danish act, the
    Norwegian regulation and the English guides compete on their match alone."""
    factors = scope_factors(analyse("What is the deadline for tenders?", today=TODAY), INDEX, FUSED)
    assert not {0, 1, 2, 3} & set(factors)


def test_a_question_asking_for_a_figure_prefers_passages_that_state_one():
    """ "How many days ..." wants a period: of two passages on the topic, the one stating
    "35 dage" is preferred; a question asking for no figure boosts nothing."""
    days = chunk("a.txt", "§ 57. Fristen skal som minimum være 35 dage.", language="da", provision="§ 57")
    none = chunk("b.txt", "§ 56. Ved offentligt udbud kan enhver afgive tilbud.", language="da", provision="§ 56")
    index = index_of([days, none])
    factors = value_factors(analyse("Hvor lang er tilbudsfristen ved offentligt udbud?", today=TODAY),
                            index, {0: 0.1, 1: 0.1})
    assert factors == {0: VALUE_BOOST} and VALUE_BOOST > 1
    assert value_factors(analyse("Hvad er et offentligt udbud?", today=TODAY), index, {0: 0.1, 1: 0.1}) == {}


def test_a_table_of_contents_falls_back():
    factors = scope_factors(analyse("Hvilke frister gælder?", today=TODAY), INDEX, FUSED)
    assert factors[4] == factors[3] * CONTENTS_FACTOR  # the same guide's contents, further back


def test_the_provision_asked_for_comes_first_and_the_named_law_before_another_law_of_that_number():
    other = chunk("anskaffelsesforskrift.html", "§ 57. Noe annet.", language="nb", jurisdiction="NO", provision="§ 57")
    index = index_of([GUIDE, other, DK])
    order = [0, 1, 2]
    assert provisions_first(parse_provisions("Hvad siger udbudsloven § 57?"), index, order, {0: 0.3, 1: 0.1, 2: 0.1}, 50) == [2, 1, 0]
    assert provisions_first([], index, order, {}, 50) == order


def test_coverage_weighs_the_specific_words_of_the_question():
    question = analyse_search("Hvad er fristen for tilbud ved offentligt udbud?", glossary=default_glossary(),
                              languages=INDEX.languages, today=TODAY)
    # A glossary term counts in any language: the English guide ("tenders in open procedures")
    # covers the Danish question; § 57 here never names the open procedure, so it covers less.
    assert gate.coverage(question, INDEX, [3]) == 1.0
    assert 0.6 < gate.coverage(question, INDEX, [0]) < 1.0
    other = index_of([chunk("kontrakt.md", "Ordregiveren kan ændre kontrakten, hvis ændringen ikke er væsentlig.",
                            language="da")])
    assert gate.coverage(question, other, [0]) < 0.5
    assert gate.coverage(question, INDEX, []) == 0.0
    absent = analyse_search("Hvor mange ugers barsel har en kollega?", glossary=default_glossary(),
                            languages=INDEX.languages, today=TODAY)
    assert gate.coverage(absent, INDEX, [0, 1, 2]) < 0.3  # nothing here is about parental leave


def test_a_country_the_question_names_is_held_by_that_countrys_law_in_the_gates_reading():
    # A statute never names its own country: "the Norwegian regulation" is held by FOA § 20-3,
    # not by the same words in Danish law, and only where the gate judges (the rerank keeps
    # its measured reading).
    question = analyse_search("What is the minimum time limit for tenders under Norwegian rules?",
                              glossary=default_glossary(), languages=INDEX.languages, today=TODAY)
    # Held by the Norwegian regulation's passage, not by Danish law's: the gate's reading gains
    # only on the former.
    assert gate.coverage(question, INDEX, [1], judged=True) > gate.coverage(question, INDEX, [1])
    assert gate.coverage(question, INDEX, [0], judged=True) == gate.coverage(question, INDEX, [0])
    unscoped = analyse_search("What is the minimum time limit for tenders under the rules?",
                              glossary=default_glossary(), languages=INDEX.languages, today=TODAY)
    assert gate.coverage(unscoped, INDEX, [1], judged=True) == gate.coverage(unscoped, INDEX, [1])


def test_a_glossary_term_of_several_words_counts_only_when_the_passage_holds_it_whole():
    """ "tied to one vendor" names vendor lock-in; a Norwegian passage that merely says
    "leverandør" (as nearly every one does) must not count as covering it, one that says
    "bundet til én leverandør" must."""
    question = analyse_search("How do we avoid being tied to one vendor?", glossary=default_glossary(),
                              languages=["nb"], today=TODAY)
    assert "vendor" in question.concept_stems
    passing = index_of([chunk("a.html", "Leverandøren skal levere tilbud innen fristen.", language="nb")])
    whole = index_of([chunk("b.html", "Oppdragsgiveren bør unngå å bli bundet til én leverandør.", language="nb")])
    assert gate.coverage(question, whole, [0]) > gate.coverage(question, passing, [0]) + 0.25


def test_an_amount_question_needs_a_passage_that_states_an_amount():
    question = analyse_search("Hvad koster det at klage?", glossary=default_glossary(), languages=INDEX.languages,
                              today=TODAY)
    with_amount = index_of([chunk("gebyr.md", "Det koster 20.000 kr. at klage.", language="da")])
    without = index_of([chunk("gebyr.md", "Det koster noget at klage.", language="da")])
    assert gate.coverage(question, with_amount, [0]) == 2 * gate.coverage(question, without, [0])


def test_a_similar_passage_without_an_amount_cannot_vouch_for_a_cost_question():
    # The dense side blends in; a close passage that names no amount still must not carry
    # "what does it cost?" over the threshold.
    question = analyse_search("Hvad koster det at klage?", glossary=default_glossary(), languages=["da"], today=TODAY)
    without = index_of([chunk("gebyr.md", "Det koster noget at klage.", language="da")])
    with_amount = index_of([chunk("gebyr.md", "Det koster 20.000 kr. at klage.", language="da")])
    assert gate.evidence(question, without, [0], 0.5, 0.5) == 0.5 * gate.evidence(question, with_amount, [0], 0.5, 0.5)


def test_a_payment_in_the_situation_does_not_make_a_cost_question():
    # Only the asking sentence decides: the buyer asks for an example, not for a price, so a
    # passage without an amount is not halved (it was, and the right passage was refused).
    text = "We'd rather pay for the outcome we need than for equipment. Does the guide give an example?"
    question = analyse_search(text, glossary=default_glossary(), languages=["en"], today=TODAY)
    example = index_of([chunk("guide.md", "A simple example: buy light instead of lampposts; pay for the outcome.",
                              language="en")])
    assert not gate.asks_for_amount(text) and gate.asks_for_amount("What did the city pay for it?")
    priced = index_of([chunk("guide.md", "A simple example: buy light instead of lampposts; pay for the outcome, "
                                         "EUR 20,000.", language="en")])
    assert gate.evidence(question, example, [0], 0.5, 0.5) == gate.evidence(question, priced, [0], 0.5, 0.5)
