"""English questions reach Danish and Norwegian law; a named jurisdiction scopes the search; an
unscoped Danish or Norwegian question prefers its own country's law; the gate and fusion weights
come from the embedding's calibration (built-in embedding, real Chroma on a temp dir)."""

from __future__ import annotations

import pytest

from assistant.evaluation.retrieval import GoldQuestion, calibrate
from assistant.retrieval.search import calibration_for
from tests.conftest import retriever_over

# Parallel provisions: the same rule in Danish and Norwegian law, plus an English guide.
NOTES = {
    "da/rammeaftaler.md": (
        "---\ntitle: Rammeaftaler\nlanguage: da\njurisdiction: DK\n---\n# Rammeaftaler\n\n"
        "## Løbetid\nEn rammeaftale kan højst have en løbetid på 4 år, medmindre der foreligger "
        "særlige forhold.\n\n## Udvælgelse\nVed udvælgelse af ansøgere til et innovationspartnerskab "
        "lægger ordregiveren vægt på ansøgernes kapacitet inden for forskning og udvikling.\n"
    ),
    "nb/rammeavtaler.md": (
        "---\ntitle: Rammeavtaler\nlanguage: nb\njurisdiction: \"NO\"\n---\n# Rammeavtaler\n\n"
        "## Varighet\nOppdragsgiveren kan ikke inngå rammeavtaler for mer enn fire år, med mindre det "
        "foreligger særlige forhold.\n\n## Søksmål\nSøksmål om offentlige anskaffelser reises for "
        "tingretten uten forliksmekling.\n"
    ),
    "en/guide.md": (
        "---\ntitle: Innovation procurement guide\nlanguage: en\n---\n# Innovation procurement guide\n\n"
        "## Market consultation\nMarket consultations are not binding for the buyer, and suppliers "
        "should be told so before the dialogue starts.\n"
    ),
}


@pytest.fixture(scope="module")
def retriever(tmp_path_factory):
    return retriever_over(NOTES, tmp_path_factory.mktemp("xl"))


def test_an_english_question_reaches_norwegian_law(retriever):
    result = retriever.search("Which court hears a supplier's lawsuit over a Norwegian tender, and is "
                              "conciliation needed first?")
    assert result.hits[0].source == "nb/rammeavtaler.md"
    assert "tingretten" in result.hits[0].text
    # Unscoped, the Norwegian passage still competes with the English guide on equal terms.
    unscoped = retriever.search("Which court hears a supplier's lawsuit, and is conciliation needed first?")
    assert "nb/rammeavtaler.md" in [h.source for h in unscoped.hits[:2]]


def test_an_english_question_reaches_danish_law(retriever):
    result = retriever.search("What counts when shortlisting candidates for an innovation partnership?")
    assert result.hits[0].source == "da/rammeaftaler.md" and "forskning og udvikling" in result.hits[0].text


@pytest.mark.parametrize(("question", "source", "scope"), [
    ("How long may a framework agreement last under Norwegian law?", "nb/rammeavtaler.md", ["NO"]),
    ("How long may a framework agreement last in Denmark?", "da/rammeaftaler.md", ["DK"]),
    ("Hvor længe må en rammeaftale højst løbe i Norge?", "nb/rammeavtaler.md", ["NO"]),
    ("Hvor lenge kan en rammeavtale vare etter dansk rett?", "da/rammeaftaler.md", ["DK"]),
])
def test_a_named_jurisdiction_scopes_the_search(retriever, question, source, scope):
    result = retriever.search(question)
    assert result.scope == scope
    assert result.hits[0].source == source


@pytest.mark.parametrize(("question", "source"), [
    ("Hvor længe må en rammeaftale løbe?", "da/rammeaftaler.md"),
    ("Hvor lenge kan en rammeavtale vare?", "nb/rammeavtaler.md"),
])
def test_an_unscoped_nordic_question_prefers_its_own_countrys_law(retriever, question, source):
    assert retriever.search(question).hits[0].source == source


def test_a_named_document_is_preferred(retriever):
    result = retriever.search("Er vi bundet af markedsdialogen ifølge Innovation procurement guide?")
    assert result.hits[0].source == "en/guide.md"


def test_settings_override_the_embeddings_calibration(retriever):
    base = calibration_for(retriever.store.embedding, retriever.settings)
    assert base.key == "procurement-local-chargram" and base.calibrated_with
    tuned = calibration_for(retriever.store.embedding,
                            retriever.settings.model_copy(update={"abstain_threshold": 0.9, "bm25_weight": 3.0}))
    assert (tuned.abstain_threshold, tuned.bm25_weight, tuned.dense_weight) == (0.9, 3.0, base.dense_weight)


def test_keyword_only_search_is_judged_on_its_own_threshold(retriever, tmp_path):
    # With the endpoint down the evidence is lexical alone, on a lower scale than the blend.
    table = tmp_path / "calibration.yaml"
    table.write_text("procurement-local-chargram: {dense_weight: 0.5, bm25_weight: 2.0, dense_full: 0.5, "
                     "abstain_threshold: 0.99, degraded_threshold: 0.05}\n", encoding="utf-8")
    cal = calibration_for(retriever.store.embedding, retriever.settings, table)
    assert cal.threshold(False) == 0.99 and cal.threshold(True) == 0.05
    question = "Hvor længe må en rammeaftale løbe?"
    retriever.calibration = cal
    try:
        assert retriever.search(question).abstain  # nothing clears 0.99
        keyword_only = retriever.search(question, dense=False)
        assert keyword_only.degraded and not keyword_only.abstain
    finally:
        retriever.calibration = calibration_for(retriever.store.embedding, retriever.settings)
    without = tmp_path / "old.yaml"
    without.write_text("procurement-local-chargram: {dense_weight: 0.5, bm25_weight: 2.0, dense_full: 0.5, "
                       "abstain_threshold: 0.4}\n", encoding="utf-8")
    assert calibration_for(retriever.store.embedding, retriever.settings, without).threshold(True) == 0.4


def test_an_uncalibrated_embedding_gets_generic_values(retriever):
    class Other:
        calibration_key = "some-new-model"

        def name(self):
            return "procurement-openai"

    cal = calibration_for(Other(), retriever.settings)
    assert cal.key == "some-new-model" and cal.dense_weight == cal.bm25_weight and "not calibrated" in cal.calibrated_with


def test_calibration_keeps_answerable_questions_and_refuses_the_rest(retriever):
    questions = [
        GoldQuestion(id="a1", question="Hvor længe må en rammeaftale løbe?", answerable=True, kind="direct",
                     expect=[{"source": "rammeaftaler", "text": "løbetid på 4 år"}]),
        GoldQuestion(id="a2", question="Which court hears a supplier's lawsuit?", answerable=True,
                     kind="cross-language", expect=[{"source": "rammeavtaler", "text": "tingretten"}]),
        GoldQuestion(id="a3", question="Are market consultations binding?", answerable=True, kind="direct",
                     expect=[{"source": "guide", "text": "not binding"}]),
        GoldQuestion(id="u1", question="Hvor mange ugers barsel har en medarbejder ret til?", answerable=False,
                     kind="unanswerable", expect=[]),
        GoldQuestion(id="u2", question="What is the VAT return deadline for the second quarter?",
                     answerable=False, kind="unanswerable", expect=[]),
    ]
    result = calibrate([(questions, retriever)], max_false_abstain=0.0)
    assert result.key == "procurement-local-chargram"
    assert result.false_abstain == 0.0 and result.hit_at_5 == 1.0
    assert result.abstain == 1.0
    entry = result.entry("test")
    assert entry["abstain_threshold"] == round(result.abstain_threshold, 3) and "5 questions" in entry["calibrated_with"]
    assert 0.0 <= entry["degraded_threshold"] <= 1.0
    # The gate's dense support starts at what unrelated text gets: for the built-in embedding
    # a low cosine, well below the best passages', and stored with the calibration.
    assert 0.0 < entry["dense_floor"] < entry["dense_full"]


def test_dense_support_is_measured_from_the_embeddings_unrelated_similarity(retriever):
    from assistant.retrieval import gate
    from assistant.retrieval.search import analyse_search

    index = retriever.index()
    question = analyse_search("Hvor mange ugers barsel har en medarbejder ret til?", glossary=retriever.glossary,
                              languages=index.languages)
    lexical = gate.evidence(question, index, [0], None, 0.9)
    # e5-like scale: every passage's cosine sits near 0.8. From zero, 0.82 reads as nearly full
    # support; from the floor, as almost none, so the lexical evidence decides.
    assert gate.evidence(question, index, [0], 0.82, 0.9) > lexical + 0.3
    assert gate.evidence(question, index, [0], 0.82, 0.9, 0.81) < lexical * gate.LEXICAL_SHARE + 0.06
    assert gate.evidence(question, index, [0], 0.5, 0.9, 0.81) == gate.LEXICAL_SHARE * lexical  # below the floor: none


def test_rerank_puts_the_passage_that_covers_the_question_first_and_leaves_the_rest():
    from assistant.retrieval.search import rerank

    fused = {1: 0.10, 2: 0.09, 3: 0.08, 4: 0.07}
    # Passage 2 holds every specific word of the question, passage 1 a third of them.
    order = rerank([1, 2, 3, 4], fused, {1: 0.33, 2: 1.0, 3: 0.5}, weight=1.0)
    assert order == [2, 1, 3, 4]
    assert fused[2] == 0.18 and fused[4] == 0.07
    assert rerank([1, 2], {1: 0.1, 2: 0.09}, {1: 0.0, 2: 1.0}, weight=0.0) == [1, 2]
