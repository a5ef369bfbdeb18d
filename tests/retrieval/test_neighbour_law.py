"""The neighbour country's law ranks as another country's (`jurisdiction.NEIGHBOUR_COUNTRY`):
Danish and Norwegian share so many words that, ranked only a little back, the Norwegian
regulation filled an unscoped Danish question's top passages, and the answer had nothing of
Danish law left to quote (issue 22). The shipped statutes (corpus/law with their sidecars),
real Chroma, through the retriever and the answer object."""

from __future__ import annotations

import shutil
from datetime import date

import pytest

from assistant.answer.assistant import Assistant
from assistant.corpus.service import sync
from assistant.retrieval.search import Retriever
from assistant.store.chroma import Store
from tests.conftest import ROOT, settings_for

# Questions over the whole shipped corpus, end to end: `make test` runs them; `make test-fast` keeps
# to a minute with the defect-class and jurisdiction files (issue 21's budget).
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def laws(tmp_path_factory):
    settings = settings_for(tmp_path_factory.mktemp("laws"), today=date(2026, 12, 7))
    shutil.copytree(ROOT / "corpus" / "law", settings.corpus_dir / "law")
    store = Store(settings)
    assert not sync(store, settings, [settings.corpus_dir]).failed
    retriever = Retriever(store, settings)
    return retriever, Assistant(retriever, settings)


def _act(source: str) -> str:
    return source.rsplit("/", 1)[-1].split("_", 1)[0]


@pytest.mark.parametrize("question", [
    "Kan vi stoppe samarbejdet med nogle af partnerne undervejs i et innovationspartnerskab?",
    "Hvad skal udbudsmaterialet sige om rettighederne til det, der bliver udviklet i et innovationspartnerskab?",
])
def test_a_danish_questions_top_passages_are_danish_law(laws, question):
    retriever, _ = laws
    top = [_act(h.source) for h in retriever.search(question).hits[:3]]
    assert top == ["udbudsloven"] * 3, top


def test_a_danish_question_is_answered_from_the_act_not_refused_over_norwegian_passages(laws):
    _, assistant = laws
    answer = assistant.ask("Vi har ikke fået et eneste tilbud i vores offentlige udbud. "
                           "Må vi så forhandle direkte med en leverandør uden at annoncere igen?")
    assert not answer.abstained, answer.answer
    assert {_act(c.source) for c in answer.citations} == {"udbudsloven"}
