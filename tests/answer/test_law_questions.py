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
