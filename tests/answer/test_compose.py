"""What a buyer reads offline: whole units, the asked-for fact first and highlighted, the
current period first, pitfalls only when asked, follow-ups only when they refer back,
honest abstention, and framing in the asker's language. Real Chroma, real notes, and once
through the real `/chat` API.
"""

from __future__ import annotations

from datetime import date
from types import SimpleNamespace

import pytest
from gradio_client import Client

from assistant.answer.assistant import Assistant
from assistant.answer.compose import period_status, periods
from assistant.corpus.service import sync
from assistant.ingest.chunking import section_role, segment_units
from assistant.ingest.loaders import unwrap_markdown
from assistant.retrieval.query import (
    analyse,
    answer_kind,
    definite_reference,
    hinge_terms,
    out_of_scope,
    refers_back,
)
from assistant.retrieval.search import Retriever
from assistant.store.chroma import Store
from assistant.text.glossary import default_glossary
from assistant.text.language import detect_language
from tests.conftest import settings_for
from tests.web.test_app import RunningApp

TODAY = date(2026, 12, 2)

NOTE = """---
title: Frister og tærskler i udbud
language: da
jurisdiction: DK
topics: [frister, tærskelværdier]
sources:
  - "Udbudsloven (LBK nr. 116 af 3. februar 2025)"
  - "https://www.retsinformation.dk/eli/lta/2025/116"
updated: 2026-12-02
as_of: 2026-12-01
review_by: 2027-06-30
---
# Frister og tærskler i udbud

## Offentligt udbud
Offentligt udbud er åbent for alle interesserede leverandører, som kan afgive tilbud på grundlag af udbudsmaterialet.
Ved offentligt udbud er fristen for modtagelse af tilbud mindst 35 dage fra dagen efter afsendelsen af udbudsbekendtgørelsen (§ 57). Proceduren egner sig, når behovet kan beskrives præcist.

## Udbud med forhandling
Ved udbud med forhandling skal der mindst gå 30 dage fra afsendelsen af udbudsbekendtgørelsen til tilbudsfristen (§ 63).

## Begrænset udbud
I et begrænset udbud er fristen mindst 30 dage for både ansøgninger og tilbud (§§ 59 og 60).

## Ansøgningen
En ansøgning om prækvalifikation skal indeholde:
- det udfyldte ESPD-dokument,
- oplysninger om økonomisk formåen,
- referencer fra tidligere leverancer.

## Tærskelværdier for kommuner
I perioden 1. januar 2024 til 31. december 2025 var tærskelværdien for kommuners vare- og tjenesteydelseskøb 221.000 euro.
Fra 1. januar 2026 til 31. december 2027 er tærskelværdien for kommuners vare- og tjenesteydelseskøb 216.000 euro.

## Markedsmæssige vilkår
Ordregiveren skal sikre, at købet sker på markedsmæssige vilkår. Det kan for eksempel ske ved at
- afdække markedet og indhente ét tilbud,
- indhente to eller flere tilbud.

Indhenter ordregiveren flere end tre tilbud, skal det kort begrundes.

## Partnere i programmet
Programmet har i dag 29 partnere fra kommuner og stat, som deltager i møderne.

## Rammeaftaler
En rammeaftale er en aftale mellem en eller flere ordregivere og leverandører, som fastlægger vilkårene for de kontrakter, der senere tildeles i aftalens løbetid på højst fire år.

## Typiske faldgruber
- At dele et indkøb op for at komme under tærskelværdien.
- At bruge tærskelværdier fra en udløbet periode.

## Kilder
- Udbudsloven, LBK nr. 116 af 3. februar 2025, frister og tærskelværdier

*Denne note er vejledning, ikke juridisk rådgivning om frister og tærskelværdier.*
"""

NB_NOTE = """---
title: Frister i norske anskaffelser
language: nb
jurisdiction: NO
topics: [frister]
sources: ["Anskaffelsesforskriften"]
---
# Frister i norske anskaffelser

## Åpen anbudskonkurranse
Ved åpen anbudskonkurranse er fristen for å levere tilbud minst 30 dager etter at kunngjøringen ble sendt (FOA § 20-3).

## Unntak fra forskriften
Forskriften gjelder ikke for anskaffelser på forsvarsområdet som definert i forskrift om forsvarsanskaffelser, og ikke for anskaffelser som definert i forsyningsforskriften.

## Definisjoner
I forskriften menes med
a. livssyklus: alle faser i varens eller tjenestens levetid;
b. innovasjon: innføring av en ny eller vesentlig forbedret vare, tjeneste eller prosess.
"""


@pytest.fixture(scope="module")
def assistant(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("compose")
    settings = settings_for(tmp, today=TODAY)
    (settings.corpus_dir / "frister.md").write_text(NOTE, encoding="utf-8")
    (settings.corpus_dir / "norske-frister.md").write_text(NB_NOTE, encoding="utf-8")
    store = Store(settings)
    assert not sync(store, settings, [settings.corpus_dir]).failed
    return Assistant(Retriever(store, settings), settings)


def quoted(answer) -> str:
    return "\n".join(line for line in answer.answer.splitlines() if line.startswith(">"))


# --- through the answer object ----------------------------------------------------------------


def test_deadline_question_leads_with_the_deadline_highlighted(assistant):
    answer = assistant.ask("Hvad er fristen for tilbud ved offentligt udbud?")
    assert not answer.abstained and answer.status == "answered"
    first_quote = quoted(answer).splitlines()[0]
    assert "mindst 35 dage" in first_quote
    assert "**Ved offentligt udbud er fristen for modtagelse af tilbud mindst 35 dage" in answer.answer
    assert answer.citations[0].as_of == "2026-12-01"
    assert "https://www.retsinformation.dk/eli/lta/2025/116" in answer.citations[0].official_urls


def test_a_list_is_quoted_with_its_lead_in(assistant):
    answer = assistant.ask("Hvad skal en ansøgning om prækvalifikation indeholde?")
    text = quoted(answer)
    assert "En ansøgning om prækvalifikation skal indeholde:" in text
    for item in ("ESPD-dokument", "økonomisk formåen", "referencer fra tidligere leverancer"):
        assert item in text


def test_current_period_leads_and_the_earlier_one_is_left_out_or_labelled(assistant):
    answer = assistant.ask("Hvad er tærskelværdien for kommuners vare- og tjenesteydelseskøb?")
    assert "216.000 euro" in answer.answer
    if "221.000" in answer.answer:
        assert answer.answer.index("216.000") < answer.answer.index("221.000")
        assert "Tidligere periode" in answer.answer


def test_a_pitfall_never_leads_unless_risks_are_asked(assistant):
    answer = assistant.ask("Må vi dele et indkøb op i mindre dele?")
    assert "At dele et indkøb op for at komme under tærskelværdien" not in answer.answer
    risky = assistant.ask("Hvilke typiske faldgruber er der ved tærskelværdier?")
    assert "Typisk faldgrube" in risky.answer
    assert "At bruge tærskelværdier fra en udløbet periode" in risky.answer


def test_sources_list_and_disclaimer_are_never_quoted(assistant):
    answer = assistant.ask("Hvad siger udbudsloven om frister og tærskelværdier?")
    assert "ikke juridisk rådgivning" not in quoted(answer)
    assert "LBK nr. 116 af 3. februar 2025, frister" not in quoted(answer)


def test_a_short_self_contained_question_is_not_merged_with_the_last_one(assistant):
    history = [{"role": "user", "content": "Hvad er fristen for tilbud ved offentligt udbud?"},
               {"role": "assistant", "content": "Mindst 35 dage."}]
    answer = assistant.ask("Hvad er en rammeaftale?", history)
    assert answer.standalone_question == "Hvad er en rammeaftale?"
    assert "højst fire år" in answer.answer
    assert "35 dage" not in answer.answer


def test_a_real_follow_up_borrows_the_topic_and_answers_the_new_point(assistant):
    history = [{"role": "user", "content": "Hvad er fristen for tilbud ved offentligt udbud?"},
               {"role": "assistant", "content": "Mindst 35 dage."}]
    answer = assistant.ask("Og i Norge?", history)
    assert "frist" in answer.standalone_question.lower()
    assert "30 dager" in quoted(answer).splitlines()[0]


def test_a_named_absent_organisation_is_refused(assistant):
    answer = assistant.ask("Hvem vandt Aarhus Kommunes udbud om rengøring i 2025?")
    assert answer.abstained and answer.status == "abstained" and answer.reason in {"named", "year", "gate"}
    live = assistant.ask("Hvad er valutakursen på euro i dag?")
    assert live.abstained


def test_the_tender_outcome_is_refused_even_for_a_body_the_sources_name(assistant):
    # Framework agreements are in the sources; who won one particular tender never is.
    answer = assistant.ask("Hvem vandt udbuddet om rammeaftaler sidste år, og hvad var prisen?")
    assert answer.abstained and answer.reason == "outcome"
    assert "hvem der vandt" in answer.answer


def test_a_lead_in_that_runs_on_into_its_list_is_quoted_with_it(assistant):
    answer = assistant.ask("Hvordan sikrer ordregiveren markedsmæssige vilkår?")
    text = quoted(answer)
    assert "Det kan for eksempel ske ved at" in text
    assert "indhente to eller flere tilbud" in text


def test_a_comparison_and_a_counted_noun_are_counts(assistant):
    begrund = assistant.ask("Hvor mange tilbud må vi indhente, før vi skal begrunde det?")
    assert "**Indhenter ordregiveren flere end tre tilbud, skal det kort begrundes.**" in begrund.answer
    partners = assistant.ask("Hvor mange partnere har programmet?")
    assert "29 partnere" in quoted(partners).splitlines()[0]


def test_how_a_law_defines_a_term_gets_the_definition_not_every_defined_as(assistant):
    # "definerer" only says a definition is wanted, and the law's name says where to look:
    # neither may make "som definert i forskrift om …" outrank "innovasjon: innføring av …".
    answer = assistant.ask("Hvordan definerer anskaffelsesforskriften innovasjon?")
    assert "innovasjon: innføring av en ny" in quoted(answer).splitlines()[0]


def test_a_passage_about_another_procedure_does_not_answer_for_the_one_asked_about(assistant):
    answer = assistant.ask("Hvor lang tid skal der mindst gå fra udbudsbekendtgørelsen til tilbudsfristen i et begrænset udbud?")
    assert "I et begrænset udbud er fristen" in quoted(answer).splitlines()[0]


def test_the_period_before_is_given_when_asked_for(assistant):
    history = [{"role": "user", "content": "Hvad er tærskelværdien for kommuners vare- og tjenesteydelseskøb?"},
               {"role": "assistant", "content": "216.000 euro."}]
    answer = assistant.ask("Og hvad var den i perioden før?", history)
    assert "221.000 euro" in quoted(answer).splitlines()[0]


def test_errors_are_not_abstentions(assistant):
    empty = assistant.ask("   ")
    assert empty.status == "error"


def test_english_question_gets_english_framing_for_a_danish_source(assistant):
    answer = assistant.ask("What is the minimum time limit for tenders in an open procedure in Denmark?")
    assert answer.language == "en"
    assert "No language model is configured" in answer.answer
    assert "from a source in Danish" in answer.answer
    assert "35 dage" in answer.answer


def test_baseline_composer_is_still_callable(assistant):
    answer = assistant.ask("Hvad er fristen for tilbud ved offentligt udbud?", composer="baseline")
    assert not answer.abstained and answer.citations


# --- pure functions ---------------------------------------------------------------------------


def test_the_kind_comes_from_the_sentence_that_asks():
    assert answer_kind("Vi skal bruge 2 mio. kr. på et tag. Hvor mange underhåndsbud må vi indhente?") == "count"
    assert answer_kind("Hvor lang tid har vi til at klage?") == "deadline"
    assert answer_kind("What's the minimum time limit for tenders?") == "deadline"
    assert answer_kind("For hvor mange år tilbage må vi bede om referencer?") == "deadline"
    assert answer_kind("Hvordan definerer anskaffelsesforskriften innovasjon?") == "definition"
    assert analyse("What is it, and which article of the directive allows it?").asks_reference
    # "og i Norge?" asks what the question before asked, about the country it names itself.
    follow = analyse("og i Norge?", earlier=["Hvor lang standstillperiode gælder i Danmark?"])
    assert follow.countries == {"NO"} and follow.kind == "deadline"


def test_answer_kinds_in_three_languages():
    assert answer_kind("Hvad er fristen for tilbud?") == "deadline"
    assert answer_kind("Hvor mange ansøgere skal vi udvælge?") == "count"
    assert answer_kind("Which EU thresholds apply?") == "amount"
    assert answer_kind("Hvor mange prosent kan prisen vektes?") == "share"
    assert answer_kind("Må vi tale med leverandører?") == "yesno"
    assert answer_kind("Hva er et innovasjonspartnerskap?") == "definition"
    assert answer_kind("How do we weigh life-cycle cost?") == "procedure"


def test_refers_back_only_when_the_question_cannot_stand_alone():
    assert refers_back("og i Norge?")
    assert refers_back("og hvor mange skal vi invitere?")
    assert refers_back("Hvor lang er fristen for det?")
    assert refers_back("What about Norway?")
    assert not refers_back("Hvad er en rammeaftale?")
    assert not refers_back("Hvornår kan vi bruge et innovationspartnerskab?")
    assert not refers_back("What is pre-commercial procurement?")


def test_follow_ups_that_refer_back_in_other_ways():
    assert refers_back("Og hvis vi accepterer, at tilbud afgives elektronisk?")
    assert refers_back("Gælder det også, når vi deler opgaven op i delkontrakter?")
    assert refers_back("Og hvad sker der, hvis leverandøren ikke får dem ud på markedet?")
    assert definite_reference("Hvor mange procent må ændringen højst udgøre?",
                              "Kan vi ændre en igangværende kontrakt uden nyt udbud?")
    assert not definite_reference("Hvad siger udbudsloven om opdeling i delkontrakter?",
                                  "Hvor mange partnere har LUP?")
    # A new topic asked briefly stays alone.
    assert not refers_back("Hvad er konkurrencepræget dialog?")


def test_short_norwegian_and_english_questions_are_told_apart_from_danish():
    for question in ("Hvem vant Eliteserien i fjor?", "Kan du gi meg mobilnummeret til innkjøpssjefen?",
                     "Hvor mange kommuner fikk overtredelsesgebyr fra KOFA?",
                     "Kan vi forhandle med leverandørene i en tilbudskonkurranse under EØS-terskelverdiene?",
                     "Hvor lang tid har vi på å gå til søksmål?"):
        assert detect_language(question) == "nb", question
    for question in ("For hvor mange år tilbage må vi bede om referencer?", "Hvad er en rammeaftale?",
                     "Hvilke koder til innovationsmarkeringen i eForms er ikke længere i brug?"):
        assert detect_language(question) == "da", question
    assert detect_language("Can you give me a good sourdough bread recipe?") == "en"


def test_hard_wrapped_paragraphs_stay_whole():
    md = "The procurement requires suppliers to offer\nsomething that is not available\ntoday.\n\n- an item\n  that wraps\n- two"
    assert unwrap_markdown(md) == ("The procurement requires suppliers to offer something that is not available "
                                   "today.\n\n- an item that wraps\n- two")
    pdf = "First paragraph runs over\ntwo lines here.\n\nSecond paragraph."
    assert [u.text(pdf) for u in segment_units(pdf)] == ["First paragraph runs over\ntwo lines here.",
                                                          "Second paragraph."]
    # One paragraph per line without blank lines (how many notes are written) stays as it is.
    notes = "Første afsnit slutter her.\nAndet afsnit står på sin egen linje."
    assert len(segment_units(unwrap_markdown(notes))) == 2


def test_periods_and_their_status():
    assert periods("i 2026-2027") == [(date(2026, 1, 1), date(2027, 12, 31))]
    text = "I perioden 1. januar 2024 til 31. december 2025 var den 221.000 euro."
    assert periods(text) == [(date(2024, 1, 1), date(2025, 12, 31))]
    assert period_status(text, "", TODAY) == "earlier"
    assert period_status("Fra 1. januar 2026 gælder 216.000 euro.", "", TODAY) == "current"
    assert period_status(text, "", TODAY, years=(2024,)) == "current"


def test_units_keep_lists_rows_and_provision_labels():
    text = "Kravene er:\n- ét\n- to\nEfterfølgende afsnit."
    units = segment_units(text)
    assert [u.kind for u in units] == ["list", "paragraph"]
    assert units[0].text(text) == "Kravene er:\n- ét\n- to"
    table = "Ordregiver | Tærskel\n---|---\nStat | 140.000 euro\nKommune | 216.000 euro"
    rows = segment_units(table)
    assert [u.text(table) for u in rows] == ["Ordregiver | Tærskel\nStat | 140.000 euro",
                                             "Ordregiver | Tærskel\nKommune | 216.000 euro"]
    law = "§ 57. En ordregiver skal fastsætte en passende frist. Stk. 2. Fristen er mindst 35 dage."
    parts = segment_units(law, "§ 57")
    assert [u.label for u in parts] == ["§ 57", "§ 57, stk. 2"]
    assert section_role(["Note", "Typiske faldgruber"]) == "pitfalls"
    assert section_role(["Note", "Kilder"]) == "sources"
    assert section_role(["Guide", "How to run a PCP"]) == "steps"


def test_hinge_terms_and_out_of_scope():
    assert "Aarhus Kommunes" in hinge_terms("Hvem vandt Aarhus Kommunes udbud?")
    # A division of a text is named by its number: "Part II" is the regulation's "del II".
    assert hinge_terms("Do we have to follow Part II of the regulation?") == ["II"]
    assert hinge_terms("Which codes does Annex XIV list?") == ["XIV"]
    assert hinge_terms("Hvad er en rammeaftale?") == []
    assert hinge_terms("Hvilke EU-rammebestemmelser gælder?") == []
    query = analyse("Hvad koster en licens hos Mercell?", today=TODAY)
    assert out_of_scope(query, ["Tærskelværdier for kommuner"]).reason == "named"
    future = analyse("Hvad er tærskelværdien i 2031?", today=TODAY)
    assert out_of_scope(future, ["Fra 2026-2027 er den 216.000 euro"]).reason == "year"
    assert out_of_scope(analyse("Hvad er tærskelværdien i 2026?", today=TODAY),
                        ["Fra 2026-2027 er den 216.000 euro"]).reason == ""


def test_an_english_name_of_a_danish_law_is_found_under_the_laws_own_name():
    """With a multilingual embedding the passages found for an English question about the
    Danish act are the act's own text, which never says "Public Procurement Act": the
    question must not be refused for naming something no source mentions."""
    glossary = default_glossary()
    law_text = ["udbudsloven_LBK-2025-116.txt\nUdbudsloven\n§ 57\n§ 57. En ordregiver skal fastsætte en frist"]
    asked = analyse("What is the minimum time limit under the Danish Public Procurement Act?", today=TODAY)
    assert out_of_scope(asked, law_text).reason == "named"  # without the glossary's names
    assert out_of_scope(asked, law_text, aliases=glossary.aliases).reason == ""
    # A one-word proper name has no other name: the glossary's "national tender portal"
    # does not stand in for Doffin.
    doffin = analyse("How do I reset the password for my personal Doffin user account?", today=TODAY)
    portal = ["guide.md\nGuide\nNotices\nPublish the notice on the national tender portal."]
    assert out_of_scope(doffin, portal, aliases=glossary.aliases).reason == "named"


def test_a_persons_contact_data_is_refused_in_its_definite_form_too():
    # Danish and Norwegian put the article on the noun: "mobilnummeret hennes" asks for a
    # person's number as much as "hennes mobilnummer" does, and no source holds it.
    owners = ["lup.md\nLUP\nEjere\nLUP ejes af KS, NHO, Innovasjon Norge og Forskningsrådet."]
    for question in ("Hvem er kontaktpersonen for LUP hos NHO, og hva er mobilnummeret hennes?",
                     "Hvad er telefonnummeret til hans kontor?"):
        assert out_of_scope(analyse(question, today=TODAY), owners).reason == "personal", question
    assert out_of_scope(analyse("Hvem ejer LUP?", today=TODAY), owners).reason == ""


# --- once through the real /chat API -----------------------------------------------------------


def test_chat_api_answers_a_deadline_question_with_the_highlighted_fact(tmp_path):
    app = RunningApp(tmp_path, files={"frister.md": NOTE})
    try:
        client = Client(app.url + "/", verbose=False)
        answer = client.predict(message="Hvad er fristen for tilbud ved offentligt udbud?", api_name="/chat")
        assert answer["status"] == "answered"
        assert "**Ved offentligt udbud er fristen for modtagelse af tilbud mindst 35 dage" in answer["answer"]
        refused = client.predict(message="Hvem vandt Aarhus Kommunes udbud om rengøring?", api_name="/chat")
        assert refused["abstained"] is True
    finally:
        app.stop()


def test_a_passage_about_another_subject_is_not_an_answer(assistant):
    # A building permit is planning law, not procurement: the passages share only "fristen" and
    # "ansøgninger" with the question, never what it is about. Not in the sources (the first
    # release's rule answered it with a procurement deadline under "covers only partly").
    answer = assistant.ask("Hvor lang er fristen for ansøgninger om byggetilladelse?")
    assert answer.abstained and "De nærmeste kilder er" in answer.answer
    # The thing bought does not change the procedure's deadline: still answered.
    answer = assistant.ask("Hvor lang er fristen ved offentligt udbud af vindmøller?")
    assert not answer.abstained and "35 dage" in quoted(answer)


def test_covers_only_partly_says_what_is_missing():
    from assistant.answer.assistant import format_composition
    from assistant.answer.compose import Composition, QuotedUnit

    unit = QuotedUnit(hit_index=0, text="Fristen er mindst 35 dage.", highlight=("Fristen er mindst 35 dage.",),
                      kind="paragraph", label="Offentligt udbud", role="body", period="none", language="da",
                      score=1.0)
    text, _ = format_composition(Composition(units=[unit], support="partial", missing=("vindmøller",)),
                                 [_FakeHit()], "da", "", True)
    assert "Kilderne dækker det kun delvist" in text and "De nævner ikke: vindmøller." in text


class _FakeHit:
    title, source, page, section, score, language, as_of, jurisdiction = (
        "Frister", "frister.md", 0, "Offentligt udbud", 1.0, "da", "", "DK")
    official_urls, sources, topics, text = "", (), (), "Fristen er mindst 35 dage."
    chunk = SimpleNamespace(source_kind="guidance", consolidation="", attribution="",  # a note, not a statute
                            notice=lambda language: "")


def test_a_statement_sets_the_procedure_for_a_short_deadline_question(assistant):
    # The first turn only describes the situation; the short question after it is about that
    # procedure's deadline, not the open procedure's.
    history = [{"role": "user", "content": "Vi gennemfører et begrænset udbud af et nyt journalsystem."},
               {"role": "assistant", "content": "Det kan jeg ikke finde i kilderne."}]
    answer = assistant.ask("Hvor lang er tilbudsfristen?", history)
    assert "I et begrænset udbud er fristen" in quoted(answer).splitlines()[0]
    assert answer.conversation["procedure"] == "restricted_procedure"


@pytest.mark.parametrize("question", [
    "Må vi kræve, at produkterne har et miljømærke som f.eks. Svanemærket?",
    "Kan vi kreve at varene har Svanemerket eller et annet miljømerke?",
    "May we require a label such as the Nordic Swan?",
])
def test_a_name_given_as_an_example_is_no_hinge(question):
    """The answer is the rule for the kind of thing ("et miljømærke"), so a source that never
    names the example must not make the assistant refuse ("Kilderne nævner ikke Svanemærket")."""
    assert hinge_terms(question) == []


def test_a_name_asked_about_itself_is_still_a_hinge():
    assert hinge_terms("Kan vi kræve Svanemærket?") == ["Svanemærket"]
    assert hinge_terms("Hvad siger DFØ om BT-776?") == ["DFØ", "BT-776"]


def test_the_danish_participle_vaeret_is_no_weather_but_the_norwegian_noun_is():
    """"burde have været udelukket" (da: should have been excluded) asks a rule; "været" (nb)
    is the weather, live data no source holds."""
    from assistant.retrieval.query import analyse

    assert not analyse("Kan vi komme ud af en kontrakt, hvis det viser sig, at firmaet burde have været "
                       "udelukket, da vi valgte det?").live
    assert analyse("Hvordan blir været i Oslo i morgen?").live
    assert analyse("Hvordan er vejret i Aarhus i dag?").live
