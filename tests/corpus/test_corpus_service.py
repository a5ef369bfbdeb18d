"""The corpus service owns every write: the failures the review reproduced against the
store (issue 12) stay impossible.

Each test drives the real store (embedded Chroma in a temp folder, or the Chroma server of
`make test-server`); the two-process tests start a Chroma server of their own.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from assistant.corpus.service import Corpus, CorpusBusy, StoreInUse
from assistant.corpus.sync import Progress
from assistant.services import Services
from assistant.store.chroma import Store
from assistant.store.embeddings import LocalEmbedding
from tests.chroma_server import ChromaServer
from tests.conftest import CHROMA_URL, MARKEDSDIALOG_NOTE, ROOT, settings_env, settings_for
from tests.store.test_crash import assert_consistent


def law(provisions: int, version: str = "") -> str:
    body = "\n\n".join(
        f"§ {p}. {version}Regel {p} om innovative indkøb, markedsdialog, funktionskrav og tildeling. " * 2
        for p in range(1, provisions + 1))
    return f"Stor lov {version}\n\n{body}\n"


def cli(settings, *args: str, ingest: bool = False, extra_env: dict | None = None) -> subprocess.CompletedProcess:
    command = [str(ROOT / "ingest.py")] if ingest else ["-m", "assistant.cli"]
    return subprocess.run([sys.executable, *command, *args], capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, **settings_env(settings), "COLUMNS": "200", **(extra_env or {})},
                          timeout=300)


def stored_sources(store: Store) -> dict[str, int]:
    counts: dict[str, int] = {}
    for stored in store.all_chunks():
        counts[stored.chunk.source] = counts.get(stored.chunk.source, 0) + 1
    return counts


class Gate:
    """Progress callbacks that hold the writer inside its write (lock held) until opened, so
    the other writers are certainly tried while it runs."""

    def __init__(self):
        self.writing = threading.Event()
        self.open = threading.Event()

    def progress(self) -> Progress:
        def on_chunks(source, done, total):
            self.writing.set()
            self.open.wait(60)

        return Progress(on_chunks=on_chunks)


def in_thread(fn, *args, **kwargs) -> tuple[threading.Thread, list]:
    out: list = []
    thread = threading.Thread(target=lambda: out.append(fn(*args, **kwargs)))
    thread.start()
    return thread, out


def test_staff_delete_and_cli_remove_during_an_ingest_wait_or_fail_and_the_store_stays_consistent(settings):
    corpus = settings.corpus_dir
    (corpus / "big.txt").write_text(law(600), encoding="utf-8")
    (corpus / "markedsdialog.md").write_text(MARKEDSDIALOG_NOTE, encoding="utf-8")
    services = Services.build(settings, feedback=False)
    refreshed = []
    services.corpus.on_change = lambda: refreshed.append(time.monotonic())
    gate = Gate()
    ingest, _ = in_thread(services.corpus.sync, None, gate.progress())
    assert gate.writing.wait(60), "the ingest never started writing chunks"

    # A second staff session deletes the document being written (the reproduced failure).
    with pytest.raises(CorpusBusy, match="another ingest is running"):
        services.corpus.delete("big.txt")  # no waiting: the lock message
    removed = cli(settings, "remove", "markedsdialog.md")  # the CLI, from another process
    assert removed.returncode == 3 and "another ingest is running" in removed.stderr
    delete, result = in_thread(services.corpus.delete, "big.txt", wait=120)  # waits for the ingest
    time.sleep(0.5)
    assert delete.is_alive() and (corpus / "big.txt").exists()
    gate.open.set()
    ingest.join(timeout=120)
    delete.join(timeout=120)

    assert result[0].status == "removed"
    assert not (corpus / "big.txt").exists()
    store = Store(settings)
    assert set(store.documents()) == {"markedsdialog.md"}
    assert set(stored_sources(store)) == {"markedsdialog.md"}  # no chunk of big.txt came back
    assert store.repair() == [] and store.audit().clean
    assert_consistent(settings, expect_files=True)
    assert len(refreshed) == 2  # the ingest and the delete each notified the retriever once
    assert services.corpus.sync().count("unchanged") == 1


def test_remove_deletes_file_and_chunks_like_the_staff_page_and_keep_file_only_the_chunks(settings, tmp_path):
    corpus = settings.corpus_dir
    (corpus / "markedsdialog.md").write_text(MARKEDSDIALOG_NOTE, encoding="utf-8")
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "ekstern.txt").write_text(law(3), encoding="utf-8")
    services = Services.build(settings, feedback=False)
    services.corpus.sync()
    services.corpus.sync([outside / "ekstern.txt"])

    refused = services.corpus.delete("ekstern.txt")  # only files in the corpus folder are deleted
    assert refused.status == "failed" and "--keep-file" in refused.reason
    assert (outside / "ekstern.txt").is_file() and "ekstern.txt" in Store(settings).documents()
    kept = cli(settings, "remove", "ekstern.txt", "--keep-file")
    assert kept.returncode == 0 and "chunks only" in kept.stdout
    assert (outside / "ekstern.txt").is_file()

    gone = cli(settings, "remove", "markedsdialog.md")
    assert gone.returncode == 0 and "file and chunks" in gone.stdout
    assert not (corpus / "markedsdialog.md").exists()
    store = Store(settings)
    assert store.documents() == {} and store.count() == 0
    assert services.corpus.sync().results == []  # nothing comes back on the next sync


def test_uploads_are_removed_by_a_resync_once_their_file_is_gone(settings, tmp_path):
    corpus = Corpus(store=Store(settings), settings=settings)
    upload = tmp_path / "droner.md"
    upload.write_text(MARKEDSDIALOG_NOTE.replace("Markedsdialog", "Droner"), encoding="utf-8")

    def save(folder: Path) -> list[Path]:
        target = folder / upload.name
        target.write_bytes(upload.read_bytes())
        return [target]

    assert corpus.upload(save).count("added") == 1
    record = corpus.store.document("droner.md")
    assert record.origin == str(settings.corpus_dir.resolve())  # uploads have an origin too

    (settings.corpus_dir / "droner.md").unlink()
    report = corpus.sync()
    assert [(r.source, r.status) for r in report.results] == [("droner.md", "removed")]
    assert corpus.store.documents() == {} and corpus.store.count() == 0


def test_a_record_written_without_an_origin_belongs_to_the_corpus_folder(settings):
    (settings.corpus_dir / "gammel.md").write_text(MARKEDSDIALOG_NOTE, encoding="utf-8")
    corpus = Corpus(store=Store(settings), settings=settings)
    corpus.sync()
    record = corpus.store.document("gammel.md")
    record.origin = ""  # as the first releases stored single files and uploads
    corpus.store._put_record(record)
    (settings.corpus_dir / "gammel.md").unlink()
    assert [r.status for r in corpus.sync().results] == ["removed"]


def test_a_rebuild_elsewhere_or_an_emptied_store_does_not_break_a_running_reader(settings):
    (settings.corpus_dir / "markedsdialog.md").write_text(MARKEDSDIALOG_NOTE, encoding="utf-8")
    app = Services.build(settings, feedback=False)
    app.corpus.sync()
    question = "Må ordregiveren holde markedsdialog med leverandører før udbuddet?"
    assert app.retriever.search(question).hits[0].source == "markedsdialog.md"

    other = Services.build(settings, role="cli", feedback=False)  # a second process's handles
    other.corpus.rebuild()
    app.retriever.refresh()
    assert app.retriever.search(question).hits[0].source == "markedsdialog.md"  # no "does not exist"

    other.store.drop_collections()  # a Chroma server that comes back empty
    app.retriever.refresh()
    empty = app.retriever.search(question)
    assert empty.hits == [] and empty.abstain
    assert app.store.documents() == {}
    other.corpus.sync()
    app.retriever.refresh()
    assert app.retriever.search(question).hits[0].source == "markedsdialog.md"


@pytest.mark.parametrize("dropped", ["chunks", "manifest"])
def test_a_kill_between_the_collection_drops_of_a_rebuild_is_repaired_by_the_next_sync(settings, sample_corpus,
                                                                                       dropped):
    corpus = Corpus(store=Store(settings), settings=settings)
    corpus.sync()
    expected = {source: r.chunks for source, r in corpus.store.documents().items()}
    # The state a kill leaves between the two drops: only one collection is gone.
    name = settings.collection if dropped == "chunks" else f"{settings.collection}__documents"
    corpus.store.client.delete_collection(name)

    report = Store(settings)
    report = Corpus(store=report, settings=settings).sync()
    statuses = {r.status for r in report.results}
    assert statuses == ({"updated"} if dropped == "chunks" else {"added"}), report.results
    if dropped == "chunks":
        assert all(r.reason.startswith("repaired: 0 of") for r in report.results)
    store = Store(settings)
    assert {s: r.chunks for s, r in store.documents().items()} == expected
    assert stored_sources(store) == expected and store.audit().clean
    assert_consistent(settings, expect_files=True)


def test_rebuild_replaces_every_vector_and_a_changed_embedding_works(settings, sample_corpus):
    Corpus(store=Store(settings), settings=settings).sync()
    with pytest.raises(Exception, match="--rebuild"):
        Store(settings, embedding=LocalEmbedding(dim=256)).count()

    store = Store(settings, embedding=LocalEmbedding(dim=256))
    report = Corpus(store=store, settings=settings).rebuild()
    assert report.count("added") == 5 and not report.failed
    vectors = store.chunks.get(include=["embeddings"])["embeddings"]
    assert len(vectors) == sum(r.chunks for r in store.documents().values())
    assert {len(v) for v in vectors} == {256}  # no vector of the old embedding is left
    hits = store.query(store.embed_query("markedsdialog før udbud"), 3)
    assert hits and hits[0][0].chunk.source == "markedsdialog.md"


def test_dry_run_writes_nothing(settings, sample_corpus):
    dry = cli(settings, "--dry-run", ingest=True)
    assert dry.returncode == 0 and "add" in dry.stdout
    store = Store(settings)
    assert store.documents() == {} and store.count() == 0

    corpus = Corpus(store=store, settings=settings)
    corpus.sync()
    before = {s: r.content_hash for s, r in store.documents().items()}
    (sample_corpus / "testlov.txt").write_text("Ny lov\n\n§ 1. Ny tekst.\n", encoding="utf-8")
    (sample_corpus / "guide.html").unlink()
    actions = {item.source: item.action for item in corpus.plan()}
    assert actions["testlov.txt"] == "update" and actions["guide.html"] == "remove"
    assert {s: r.content_hash for s, r in store.documents().items()} == before
    assert store.audit().clean


@pytest.mark.skipif(bool(CHROMA_URL), reason="the embedded store only: a Chroma server is shared by design")
def test_cli_write_while_the_app_serves_the_embedded_store_is_refused(settings, sample_corpus):
    app = Corpus(store=Store(settings), settings=settings, role="app")
    app.serve_store()  # what `assistant serve` (python app.py) does at start-up
    run = cli(settings, ingest=True)
    assert run.returncode == 3
    message = " ".join(run.stderr.split())
    assert "staff page" in message and "ASSISTANT_CHROMA_URL" in message
    with pytest.raises(StoreInUse):  # any other process's write, say a CLI remove
        Corpus(store=app.store, settings=settings).delete("markedsdialog.md")
    assert (sample_corpus / "markedsdialog.md").is_file() and app.store.count() == 0
    assert app.sync().count("added") == 5  # the app itself writes as before
    with pytest.raises(StoreInUse, match="another app already serves"):
        Corpus(store=app.store, settings=settings, role="app").serve_store()


@pytest.fixture(scope="module")
def chroma_url(tmp_path_factory):
    if CHROMA_URL:
        yield CHROMA_URL
        return
    with ChromaServer(tmp_path_factory.mktemp("chroma")) as server:
        yield server.url


def test_two_processes_on_one_chroma_server_writing_the_same_document_take_turns(tmp_path, chroma_url):
    # Two machines: each its own data folder (so no shared file lock) and its own corpus folder.
    a = settings_for(tmp_path / "a", chroma_url=chroma_url, collection="shared-doc")
    b = settings_for(tmp_path / "b", chroma_url=chroma_url, collection="shared-doc")
    (a.corpus_dir / "doc.txt").write_text(law(500, "A "), encoding="utf-8")
    (b.corpus_dir / "doc.txt").write_text(law(350, "B "), encoding="utf-8")
    machine_a = Corpus(store=Store(a), settings=a, role="app")
    gate = Gate()
    first, _ = in_thread(machine_a.sync, None, gate.progress())
    assert gate.writing.wait(60)
    busy = cli(b, ingest=True)
    assert busy.returncode == 3, busy.stdout + busy.stderr
    assert "writer lease held by" in " ".join(busy.stderr.split())
    second = subprocess.Popen([sys.executable, str(ROOT / "ingest.py"), "--wait", "120"], cwd=ROOT, text=True,
                              env={**os.environ, **settings_env(b)}, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE)
    time.sleep(3)  # B is waiting for the lease meanwhile
    gate.open.set()
    first.join(timeout=120)
    out, err = second.communicate(timeout=300)
    assert second.returncode == 0, err

    store = Store(a)
    record = store.document("doc.txt")
    assert record.chunks == 350 and not record.pending  # B's version, written after A's
    assert stored_sources(store) == {"doc.txt": 350}
    assert store.repair() == [] and store.audit().clean
    assert store.lease.get()["ids"] == []  # both released the lease


def test_sync_repairs_a_document_whose_stored_chunks_differ_from_its_record(settings):
    (settings.corpus_dir / "doc.txt").write_text(law(40), encoding="utf-8")
    corpus = Corpus(store=Store(settings), settings=settings)
    corpus.sync()
    store = corpus.store
    ids = store.chunks.get(include=[], limit=15)["ids"]
    store.chunks.delete(ids=ids)  # what two unlocked writers left behind: 25 of 40 stored
    report = corpus.sync()
    assert [(r.status, r.reason) for r in report.results] == [("updated", "repaired: 25 of 40 chunks were stored")]
    assert stored_sources(store) == {"doc.txt": 40} and store.audit().clean
    assert corpus.sync().count("unchanged") == 1
