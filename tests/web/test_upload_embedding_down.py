"""A staff upload while the embedding server is down: each file gets a clear reason in both
staff languages, and the store is left exactly as it was."""

from __future__ import annotations

import shutil
import socket
from pathlib import Path

import pytest

from assistant.corpus.service import Corpus
from assistant.store.chroma import Store
from assistant.store.embeddings import EmbeddingUnavailable
from tests.conftest import MARKEDSDIALOG_NOTE, settings_for
from tests.fake_openai import FakeOpenAI

NEW_LAW = "Lov om prøveindkøb\n\n§ 1. Ordregiveren skal dokumentere valget af procedure.\n"


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def snapshot(store: Store) -> tuple[dict, list[str]]:
    records = {source: r.metadata() for source, r in store.documents().items()}
    return records, sorted((s.id, s.chunk.text) for s in store.all_chunks())


def test_upload_while_the_embedding_server_is_down_fails_per_file_and_changes_nothing(tmp_path):
    with FakeOpenAI() as server:
        settings = settings_for(tmp_path, embeddings="openai", embedding_base_url=server.url,
                                embedding_model="fake")
        (settings.corpus_dir / "markedsdialog.md").write_text(MARKEDSDIALOG_NOTE, encoding="utf-8")
        assert Corpus(store=Store(settings), settings=settings).sync().count("added") == 1
    url = f"http://127.0.0.1:{closed_port()}/v1"
    down = settings.model_copy(update={"embedding_base_url": url, "embedding_retries": 1})
    store = Store(down)
    corpus = Corpus(store=store, settings=down)
    before = snapshot(store)

    uploads = tmp_path / "uploads"
    uploads.mkdir()
    (uploads / "proevelov.txt").write_text(NEW_LAW, encoding="utf-8")
    (uploads / "markedsdialog.md").write_text(MARKEDSDIALOG_NOTE + "\nEn ny sætning.\n", encoding="utf-8")

    def save(folder: Path) -> list[Path]:
        return [Path(shutil.copy(uploads / name, folder / name)) for name in ("proevelov.txt", "markedsdialog.md")]

    report = corpus.upload(save)  # no exception: the staff page shows the rows
    rows = {r.source: r for r in report.results}
    assert set(rows) == {"proevelov.txt", "markedsdialog.md"} and all(r.status == "failed" for r in rows.values())
    # The service says what happened (a closed set); the staff page words it in its language.
    from assistant.web.staff import reason_text

    new, replaced = (reason_text(rows[name], "en") for name in ("proevelov.txt", "markedsdialog.md"))
    assert f"The embedding server at {url} is not answering: the file was not added, and the store is unchanged" in new
    danish = reason_text(rows["proevelov.txt"], "da")
    assert f"Embedding-serveren på {url} svarer ikke: filen blev ikke tilføjet, og kildebiblioteket er uændret" in danish
    assert "the file was not updated, and the store still has the previous version" in replaced
    assert "ASSISTANT_EMBEDDINGS=local" in new and "Traceback" not in new
    assert snapshot(store) == before  # no pending record, no chunk, the old version intact

    # The command line's sync still stops with the one clear error, and changes nothing either.
    with pytest.raises(EmbeddingUnavailable, match="cannot be reached"):
        corpus.sync()
    assert snapshot(store) == before

    # The files stayed in the corpus folder: once the server answers, a sync stores them.
    with FakeOpenAI() as server:
        up = down.model_copy(update={"embedding_base_url": server.url})
        report = Corpus(store=Store(up), settings=up).sync()
    assert report.count("added") == 1 and report.count("updated") == 1
