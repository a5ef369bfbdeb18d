"""Defect classes found on eval/answers-law.jsonl's dev part (buyer questions written from the
statutes, issue 22), each fixed by a general mechanism and checked here on the shipped corpus
(corpus/law's three statutes and the guidance notes), real Chroma, through the answer object.
Same fixture and helpers as tests/answer/test_defect_classes.py."""

from __future__ import annotations

import pytest

from assistant.retrieval.conversation import follows_on, refers_back
from tests.answer import test_defect_classes as defects
from tests.answer.test_defect_classes import act, quoted  # noqa: F401  (act: used by later tests)

shipped = defects.shipped  # the same module-scoped fixture: the shipped corpus synced once here


def _after(statement: str) -> list[dict]:
    return [{"role": "user", "content": statement},
            {"role": "assistant", "content": "Det kan jeg ikke finde i kilderne."}]


# --- a statement sets the context of the question after it -------------------------------------


def test_a_statement_that_introduces_a_design_contest_scopes_the_next_question(shipped):
    # The statement asks nothing: the question after it ("who do we negotiate with?") is about
    # the design contest it describes: udbudsloven § 82 (all winners are invited), from the act
    # or a note quoting it, not § 66's negotiation of tenders.
    answer = shipped.ask("Hvem skal vi så forhandle med om den efterfølgende kontrakt?",
                         _after("Vi holder en projektkonkurrence om et nyt bibliotek, og der bliver to vindere."))
    assert not answer.abstained, answer.answer
    assert "§ 82" in answer.citations[0].section
    assert "skal alle vindere" in quoted(answer) or "skal alle vinderne" in quoted(answer)


def test_a_question_after_a_statement_follows_on_from_it():
    statement = "Vi holder en projektkonkurrence om et nyt bibliotek, og der bliver to vindere."
    assert follows_on("Hvem skal vi så forhandle med om den efterfølgende kontrakt?", statement)
    # The same words after a question stand alone; after the statement, a question that
    # introduces its own subject with an indefinite article does too.
    assert not follows_on("Hvem skal vi så forhandle med om den efterfølgende kontrakt?",
                          "Hvad er en projektkonkurrence?")
    assert not follows_on("Hvad er en rammeaftale?", statement)
    assert follows_on("Er det over EØS-terskelverdien?",
                      "Vi er en kommune og skal kjøpe IT-tjenester for rundt 3 millioner kroner.")


@pytest.mark.parametrize("question", ["When are such contracts covered by the procurement act?",
                                      "Gælder reglerne også for sådanne kontrakter om rådgivning?",
                                      "Hvilke frister gjelder for slike avtaler om drift?"])
def test_an_anaphoric_determiner_refers_back_whatever_else_the_question_names(question):
    assert refers_back(question)


# --- a passage about another subject is not "partly covered" -----------------------------------


def _unit(index: int, text: str, language: str):
    from assistant.answer.compose import QuotedUnit

    return QuotedUnit(hit_index=index, text=text, highlight=(text,), kind="paragraph", label="", role="body",
                      period="none", language=language, score=1.0)


def test_a_lead_in_the_questions_language_missing_its_hinge_is_about_another_subject():
    # A Danish question about tenancy law; the lead udbudsloven § 194, stk. 2 (corpus/law) shares
    # only ordinary words with it. An English unit after the lead used to excuse the whole quote
    # from the check ("cannot be judged by its words"), so it was shown as "covers it partly".
    from types import SimpleNamespace

    from assistant.answer.compose import _uncovered_hinges, terms_of
    from assistant.retrieval.query import analyse
    from tests.conftest import ROOT

    law = (ROOT / "corpus/law/udbudsloven_LBK-2025-116.txt").read_text(encoding="utf-8")
    lead = next(line for line in law.split("§ 194.", 1)[1].split("Stk. ") if line.startswith("2. ")).strip()
    note = (ROOT / "corpus/en/contract-modifications-and-exit.md").read_text(encoding="utf-8")
    english = next(p for p in note.split("\n\n") if p.startswith("Innovation contracts run"))
    hits = [SimpleNamespace(title="Bekendtgørelse af udbudsloven", section="§ 194, stk. 2"),
            SimpleNamespace(title="Contract modifications and exit clauses", section="")]
    query = analyse("Hvad gælder for opsigelse af en lejekontrakt på et erhvervslokale?")
    focus = terms_of(query.text, query.concepts if query.glossary is not None else None)
    assert _uncovered_hinges(query, [_unit(0, "Stk. " + lead, "da"), _unit(1, english, "en")], hits, focus) == [
        "erhvervslokale"]
    # A lead in another language than the question still cannot be judged by its words.
    assert _uncovered_hinges(query, [_unit(1, english, "en"), _unit(0, "Stk. " + lead, "da")], hits, focus) == []


# --- a statistic of the recent past is refused in ordinary words --------------------------------


@pytest.mark.parametrize("question", [
    "Hvor mange kommuner har indgået et innovationspartnerskab hidtil?",
    "Hvor stor en andel af indkøbene gik til små virksomheder sidste år?",
    "How many innovation partnerships have Danish municipalities started so far?",
])
def test_a_count_of_what_happened_recently_is_refused_as_an_outcome(shipped, question):
    answer = shipped.ask(question)
    assert answer.abstained and not quoted(answer), answer.answer


@pytest.mark.parametrize("question, fact", [
    ("Hvor mange ansøgere skal vi mindst opfordre til at afgive tilbud ved et begrænset udbud?", "fem"),
    ("Hvor mange dage var tilbudsfristen ved offentligt udbud sidste år?", "35 dage"),
])
def test_a_count_the_rules_state_is_still_answered(shipped, question, fact):
    answer = shipped.ask(question)
    assert not answer.abstained and fact in answer.answer, answer.answer


# --- the thing bought is the situation, not what the rule hinges on ----------------------------


def test_a_rule_asked_for_a_particular_thing_bought_is_answered_from_the_general_rule(shipped):
    # udbudsloven § 180 (10 % for supplies and services) never says "rengøringsydelser"; the
    # specific word named what the contract is for, and its absence refused the question.
    answer = shipped.ask("Hvor mange procent må vi udvide en kontrakt om rengøringsydelser med, "
                         "uden at det tæller som en væsentlig ændring?")
    assert not answer.abstained, answer.answer
    assert "10 pct" in answer.answer or "10 %" in answer.answer


def test_the_thing_bought_is_read_from_a_contract_nouns_complement():
    from assistant.retrieval.conversation import purchase_objects

    assert purchase_objects("Hvor mange procent må vi udvide en kontrakt om rengøringsydelser med?") == {
        "rengøringsydelser"}
    assert purchase_objects("What is the threshold for a contract for cleaning services?") == {"cleaning"}
    assert purchase_objects("Hvad er en rammeaftale?") == set()
