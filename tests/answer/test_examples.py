"""Every example question under the chat is answered well from the shipped corpus: asked in
process (offline mode, real Chroma in a temp folder), each answer is in the question's
language, cites the note that holds the fact first, states the key fact, and is neither a
refusal nor a "the sources only partly cover this" answer.

The key facts are written here beside each question, with the note that holds them. When an
example stops passing, change the example to one the corpus answers well (issue 25), never
the rules to fit it.
"""

from __future__ import annotations

import shutil

import pytest

from assistant.answer.assistant import Assistant
from assistant.corpus.service import sync
from assistant.i18n import EXAMPLES, MESSAGES
from assistant.retrieval.search import Retriever
from assistant.store.chroma import Store
from tests.conftest import ROOT, settings_for

# Syncing the whole shipped corpus takes 15-30 s on 2 cores: make test runs these, make
# test-fast (under a minute) leaves them out.
pytestmark = pytest.mark.slow

# question -> (the note that holds the fact, phrases of the fact the answer must state)
KEY_FACTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "Må vi tale med leverandører inden udbuddet?":
        ("da/markedsdialog.md", ("§ 39", "lov til at lave markedsundersøgelser")),
    "Hvornår kan vi bruge et innovationspartnerskab?":
        ("da/innovationspartnerskab.md", ("løsningen ikke kan købes på markedet", "§ 73")),
    "Hvilke omkostninger kan indgå i LCC?":
        ("da/totalomkostninger-lcc.md", ("§ 166", "omkostninger til vedligeholdelse", "bortskaffelse")),
    "Hvilke faser har et prækommercielt indkøb?":
        ("da/prekommercielle-indkoeb-og-fou-undtagelsen.md", ("Løsningsdesign", "Udvikling af prototyper")),
    "May we consult the market before the tender?":
        ("en/preliminary-market-consultation.md", ("Article 40", "consult the market before it starts a procedure")),
    "When can we use an innovation partnership?":
        ("en/innovation-partnership.md", ("cannot be met by solutions already available on the market",)),
    "Which costs can life-cycle costing include?":
        ("en/life-cycle-costing-and-award-criteria.md", ("acquisition", "maintenance", "end-of-life")),
    "Which phases does a pre-commercial procurement have?":
        ("en/pre-commercial-procurement.md", ("Solution design", "Prototype or development phase", "Test phase")),
}

CASES = [(lang, question) for lang, questions in EXAMPLES.items() for question in questions]


# Gradio's examples list shows a sample of up to 60 characters and cuts a longer one with
# "..." (its Example components, `t=60`): a buyer must read the whole question.
EXAMPLE_MAX_CHARS = 60


def test_every_example_has_its_key_fact_written_here_and_is_shown_whole():
    assert sorted(KEY_FACTS) == sorted(q for _, q in CASES)
    assert all(len(q) <= EXAMPLE_MAX_CHARS for _, q in CASES), [q for _, q in CASES if len(q) > EXAMPLE_MAX_CHARS]
    for note, _ in KEY_FACTS.values():
        assert (ROOT / "corpus" / note).is_file(), note


@pytest.fixture(scope="module")
def shipped(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("examples")
    settings = settings_for(tmp)
    shutil.rmtree(settings.corpus_dir)
    shutil.copytree(ROOT / "corpus", settings.corpus_dir)
    store = Store(settings)
    assert not sync(store, settings).failed
    return Assistant(Retriever(store, settings), settings.model_copy(update={"openai_api_key": None}))


@pytest.mark.parametrize("lang, question", CASES)
def test_each_example_question_is_answered_with_its_key_fact(shipped, lang, question):
    note, facts = KEY_FACTS[question]
    answer = shipped.ask(question)
    text = " ".join(answer.answer.split())
    assert not answer.abstained and answer.language == lang, text[:300]
    assert MESSAGES[lang]["partial"] not in text, f"a weak answer: {text[:300]}"
    assert answer.citations and answer.citations[0].source == note, [c.source for c in answer.citations]
    for fact in facts:
        assert fact in text, f"{fact!r} not in the answer: {text[:600]}"
