"""A question that names a country is answered from that country's law, not from a guide in the
question's language (`search.named_law_lists`): built-in embedding, real Chroma on a temp dir."""

from __future__ import annotations

import pytest

from assistant.retrieval.query import analyse
from assistant.retrieval.search import named_law_lists
from tests.conftest import retriever_over
from tests.retrieval.test_units_boosts import DK, GUIDE, NO, index_of

# The Danish rule holds none of the English question's words but "send"; the guide without a
# jurisdiction holds most of them and leaves the deadline to national law.
NOTES = {
    "da/bekendtgoerelse.md": (
        "---\ntitle: Bekendtgørelse om indgåede kontrakter\nlanguage: da\njurisdiction: DK\n---\n"
        "# Bekendtgørelse om indgåede kontrakter\n\n## Frist\nOrdregiveren skal senest 30 dage efter "
        "indgåelsen af kontrakten sende en bekendtgørelse om indgåede kontrakter til Den Europæiske "
        "Unions Tidende.\n"
    ),
    "en/guide.md": (
        "---\ntitle: Contract management guide\nlanguage: en\n---\n# Contract management guide\n\n"
        "## After signing the contract\nAfter signing a contract, the buyer should send a notice to the "
        "bidders who were not awarded the contract and keep the notice on file. How soon the notice must "
        "be sent has been left to each country's law.\n"
    ),
}
QUESTION = "In Denmark, how soon after signing a contract must we send the notice that the contract has been awarded?"


@pytest.fixture(scope="module")
def retriever(tmp_path_factory):
    return retriever_over(NOTES, tmp_path_factory.mktemp("named-law"))


def test_an_english_question_naming_denmark_gets_the_danish_rule_first(retriever):
    result = retriever.search(QUESTION)
    assert result.scope == ["DK"]
    assert result.hits[0].source == "da/bekendtgoerelse.md" and "30 dage" in result.hits[0].text


def test_without_a_country_named_the_guide_in_the_questions_language_still_leads(retriever):
    # The lift is the jurisdiction policy's, not a preference for law: unscoped, nothing changes.
    result = retriever.search(QUESTION.replace("In Denmark, h", "H"))
    assert result.hits[0].source == "en/guide.md"


def test_only_the_named_countrys_lists_are_lifted_to_the_guidances():
    index = index_of([DK, NO, GUIDE])
    rankings = [(0.1, [0]), (0.2, [1]), (0.6, [2])]
    scope = analyse("In Denmark, how long is the time limit for tenders?").scope
    assert named_law_lists(scope, index, rankings) == [(0.6, [0]), (0.2, [1]), (0.6, [2])]
    unscoped = analyse("How long is the time limit for tenders?").scope
    assert named_law_lists(unscoped, index, rankings) == rankings
