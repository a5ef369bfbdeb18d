"""Unit tests for the pure text functions: language detection, decompounding, term
weighting, sentence splitting and glossary matching (no store, no model)."""

from __future__ import annotations

import pytest

from assistant.answer.extractive import split_sentences
from assistant.text.glossary import Concept, Glossary, default_glossary, equivalent_stems
from assistant.text.language import detect_language
from assistant.text.words import decompound, doc_tokens, query_tokens, stems, term_weight

# --- language detection ---------------------------------------------------------------------


@pytest.mark.parametrize("question, language", [
    ("Hvor lang er tilbudsfristen ved et udbud?", "da"),
    ("Hvor lang er tilbudsfristen ved en anbudskonkurranse?", "nb"),
    ("Må vi købe ind uden udbud?", "da"),
    ("Må vi kjøpe inn uten anbud?", "nb"),  # kj- and the Norwegian word for a tender
    ("Kan vi gjennomføre en markedsdialog?", "nb"),  # gj-
    ("Er det tillatt å forhandle med leverandørene?", "nb"),  # the infinitive "å"
    ("Er det tilladt at forhandle med leverandørerne?", "da"),
    ("Hvor lang tid har vi til å svare?", "nb"),
    ("Hvem vandt kontrakten?", "da"),
    ("Hvem vant kontrakten?", "nb"),
    ("Hvor mange dage har vi?", "da"),
    ("Hvor mange dager har vi?", "nb"),
    ("What is the deadline for tenders?", "en"),
    ("Which court hears a supplier's lawsuit?", "en"),
])
def test_short_questions_get_their_language(question, language):
    assert detect_language(question) == language


@pytest.mark.parametrize("text", ["", "   ", "123 456", "Mercell", "§ 12-2"])
def test_text_without_evidence_falls_back_to_the_default(text):
    assert detect_language(text) == "da"
    assert detect_language(text, default="en") == "en"


def test_one_word_or_a_name_goes_to_the_default():
    # One word (most often a name) does not tell Danish from Norwegian: the default decides.
    assert detect_language("Doffin") == "da"
    assert detect_language("Doffin", default="nb") == "nb"
    assert detect_language("udbudsloven § 12", default="en") == "en"


@pytest.mark.parametrize("text", ["Og i Norge?", "og i Danmark?", "Norge?"])
def test_the_countries_names_are_no_evidence_of_danish_or_norwegian(text):
    # "Norge", "Danmark" are spelt alike in both languages; lingua read "Og i Norge?" as Norwegian.
    assert detect_language(text) == "da"
    assert detect_language(text, default="nb") == "nb"


def test_a_short_question_of_shared_words_is_not_confident_a_full_one_is():
    from assistant.text.language import detect

    assert not detect("Hva med fristen?").confident
    assert detect("Hvor lang er tilbudsfristen ved åpen anbudskonkurranse?").confident
    assert detect("What is the time limit for tenders in an open procedure?").confident


@pytest.mark.parametrize("question, language", [
    # Lingua alone reads these as Danish (odds under 2): "hva", "av", "etter" are bokmål spellings.
    ("Hva er klagegebyret hos KOFA i en vanlig rådgivende sak?", "nb"),
    ("Hva er gebyret for en klage over en direkte anskaffelse?", "nb"),
])
def test_the_norwegian_spelling_of_a_function_word_settles_an_undecided_question(question, language):
    assert detect_language(question) == language


def test_a_decisive_reading_is_not_overridden_by_a_spelling():
    # A clearly Danish question quoting a Norwegian word stays Danish.
    assert detect_language("Hvor mange dage har ordregiveren til at besvare spørgsmål efter udbudsloven?") == "da"


def test_detection_is_lingua_not_word_lists():
    # The hand-written word lists grew from evaluation questions; none may come back.
    import assistant.text.language as language

    assert not hasattr(language, "_WORDS") and not hasattr(language, "_STEMS")
    assert detect_language("Hvor mange uker ferie har vi krav på i sommer?") == "nb"
    assert detect_language("Hvor mange uger ferie har vi krav på i sommer?") == "da"


# --- decompounding and tokens ----------------------------------------------------------------


@pytest.mark.parametrize("word, parts", [
    ("tilbudsfristen", ("tilbud", "fristen")),  # linking -s-
    ("kontraktsverdi", ("kontrakt", "verdi")),
    ("tildelingskriterier", ("tildeling", "kriterier")),
    ("rammeaftale", ("ramme", "aftale")),
    ("innovationspartnerskab", ("innovation", "partnerskab")),
])
def test_compounds_split_into_dictionary_words(word, parts):
    assert decompound(word) == parts


@pytest.mark.parametrize("word", [
    "kontrakt",  # a word of its own
    "udbud",  # too short to be a compound
    "leverandørerne",  # an inflected word: "-erne" is an ending, not a second word
    "tilbud2025",  # not letters only
])
def test_non_compounds_give_nothing(word):
    assert decompound(word) == ()


def test_danish_passages_index_compound_parts_and_drop_stop_words():
    tokens = doc_tokens("Tilbudsfristen er 35 dage", "da")
    assert {"tilbudsfrist", "tilbud", "frist", "35"} <= set(tokens)
    assert "er" not in tokens


def test_english_passages_are_not_decompounded():
    assert "tilbud" not in doc_tokens("The tilbudsfristen rule", "en")


def test_a_question_word_matches_passages_that_spell_the_compound_apart():
    # "tilbudsfristen" in a question finds "fristen for tilbud" in a passage.
    passage = set(doc_tokens("Fristen for tilbud er 35 dage", "da"))
    assert {"tilbud", "frist"} <= query_tokens("tilbudsfristen") & passage


# --- term weighting ---------------------------------------------------------------------------


def test_rare_domain_words_weigh_more_than_common_ones():
    assert term_weight("tilbudsfrist") > term_weight("udbud") > term_weight("går")
    assert term_weight("barsel") > term_weight("actually")


@pytest.mark.parametrize("word", ["og", "the", "er"])
def test_the_commonest_words_weigh_the_floor(word):
    assert term_weight(word) == 0.5


def test_an_unknown_word_weighs_most():
    assert term_weight("mercell") == 7.0


# --- sentence splitting -----------------------------------------------------------------------


@pytest.mark.parametrize("text, sentences", [
    ("Ordregiveren skal jf. § 12, stk. 2 dokumentere valget. Dokumentationen opbevares i tre år.",
     ["Ordregiveren skal jf. § 12, stk. 2 dokumentere valget.", "Dokumentationen opbevares i tre år."]),
    ("Der kan f.eks. være tale om møder med leverandører. Dialogen skal dokumenteres skriftligt.",
     ["Der kan f.eks. være tale om møder med leverandører.", "Dialogen skal dokumenteres skriftligt."]),
    ("Se nr. 3 i bilaget for detaljer. Den næste regel følger her.",
     ["Se nr. 3 i bilaget for detaljer.", "Den næste regel følger her."]),
    # An amount ends its sentence ("kr." after a number before a capital); "kr." before a number does not.
    ("Beløbet er 500.000 kr. Det svarer til tærskelværdien for varer.",
     ["Beløbet er 500.000 kr.", "Det svarer til tærskelværdien for varer."]),
    ("Grænsen er kr. 500.000 for varer. Den gælder i to år.",
     ["Grænsen er kr. 500.000 for varer.", "Den gælder i to år."]),
    ("The buyer may consult the market, e.g. by meetings. Then it publishes the notice.",
     ["The buyer may consult the market, e.g. by meetings.", "Then it publishes the notice."]),
])
def test_abbreviations_do_not_end_a_sentence(text, sentences):
    assert split_sentences(text) == sentences


def test_provisions_and_subsections_start_sentences():
    text = ("§ 2. En ordregiver skal overholde principperne om ligebehandling. Stk. 2. Ordregiveren "
            "skal dokumentere valget af procedure. Stk. 3. Dokumentationen opbevares i tre år.")
    assert split_sentences(text) == [
        "§ 2. En ordregiver skal overholde principperne om ligebehandling.",
        "Stk. 2. Ordregiveren skal dokumentere valget af procedure.",
        "Stk. 3. Dokumentationen opbevares i tre år.",
    ]


def test_numbered_and_bulleted_items_are_sentences_of_their_own():
    numbered = "Kravene er følgende:\n1. Tilbuddet skal være skriftligt.\n2. Prisen skal fremgå tydeligt."
    assert split_sentences(numbered) == ["Kravene er følgende:", "1. Tilbuddet skal være skriftligt.",
                                         "2. Prisen skal fremgå tydeligt."]
    bullets = "Kravene er følgende:\n- Tilbuddet skal være skriftligt\n- Prisen skal fremgå tydeligt"
    assert split_sentences(bullets)[1:] == ["- Tilbuddet skal være skriftligt", "- Prisen skal fremgå tydeligt"]


def test_fragments_under_three_words_are_not_sentences():
    assert split_sentences("Ja. Kort svar. Ordregiveren må gennemføre markedsdialog.") == [
        "Ordregiveren må gennemføre markedsdialog."]


# --- glossary matching ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def small_glossary() -> Glossary:
    return Glossary([
        Concept(id="framework_agreement", terms={"da": ("rammeaftale",), "nb": ("rammeavtale",),
                                        "en": ("framework agreement",)}),
        Concept(id="tender_deadline", terms={"da": ("tilbudsfrist",), "nb": ("tilbudsfrist", "anbudsfrist"),
                                    "en": ("tender deadline", "deadline")}),
    ])


def test_an_english_phrase_finds_its_danish_and_norwegian_terms(small_glossary):
    found = small_glossary.match("What is a framework agreement?")
    assert [(c.id, words) for c, words in found] == [("framework_agreement", {"framework", "agreement"})]
    equivalents = equivalent_stems(found)
    assert set(equivalents) == {"framework", "agreement"}
    assert set(stems(["rammeaftale"], "da")) <= equivalents["agreement"]
    assert set(stems(["rammeavtale"], "nb")) <= equivalents["agreement"]


@pytest.mark.parametrize("question, named", [
    ("Hvor længe må rammeaftalen løbe?", "rammeaftalen"),
    ("Hvor lenge kan rammeavtalene vare?", "rammeavtalene"),
    ("Which framework agreements apply?", "agreements"),
])
def test_inflected_forms_name_the_concept(small_glossary, question, named):
    found = small_glossary.match(question)
    assert [c.id for c, _ in found] == ["framework_agreement"] and named in found[0][1]


def test_the_longest_term_wins_over_a_shorter_one_inside_it(small_glossary):
    found = small_glossary.match("When is the tender deadline?")
    assert [(c.id, words) for c, words in found] == [("tender_deadline", {"tender", "deadline"})]


@pytest.mark.parametrize("question", ["Hvad koster en kop kaffe?", "", "agreement"])
def test_unrelated_text_names_no_concept(small_glossary, question):
    assert small_glossary.match(question) == []


def test_the_shipped_glossary_links_the_three_languages():
    found = {c.id for c, _ in default_glossary().match("Hvad er tilbudsfristen for en rammeaftale?")}
    assert {"tender_deadline", "framework_agreement"} <= found
    english = {c.id for c, _ in default_glossary().match("innovation partnership or competitive dialogue")}
    assert {"innovation_partnership", "competitive_dialogue"} <= english


def test_a_concepts_stop_words_are_not_lent_to_the_question():
    # "om" would match nearly every Danish/Norwegian sentence.
    glossary = Glossary([Concept(id="procurement_law", terms={"nb": ("lov om offentlige anskaffelser",),
                                                     "en": ("procurement act",)})])
    lent = equivalent_stems(glossary.match("What does the procurement act say?"))["act"]
    assert set(stems(["anskaffelser"], "nb")) <= lent and "om" not in lent


def test_a_particle_verb_term_matches_with_its_object_between_verb_and_particle():
    """Grammar: "holde dem ude" is the term "holde ude" with its object inside; an unrelated
    particle far from the verb, or the verb alone, names nothing."""
    glossary = Glossary([Concept(id="exclusion", terms={"da": ("holde ude",), "nb": ("holde ute",),
                                                        "en": ("keep out",)})])

    def named(question: str) -> list[str]:
        return [c.id for c, _ in glossary.match(question)]

    assert named("Hvor længe skal vi holde dem ude af udbuddet?") == ["exclusion"]
    assert named("Kan vi holde en leverandør ude?") == ["exclusion"]
    assert named("Hvor lenge kan vi holde ute en leverandør?") == ["exclusion"]
    assert named("Can we keep them out of the tender?") == ["exclusion"]
    assert named("Skal vi holde møde med leverandørerne, før vi sender udbuddet ud?") == []
    assert named("Hvor længe skal vi holde tilbuddet åbent?") == []


def test_an_abbreviation_is_no_word_of_the_question():
    from assistant.text.words import content_words

    assert content_words("Må vi kræve et miljømærke som f.eks. Svanemærket, jf. loven?") == [
        "kræve", "miljømærke", "svanemærket", "loven"]


@pytest.mark.parametrize("question", [
    "In Norway, can we require pay no worse than the collective agreements?",
    "Kan vi kreve lønn etter tariffavtale?",
    "Må vi kræve løn efter overenskomst?",
])
def test_the_collective_agreement_names_the_labour_clauses(question):
    # The collective agreement is what a labour clause measures pay against (anskaffelsesloven § 6).
    assert "labour_clauses" in [c.id for c, _ in default_glossary().match(question)]


def _concepts(question: str) -> list[str]:
    return [c.id for c, _ in default_glossary().match(question)]


@pytest.mark.parametrize("question", [
    "How long is the period of exclusion after a conviction in Denmark?",
    "Hvor lang er avvisningsperioden etter en dom?",
    "Hvor lang er udelukkelsesperioden efter en dom?",
])
def test_the_exclusion_period_is_a_concept_of_its_own(question):
    # udbudsloven § 138, stk. 4-7; anskaffelsesforskriften § 24-6; directive 2014/24 art. 57(7):
    # a question about how long a supplier stays out names the period, not only the grounds.
    assert "exclusion_period" in _concepts(question)


@pytest.mark.parametrize(("question", "concept"), [
    # anskaffelsesforskriften § 24-5 "Tiltak for å unngå avvisning"; udbudsloven § 138 "dokumentation af pålidelighed"
    ("Hvilke tiltak for å unngå avvisning kan leverandøren vise til?", "self_cleaning"),
    ("Hvornår er dokumentation af pålidelighed tilstrækkelig?", "self_cleaning"),
    # anskaffelsesforskriften § 16-10 "Støtte fra andre virksomheter"
    ("Kan leverandøren få støtte fra andre virksomheter for å oppfylle kravene?", "reliance_on_other_entities"),
    # udbudsloven § 54 "dårligt stillede personer"; anskaffelsesforskriften § 8-8 "vanskeligstilte personer"
    ("Kan vi forbeholde udbuddet til virksomheder for dårligt stillede personer?", "reserved_contracts"),
    ("Kan kontrakten gå til virksomheter med vanskeligstilte personer?", "reserved_contracts"),
    ("Can a contract be kept for businesses employing disadvantaged persons in Norway?", "reserved_contracts"),
    # udbudsloven § 42 "adgangsmuligheder for handicappede eller design for samtlige brugere"; directive art. 42
    ("Skal vi tage hensyn til adgangsmuligheder for handicappede?", "accessibility"),
    # anskaffelsesforskriften § 12-1 "Forberedende undersøkelser"
    ("Hva er lov ved forberedende undersøkelser før konkurransen?", "market_consultation"),
    # "remedies": the standard English name of the review regime (directive 89/665, the Remedies Directive)
    ("What remedies does a losing bidder have in Norway?", "complaint"),
    # anskaffelsesforskriften § 7-1 "Dokumentasjonsplikt"
    ("Hvor lenge gjelder dokumentasjonsplikten?", "procurement_record"),
    # anskaffelsesforskriften §§ 24-2 and 24-8: the supplier is excluded, the tender rejected
    ("Når er det avvisning på grunn av forhold ved leverandøren?", "exclusion_grounds"),
    ("Når er det avvisning på grunn av forhold ved tilbudet?", "rejection_of_tender"),
])
def test_the_statutes_own_terms_name_their_concepts(question, concept):
    assert concept in _concepts(question)
