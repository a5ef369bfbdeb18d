"""The language-model path against a fake that misbehaves like real models and servers
(issue 27): every cited sentence is checked against its passage, every call is bounded by
wall clock and cancelled when abandoned, a cut stream is not an answer, and the buyer never
reads unchecked model text. Everything runs through the real `openai` client."""

from __future__ import annotations

import threading
import time

import pytest
from pydantic import SecretStr

from assistant.answer.assistant import Assistant
from assistant.answer.citations import check_claims, normalise_output
from assistant.corpus.service import sync
from assistant.retrieval.search import Retriever
from assistant.store.chroma import Store
from tests.conftest import MARKEDSDIALOG_NOTE, settings_for
from tests.fake_openai import INVENTED, FakeOpenAI, cite, sources_of

FRISTER = """---
title: Tilbudsfrister
language: da
jurisdiction: DK
---
# Tilbudsfrister

## Offentligt udbud
Ved et offentligt udbud er fristen for modtagelse af tilbud mindst 35 dage fra afsendelsen af udbudsbekendtgørelsen.
Fristen kan forkortes med 5 dage, når ordregiveren modtager tilbud elektronisk.

## Innovationspartnerskab
Ved et innovationspartnerskab skal ordregiveren udvælge mindst tre ansøgere, jf. udbudslovens § 75.
"""
LCC = """---
title: Life-cycle costing
language: en
jurisdiction: EU
---
# Life-cycle costing

## What life-cycle costing covers
Life-cycle costing adds acquisition, energy use, maintenance and end-of-life costs to the price.
"""
ASK = "Hvor lang er fristen for tilbud ved et offentligt udbud?"
KEY = "mindst 35 dage"
FAITHFUL = "Ved et offentligt udbud er fristen for tilbud mindst 35 dage [{n}]."


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    settings = settings_for(tmp_path_factory.mktemp("llm"))
    for name, text in {"frister.md": FRISTER, "markedsdialog.md": MARKEDSDIALOG_NOTE, "lcc.md": LCC}.items():
        (settings.corpus_dir / name).write_text(text, encoding="utf-8")
    store = Store(settings)
    assert not sync(store, settings).failed
    return settings, Retriever(store, settings)


def llm(settings, server: FakeOpenAI, **update):
    return settings.model_copy(update={
        "openai_api_key": SecretStr("sk-test"), "openai_base_url": server.url, "chat_model": "ok",
        "llm_timeout": 3.0, "llm_first_token_timeout": 2.0, "translate_query": False, **update})


def faithful(body) -> str:
    return FAITHFUL.format(n=cite(body, KEY))


# --- claims ------------------------------------------------------------------------------------


def test_invented_figures_cited_to_real_sources_never_reach_the_buyer(world):
    settings, retriever = world
    with FakeOpenAI() as server:
        server.mode = "invented"  # "the deadline is 99 days [1]", "DKK 7.5 m under § 999 [2]"
        answer = Assistant(retriever, llm(settings, server)).ask(ASK)
    assert answer.mode == "extractive" and answer.error == "unsupported"
    assert answer.answer.startswith("*Kilderne understøttede ikke sprogmodellens svar")
    assert "99 days" not in answer.answer and "§ 999" not in answer.answer and "7.5 m" not in answer.answer


def test_a_true_sentence_cited_to_the_wrong_source_is_not_shown_as_grounded(world):
    settings, retriever = world
    with FakeOpenAI() as server:
        server.reply = lambda body: FAITHFUL.format(n=next(n for n in (1, 2, 3) if n != cite(body, KEY)))
        answer = Assistant(retriever, llm(settings, server)).ask(ASK)
    assert answer.mode == "extractive" and answer.error == "unsupported"


def test_only_supported_sentences_stay_each_with_the_passage_sentence_that_supports_it(world):
    settings, retriever = world
    with FakeOpenAI() as server:
        server.reply = lambda body: (f"{faithful(body)} Fristen kan dog altid forlænges til 99 dage "
                                     f"[{cite(body, KEY)}].")
        answer = Assistant(retriever, llm(settings, server)).ask(ASK)
    assert answer.mode == "llm" and answer.status == "answered"
    assert "mindst 35 dage" in answer.answer and "99" not in answer.answer
    assert answer.answer.startswith("*Sætninger fra sprogmodellen, som kilderne ikke understøttede, er fjernet.*")
    (c,) = answer.citations
    assert c.source == "frister.md" and c.quote.startswith("Ved et offentligt udbud er fristen") and "35 dage" in c.quote


def test_faithful_answer_passes_whole(world):
    settings, retriever = world
    with FakeOpenAI() as server:
        server.reply = faithful
        answer = Assistant(retriever, llm(settings, server)).ask(ASK)
    assert answer.mode == "llm" and not answer.notice and answer.status == "answered"
    assert answer.answer == FAITHFUL.format(n=answer.citations[0].n)


def test_a_decline_phrase_inside_an_uncited_answer_does_not_let_it_through(world):
    settings, retriever = world
    with FakeOpenAI() as server:
        server.reply = ("This is not covered in detail, but you can always skip the tender when the "
                        "contract is urgent and the buyer has a preferred supplier.")
        answer = Assistant(retriever, llm(settings, server)).ask(ASK)
    assert answer.mode == "extractive" and answer.error == "no_citations" and "skip the tender" not in answer.answer


def test_a_whole_decline_over_answering_passages_shows_the_extracts_with_a_notice(world):
    """The model's "not covered" over passages that hold the fact must not hide the fact: the
    buyer gets the extracts (the second-worst failure is an answer that hides the fact)."""
    settings, retriever = world
    offline = Assistant(retriever, settings).ask(ASK)
    assert not offline.abstained
    with FakeOpenAI() as server:
        server.reply = "Kilderne dækker ikke dette spørgsmål."
        answer = Assistant(retriever, llm(settings, server)).ask(ASK)
    assert not answer.abstained and answer.mode == "extractive" and answer.error == "declined"
    assert answer.notice.startswith("Sprogmodellen fandt ikke svaret i kilderne")
    assert answer.answer.split("\n")[-1] == offline.answer.split("\n")[-1]  # the same extracts
    assert "Kilderne dækker ikke" not in answer.answer


def test_an_answer_in_another_language_falls_back(world):
    settings, retriever = world
    with FakeOpenAI() as server:
        server.mode = "other_language"
        answer = Assistant(retriever, llm(settings, server)).ask("Må ordregiveren holde markedsdialog før udbuddet?")
    assert answer.mode == "extractive" and answer.error == "wrong_language"
    assert answer.answer.startswith("*Sprogmodellen svarede på et andet sprog")


def test_uncited_and_wrongly_cited_modes_fall_back(world):
    settings, retriever = world
    for mode, error in (("no_citations", "no_citations"), ("wrong_source", "unsupported")):
        with FakeOpenAI() as server:
            server.mode = mode
            answer = Assistant(retriever, llm(settings, server)).ask(ASK)
        assert answer.mode == "extractive" and answer.error == error, mode


# --- bounds ------------------------------------------------------------------------------------


def test_keep_alive_pings_do_not_extend_the_first_token_deadline_and_the_call_is_cancelled(world):
    settings, retriever = world
    with FakeOpenAI() as server:
        server.reply, server.prompt_seconds, server.ping_every = faithful, 8.0, 1.0
        started = time.monotonic()
        answer = Assistant(retriever, llm(settings, server)).ask(ASK)
        elapsed = time.monotonic() - started
        deadline = time.monotonic() + 3
        while not server.disconnected and time.monotonic() < deadline:
            time.sleep(0.05)
        assert server.disconnected == 1  # the server saw the client go (it was not left running)
    assert answer.mode == "extractive" and "timed out: no first token in 2 s" in answer.answer
    assert elapsed < 4


def test_a_slow_writer_is_cut_at_the_total_deadline(world):
    settings, retriever = world
    with FakeOpenAI() as server:
        server.reply, server.token_delay = faithful, 0.4  # 13 words: ~5 s
        started = time.monotonic()
        answer = Assistant(retriever, llm(settings, server)).ask(ASK)
        elapsed = time.monotonic() - started
    assert answer.mode == "extractive" and "timed out after 3 s" in answer.answer and elapsed < 4.5


@pytest.mark.parametrize("finish, reason", [(None, "cut off"), ("length", "too long")])
def test_a_stream_without_a_stop_is_not_an_answer(world, finish, reason):
    settings, retriever = world
    with FakeOpenAI() as server:
        server.reply, server.finish = faithful, finish
        answer = Assistant(retriever, llm(settings, server)).ask(ASK)
    assert answer.mode == "extractive" and answer.error == reason


def test_a_single_slot_server_ending_a_stream_for_a_new_request_falls_back(world):
    settings, retriever = world
    answers = {}
    with FakeOpenAI() as server:
        server.reply, server.single_slot, server.token_delay = faithful, True, 0.15
        s = llm(settings, server, llm_timeout=10.0, llm_first_token_timeout=5.0)

        def ask(name):
            answers[name] = Assistant(retriever, s).ask(ASK)

        first = threading.Thread(target=ask, args=("first",))
        first.start()
        deadline = time.monotonic() + 5
        while len(server.answer_requests) < 1 and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(0.6)  # the first is writing
        ask("second")
        first.join(10)
        assert server.interrupted == 1
    assert answers["first"].mode == "extractive" and answers["first"].error == "cut off"
    assert answers["second"].mode == "llm"


def test_every_call_sends_max_tokens(world):
    settings, retriever = world
    with FakeOpenAI() as server:
        server.reply = faithful
        server.translation = '```json\n{"en": "How long is the tender deadline in an open procedure?"}\n```'
        s = llm(settings, server, translate_query=True, llm_max_tokens=321, translate_max_tokens=123)
        answer = Assistant(retriever, s).ask(ASK)
        (translation,) = server.translation_requests
        (request,) = server.answer_requests
    assert answer.mode == "llm" and answer.translations == {"en": "How long is the tender deadline in an open procedure?"}
    assert request["max_tokens"] == request["max_completion_tokens"] == 321
    assert translation["max_tokens"] == translation["max_completion_tokens"] == 123


def test_a_cut_translation_is_not_used(world):
    settings, retriever = world
    with FakeOpenAI() as server:
        server.reply, server.finish = faithful, "length"
        server.translation = '{"en": "How long is the'
        answer = Assistant(retriever, llm(settings, server, translate_query=True)).ask(ASK)
    assert answer.translations == {} and answer.mode == "extractive" and answer.error == "too long"


def test_a_reply_of_48000_spaces_is_answered_in_under_a_second(world):
    settings, retriever = world
    # Spaces not followed by a stop: each start in the run scanned to its end by `[ \t]+([.,;:])`.
    reply = "Ved et offentligt udbud er fristen for tilbud mindst 35 dage" + " " * 48_000 + "[1]."
    hits = retriever.search(ASK).hits[:5]
    started = time.monotonic()
    normalise_output(reply)
    check_claims(reply, hits, language="da")
    assert time.monotonic() - started < 1.0
    with FakeOpenAI() as server:
        server.reply = lambda body: reply.replace("[1]", f"[{cite(body, KEY)}]")
        answer = Assistant(retriever, llm(settings, server)).ask(ASK)
    assert answer.mode == "llm" and "mindst 35 dage" in answer.answer and "  " not in answer.answer
    # From the last token to the checked answer (retrieval and the model's own time aside).
    assert answer.timings["total_ms"] - answer.timings["llm_ms"] - answer.timings["retrieval_ms"] < 1000


# --- what the buyer sees -------------------------------------------------------------------------


def test_while_the_model_writes_the_buyer_sees_progress_then_the_checked_answer(world):
    settings, retriever = world
    with FakeOpenAI() as server:
        server.reply = lambda body: f"{faithful(body)} {INVENTED}"
        parts = list(Assistant(retriever, llm(settings, server)).stream(ASK))
    assert [p.progress for p in parts] == ["writing", "checking", ""]
    assert parts[0].answer == "*Sprogmodellen skriver et svar … derefter kontrolleres hver påstand mod kilderne.*"
    assert not any("99 days" in p.answer or "999" in p.answer for p in parts)
    assert parts[-1].mode == "llm" and "35 dage" in parts[-1].answer


def test_answer_eval_reports_claim_support_in_llm_mode(world):
    from assistant.evaluation.answers import AnswerCase, asker, evaluate_answers

    settings, retriever = world
    case = AnswerCase(id="a", turns=[ASK], answerable=True, facts=[["35 dage"]], must_not=[], lang="da",
                      kind="deadline")
    with FakeOpenAI() as server:
        server.reply = lambda body: f"{faithful(body)} Fristen er dog 99 dage [{cite(body, KEY)}]."
        report = evaluate_answers("llm", [case], asker(Assistant(retriever, llm(settings, server)), "units"))
    m = report.metrics["overall"]
    assert m["key_facts"] == 1.0 and m["cited"] == 2 and m["claim_support"] == 0.5
    assert m["unsupported_claims"] == 1 and m["shown_unsupported"] == 0


# --- statutes: the provision and the date of the text --------------------------------------------

STATUTE = """Bekendtgørelse af udbudsloven (LBK nr. 116 af 3. februar 2025)

§ 95. En rammeaftale skal indgås efter en af procedurerne i denne lov, jf. § 55. Stk. 2. En rammeaftale kan højst have en løbetid på 4 år. I ekstraordinære tilfælde kan en rammeaftale indgås for en længere periode. Stk. 3. Indgåelse af kontrakter på grundlag af en rammeaftale skal ske i rammeaftalens løbetid.
"""
STATUTE_SIDECAR = """title: "Bekendtgørelse af udbudsloven"
kind: law
act: udbudsloven
jurisdiction: "DK"
language: da
consolidation: "LBK nr. 116 af 3. februar 2025"
as_of: 2025-02-03
"""
ASK_STATUTE = "Hvor lang løbetid må en rammeaftale højst have?"


@pytest.fixture(scope="module")
def statute_world(tmp_path_factory):
    settings = settings_for(tmp_path_factory.mktemp("llm-law"))
    law = settings.corpus_dir / "law"
    law.mkdir(parents=True, exist_ok=True)
    (law / "udbudsloven_test.txt").write_text(STATUTE, encoding="utf-8")
    (law / "udbudsloven_test.txt.meta.yaml").write_text(STATUTE_SIDECAR, encoding="utf-8")
    (settings.corpus_dir / "frister.md").write_text(FRISTER, encoding="utf-8")
    store = Store(settings)
    assert not sync(store, settings).failed
    return settings, Retriever(store, settings)


def test_the_model_is_asked_to_name_the_provision_and_the_date_and_its_card_carries_them(statute_world):
    settings, retriever = statute_world

    def reply(body):
        n = cite(body, "løbetid på 4 år")
        return (f"En rammeaftale kan højst have en løbetid på 4 år, jf. udbudsloven § 95, stk. 2 "
                f"(LBK nr. 116 af 3. februar 2025, tekst pr. 2025-02-03) [{n}].")

    with FakeOpenAI() as server:
        server.reply = reply
        answer = Assistant(retriever, llm(settings, server)).ask(ASK_STATUTE)
        (request,) = server.answer_requests
    system, human = (m["content"] for m in request["messages"])
    # The rule: name the provision as the card gives it, and the date of the text.
    assert "cite_as" in system and "text_as_of" in system and '"udbudsloven § 94, stk. 2"' in system
    # The statute's card: how to cite it, which consolidated text, its date; each part labelled.
    card = next(line for line in human.splitlines() if line.startswith("<source") and 'kind="law"' in line)
    assert 'cite_as="udbudsloven § 95"' in card
    assert 'consolidation="LBK nr. 116 af 3. februar 2025"' in card and 'text_as_of="2025-02-03"' in card
    assert "[udbudsloven § 95, stk. 2] Stk. 2. En rammeaftale kan højst have en løbetid på 4 år." in human
    # A guidance note's card says what it is and nothing a statute's says.
    note = next(line for line in human.splitlines() if line.startswith("<source") and "Tilbudsfrister" in line)
    assert 'kind="guidance"' in note or "kind=" not in note
    assert "cite_as" not in note and "text_as_of" not in note
    # The provision and the date the model copied from the card are supported by that card.
    assert answer.mode == "llm" and answer.status == "answered" and not answer.notice
    assert "udbudsloven § 95, stk. 2" in answer.answer and "2025-02-03" in answer.answer
    (c,) = answer.citations
    assert c.kind == "law" and c.as_of == "2025-02-03" and "4 år" in c.quote


# --- the condense step reads the conversation state ------------------------------------------------

FORHANDLING = """---
title: Frister ved udbud med forhandling
language: da
jurisdiction: DK
---
# Frister ved udbud med forhandling

## Udbud med forhandling
Ved et udbud med forhandling er fristen for modtagelse af anmodninger om deltagelse mindst 30 dage.

## Offentligt udbud
Ved et offentligt udbud er fristen for modtagelse af tilbud mindst 35 dage.
"""
FORHANDLING_NO = """---
title: Frister ved konkurranse med forhandling
language: nb
jurisdiction: "NO"
---
# Frister ved konkurranse med forhandling

## Konkurranse med forhandling
Ved konkurranse med forhandling er fristen for å levere forespørsel om å delta minst 25 dager i Norge.
"""


@pytest.fixture(scope="module")
def state_world(tmp_path_factory):
    settings = settings_for(tmp_path_factory.mktemp("llm-state"))
    for name, text in {"forhandling.md": FORHANDLING, "forhandling-no.md": FORHANDLING_NO}.items():
        (settings.corpus_dir / name).write_text(text, encoding="utf-8")
    store = Store(settings)
    assert not sync(store, settings).failed
    return settings, Retriever(store, settings)


def human_of(body: dict) -> str:
    return body["messages"][-1]["content"]


def test_a_statement_sets_the_procedure_the_condense_step_is_given_and_keeps(state_world):
    settings, retriever = state_world
    history = [{"role": "user", "content": "Vi kører et udbud med forhandling."},
               {"role": "assistant", "content": "Det kan jeg ikke finde i kilderne."}]
    with FakeOpenAI() as server:
        server.condensed = "Hvad er fristen?"  # a small model that drops what the statement set
        server.mode = "faithful"
        answer = Assistant(retriever, llm(settings, server)).ask("Hvad er fristen?", history)
        (condense,) = server.condense_requests
        (request,) = server.answer_requests
    # The condense request holds the state the statement set.
    assert "In force:\n- procedure: udbud med forhandling" in human_of(condense)
    assert "never a country or procedure that is not in force" in condense["messages"][0]["content"]
    # The question searched with names the procedure in force, and so does the answer object.
    assert "udbud med forhandling" in answer.standalone_question
    assert answer.conversation["procedure"] == "competitive_procedure_with_negotiation"
    assert "Ved et udbud med forhandling er fristen" in sources_of(request)[1]
    assert answer.mode == "llm" and "mindst 30 dage" in answer.answer


def test_a_question_naming_another_country_overrides_the_one_the_conversation_set(state_world):
    settings, retriever = state_world
    history = [{"role": "user", "content": "Vi er en dansk kommune og kører et udbud med forhandling."},
               {"role": "assistant", "content": "Det kan jeg ikke finde i kilderne."}]
    with FakeOpenAI() as server:
        # The model follows the conversation instead of the question: Denmark again.
        server.condensed = "Hvad er fristen ved udbud med forhandling i Danmark?"
        server.mode = "faithful"
        answer = Assistant(retriever, llm(settings, server)).ask("Hvad er fristen i Norge?", history)
        (condense,) = server.condense_requests
        (request,) = server.answer_requests
    state = human_of(condense).split("In force:\n")[1].split("\n\n")[0]
    assert "- country: Norway (NO)" in state and "Denmark" not in state
    assert "- procedure: udbud med forhandling" in state  # what the question did not name stays
    # The rewrite naming Denmark is not used; the question searched with is Norway's.
    assert "Norge" in answer.standalone_question and "Danmark" not in answer.standalone_question
    assert answer.conversation["jurisdiction"] == ["NO"]
    assert "minst 25 dager" in sources_of(request)[1]
    assert all("Ved et udbud med forhandling" not in s for s in sources_of(request).values())


def test_a_condensed_question_keeping_the_state_is_used_as_written(state_world):
    settings, retriever = state_world
    history = [{"role": "user", "content": "Vi kører et udbud med forhandling."},
               {"role": "assistant", "content": "Det kan jeg ikke finde i kilderne."}]
    with FakeOpenAI() as server:
        server.condensed = "Hvad er fristen for anmodninger om deltagelse ved et udbud med forhandling?"
        server.mode = "faithful"
        answer = Assistant(retriever, llm(settings, server)).ask("Hvad er fristen?", history)
    assert answer.standalone_question == "Hvad er fristen for anmodninger om deltagelse ved et udbud med forhandling?"


def test_an_abandoned_condense_call_is_streamed_so_the_server_sees_the_client_go(state_world):
    settings, retriever = state_world
    history = [{"role": "user", "content": "Vi kører et udbud med forhandling."},
               {"role": "assistant", "content": "Det kan jeg ikke finde i kilderne."}]
    with FakeOpenAI() as server:
        server.prompt_seconds, server.ping_every = 1.5, 0.2  # every request: a slow prompt read
        server.mode = "faithful"
        s = llm(settings, server, condense_timeout=0.5, llm_first_token_timeout=3.0, llm_timeout=4.0)
        answer = Assistant(retriever, s).ask("Hvad er fristen?", history)
        deadline = time.monotonic() + 3
        while server.disconnected < 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        (condense,) = server.condense_requests
    assert condense["stream"] is True and server.disconnected == 1  # cut at 0.5 s, and the server knew
    assert "forhandling" in answer.standalone_question  # the offline rule's question instead
    assert answer.mode == "llm" and answer.status == "answered"
