"""LLM mode's translation step: one bounded model call renders the question in the corpus's
other languages before search; any failure leaves search to the glossary, never the buyer."""

from __future__ import annotations

import logging
import time

import pytest
from pydantic import SecretStr

from assistant.answer.assistant import Assistant, parse_translations
from assistant.corpus.service import sync
from assistant.retrieval.search import Retriever
from assistant.store.chroma import Store
from tests.conftest import settings_for
from tests.fake_openai import FakeOpenAI, cite

TOPICS = ["dokumentere valget af procedure", "offentliggøre en bekendtgørelse", "kontrollere udelukkelsesgrunde",
          "vurdere tilbuddenes pris og kvalitet", "give en begrundelse for tildelingen",
          "overholde standstill-perioden", "opbevare tilbuddene", "indhente serviceattester",
          "registrere kontraktens værdi", "sikre ligebehandling", "angive tildelingskriterierne",
          "besvare spørgsmål fra tilbudsgivere"]
WHEN = ["ved hvert prøveindkøb", "inden kontrakten indgås", "i hele udbudsforløbet"]
KEY_PASSAGE = ("En tidligere ansat hos ordregiveren har karantæne i seks måneder, før vedkommende må deltage "
               "i tilbudsgivningen for en leverandør.")
# 36 Danish provisions that share no word with the English question, then the one that
# answers it, in words the question does not use either ("karantæne", "tidligere ansat").
LAW = ("Lov om prøveindkøb\n\n"
       + "\n\n".join(f"§ {n}. Ordregiveren skal {topic} {when}."
                     for n, (when, topic) in enumerate(((w, t) for w in WHEN for t in TOPICS), start=1))
       + f"\n\n§ 37. {KEY_PASSAGE}\n")
NOTES = {
    "proevelov.txt": LAW,
    "lcc.md": """---
title: Life-cycle costing
language: en
---
# Life-cycle costing

## What life-cycle costing covers
Life-cycle costing adds acquisition, energy use, maintenance and end-of-life costs to the price. An employee may compare offers.
""",
    "dialog.md": """---
title: Market dialogue
language: en
---
# Market dialogue

## Talking to suppliers
A buyer may talk to suppliers before the tender as long as equal treatment is respected; a former adviser must wait for the tender.
""",
}
QUESTION = "How long is the quarantine for a former employee?"
DANISH = "Hvor lang er karantænen for en tidligere ansat?"


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    settings = settings_for(tmp_path_factory.mktemp("translate"))
    for name, text in NOTES.items():
        (settings.corpus_dir / name).write_text(text, encoding="utf-8")
    store = Store(settings)
    assert not sync(store, settings).failed
    return settings, Retriever(store, settings)


def llm(settings, server: FakeOpenAI, timeout: float = 3.0, **update):
    return settings.model_copy(update={
        "openai_api_key": SecretStr("sk-test"), "openai_base_url": server.url, "chat_model": "ok",
        "llm_timeout": timeout, **update})


def sent_sources(server: FakeOpenAI) -> str:
    return server.answer_requests[-1]["messages"][1]["content"]


def test_parse_translations_reads_json_and_lines_and_refuses_garbage():
    targets = ["da", "nb"]
    assert parse_translations('{"da": "Hvad er en frist?", "nb": "Hva er en frist?"}', targets) == {
        "da": "Hvad er en frist?", "nb": "Hva er en frist?"}
    # Fenced, with a sentence around it, an extra key, a non-text value, a line break.
    reply = 'Here you go:\n```json\n{"da": "Hvad siger\\nudbudsloven § 39?", "en": "x", "nb": 7}\n```'
    assert parse_translations(reply, targets) == {"da": "Hvad siger udbudsloven § 39?"}
    assert parse_translations("da: Hvad er en frist?\n- **Norwegian**: Hva er en frist?\nen: no", targets) == {
        "da": "Hvad er en frist?", "nb": "Hva er en frist?"}
    assert parse_translations('"no" = "Hva sier FOA § 8-3?"', targets) == {"nb": "Hva sier FOA § 8-3?"}
    for garbage in ("", "Sorry, I cannot help with that.", "{not json", '["da", "Hvad?"]', '{"da": ""}', None):
        assert parse_translations(garbage, targets) == {}
    assert len(parse_translations('{"da": "' + "ord " * 500 + '"}', targets)["da"]) <= 600


def test_translation_brings_the_danish_passage_to_an_english_question(world):
    settings, retriever = world
    with FakeOpenAI() as server:
        server.translation = f'{{"da": "{DANISH}"}}'
        server.reply = lambda body: f"Six months [{cite(body, KEY_PASSAGE)}]."
        answer = Assistant(retriever, llm(settings, server)).ask(QUESTION)
        sources = sent_sources(server)
        (call,) = server.translation_requests
    assert answer.mode == "llm" and answer.translations == {"da": DANISH}
    assert answer.timings["translate_ms"] > 0
    assert KEY_PASSAGE in sources  # among the passages the answer was written from
    # One call with the question as data and no sources; Danish is asked for. It streams, as
    # every call does, so a server sees a cancelled call's client go (answer/assistant.py `_call`).
    assert call.get("stream") is True and len(call["messages"]) == 2
    system, human = call["messages"][0]["content"], call["messages"][1]["content"]
    assert "Danish (da)" in system and '"da"' in system and "English" not in system
    assert human == f"<question>\n{QUESTION}\n</question>" and "<source" not in human

    # The same question with the step switched off: no translation call, and the glossary
    # alone does not find the passage.
    with FakeOpenAI() as server:
        server.reply = "The sources do not cover this."
        off = Assistant(retriever, llm(settings, server, translate_query=False)).ask(QUESTION)
        assert server.translation_requests == [] and len(server.answer_requests) == 1
        assert KEY_PASSAGE not in sent_sources(server)
    # The model declined; the extracts (without the Danish passage) are shown instead.
    assert (off.error == "declined" or off.status == "abstained") and "Six months" not in off.answer
    assert "translate_ms" not in off.timings and off.translations == {}


@pytest.mark.parametrize("fault, reply, why", [
    ("error-500", None, "server error"),
    ("stall", None, "timed out"),
    ("", "I'm sorry, I can only answer procurement questions.", "unparsable reply"),
])
def test_a_failed_translation_still_answers_with_sources(world, caplog, fault, reply, why):
    settings, retriever = world
    with FakeOpenAI() as server:
        server.translation_fault, server.translation = fault, reply
        server.reply = "Market dialogue is allowed before the tender [1]."
        started = time.monotonic()
        with caplog.at_level(logging.WARNING, logger="assistant.answer.assistant"):
            answer = Assistant(retriever, llm(settings, server, translate_timeout=1.0)).ask(
                "May a former adviser talk to suppliers before the tender?")
        elapsed = time.monotonic() - started
        assert len(server.translation_requests) == 1  # one try, no retry
    assert answer.mode == "llm" and not answer.abstained and answer.citations and not answer.error
    assert answer.translations == {} and answer.timings["translate_ms"] < 1500
    assert elapsed < 4  # the stalled call costs at most its 1 s bound
    assert f"query translation failed ({why}" in caplog.text and "glossary terms only" in caplog.text
    assert "Traceback" not in answer.answer and "sk-test" not in answer.answer


def test_no_translation_call_when_nothing_can_come_of_it(world):
    settings, retriever = world
    with FakeOpenAI() as server:
        server.translation = f'{{"da": "{DANISH}"}}'
        assistant = Assistant(retriever, llm(settings, server))
        # A name the corpus never mentions: refused whatever is found, so never sent.
        refused = assistant.ask("What does the Mercell guide say about quarantine for former employees?")
        # Live data: refused whatever is found.
        live = assistant.ask("What is the euro exchange rate today?")
        assert refused.abstained and live.abstained and server.requests == []
    # Offline mode (no model) is unchanged: no translation, no field.
    offline = Assistant(retriever, settings).ask(QUESTION)
    assert offline.mode == "extractive" and "translate_ms" not in offline.timings
