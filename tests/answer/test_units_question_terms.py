"""The offline composer's question terms (`answer.extractive.question_terms`): a glossary
concept's terms in another language than the question's count in a passage only held whole."""

from __future__ import annotations

from assistant.answer.extractive import question_terms, score_sentence, sentence_tokens

LABELS = "Må vi kræve, at produkterne har et miljømærke som f.eks. Svanemærket?"
# udbudsloven § 169, stk. 4: state aid and abnormally low tenders, nothing on labels.
STATE_AID = ("En ordregiver kan kun afvise et tilbud som unormalt lavt med den begrundelse, at tilbudsgiveren "
             "har modtaget statsstøtte, når den pågældende støtte er forenelig med det indre marked.")


def test_a_foreign_terms_short_stem_does_not_name_the_concept_in_an_ordinary_word():
    # English "certification mark" lent "mark", and Danish "marked" (market) stems to it in English.
    forms, _ = question_terms(LABELS, language="da")["miljømærke"]
    assert not forms.found_in(sentence_tokens(STATE_AID, True))
    assert score_sentence(STATE_AID, {"miljømærke": question_terms(LABELS, language="da")["miljømærke"]}, True) == 0


def test_the_concepts_terms_still_count_in_the_questions_language_and_whole_in_another():
    forms, _ = question_terms(LABELS, language="da")["miljømærke"]
    # A Danish synonym on its own: the statute's "mærke" and a "mærkningsordning".
    assert forms.found_in(sentence_tokens("Ordregiveren kan kræve et bestemt mærke som dokumentation.", True))
    assert forms.found_in(sentence_tokens("Brug af mærkningsordninger i udbud.", True))
    # An English passage holding a whole English term of the concept.
    assert forms.found_in(sentence_tokens("The buyer may require a certification mark.", True))
    assert forms.found_in(sentence_tokens("Products with the Nordic Swan are accepted.", True))
    assert not forms.found_in(sentence_tokens("The swan swam across the lake.", True))


def test_without_a_language_every_terms_stems_count_as_before():
    # The baseline composer and the LLM's citation check do not know the question's language.
    forms, _ = question_terms(LABELS)["miljømærke"]
    assert forms.found_in(sentence_tokens(STATE_AID, True))
