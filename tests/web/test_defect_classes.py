"""Issue 22's five defect classes once through `/chat` on the real running app (a subprocess,
gradio_client), over the shipped corpus: the notes and corpus/law's statutes with their
sidecar records. The same classes through the answer object: tests/answer/test_defect_classes.py."""

from __future__ import annotations

import shutil

import pytest
from gradio_client import Client

from tests.conftest import ROOT
from tests.web.test_app import RunningApp, ask

NORWEGIAN = ("anskaffelsesloven", "anskaffelsesforskriften")


@pytest.fixture(scope="module")
def shipped_app(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("defects")
    corpus = tmp / "corpus"
    shutil.copytree(ROOT / "corpus", corpus)
    running = RunningApp(tmp, corpus=corpus)
    yield running
    running.stop()


def _quoted(answer: dict) -> str:
    return "\n".join(line for line in answer["answer"].splitlines() if line.startswith(">"))


def _acts(answer: dict) -> set[str]:
    return {c["source"].rsplit("/", 1)[-1].split("_", 1)[0] for c in answer["citations"]
            if c["source"].startswith("law/")}


def test_the_five_defect_classes_through_chat(shipped_app):
    # The right provision among look-alikes: the open procedure's deadline (FOA § 20-2), not the
    # restricted one's (§ 20-3); a part named by its number ("del II") is answered.
    answer = ask(shipped_app, "Hvor lang er tilbudsfristen ved åpen anbudskonkurranse?")
    assert answer["citations"][0]["section"].startswith("§ 20-2")
    assert "I en åpen anbudskonkurranse skal fristen for mottak av tilbud være minst 30 dager" in _quoted(answer)
    # A jurisdiction never crossed: that Norwegian question quotes no Danish source ...
    assert "udbudsloven" not in _acts(answer) and not any(c["source"].startswith("da/") for c in answer["citations"])
    # ... and a Danish question none of the Norwegian texts.
    answer = ask(shipped_app, "Hvor lang er tilbudsfristen ved offentligt udbud?")
    assert not answer["abstained"] and "35 dage" in _quoted(answer)
    assert not _acts(answer) & set(NORWEGIAN) and not any(c["source"].startswith("nb/") for c in answer["citations"])

    # A passage about another subject (planning law) is refused, the nearest sources listed.
    answer = ask(shipped_app, "Hvor lang er fristen for at søge om byggetilladelse?")
    assert answer["abstained"] and not _quoted(answer) and "De nærmeste kilder er" in answer["answer"]

    # A statement sets the procedure for the short question after it.
    answer = Client(shipped_app.url + "/", verbose=False).predict(
        message="Hvor lang er tilbudsfristen?",
        history=[{"role": "user", "content": "Vi bruger udbud med forhandling til et nyt journalsystem."},
                 {"role": "assistant", "content": "Det kan jeg ikke finde i kilderne."}],
        api_name="/chat")
    assert answer["citations"][0]["section"].startswith("§ 65")  # udbudsloven § 65, not § 57's 35 days
    assert "30 dage" in _quoted(answer).split("\n")[0]

    # An out-of-scope question in ordinary words is refused.
    answer = ask(shipped_app, "Hvor lang tid skal en kylling steges i ovnen?")
    assert answer["abstained"] and not _quoted(answer)
