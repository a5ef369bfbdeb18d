"""Each state a killed write can leave behind, and what `Store.repair()` makes of it."""

from __future__ import annotations

from dataclasses import replace

import pytest

from assistant.ingest.chunking import chunk_document
from assistant.ingest.loaders import load_file
from assistant.store.chroma import DELETING, VERSION, DocumentRecord, Store, now_iso
from tests.conftest import LAW_TEXT


def written(settings, text: str = LAW_TEXT):
    path = settings.corpus_dir / "lov.txt"
    path.write_text(text, encoding="utf-8")
    doc = load_file(path, settings.corpus_dir)
    chunks = chunk_document(doc)
    record = DocumentRecord(source="lov.txt", title=doc.title, language=doc.language,
                            content_hash=doc.content_hash, chunks=len(chunks), ingested_at=now_iso(),
                            origin=str(settings.corpus_dir.resolve()))
    return record, chunks


def versions(store: Store) -> dict[str, int]:
    out: dict[str, int] = {}
    for stored in store.all_chunks():
        out[stored.version] = out.get(stored.version, 0) + 1
    return out


def assert_repaired_to(store: Store, version: str, chunks: int) -> None:
    """repair() names the document, and the store then serves exactly that version."""
    assert store.repair() == ["lov.txt"]
    record = store.document("lov.txt")
    assert record.content_hash == version and not record.pending
    assert versions(store) == {version: chunks}


@pytest.fixture
def store(settings):
    return Store(settings)


def test_a_new_document_killed_before_its_commit_is_rolled_back(settings, store):
    record, chunks = written(settings)
    pending = replace(record, content_hash="", pending=record.content_hash)
    store._put_record(pending)  # step 1 done, then chunks added, then killed before the commit
    store.chunks.upsert(ids=["x-1"], embeddings=[[0.1] * 512], documents=["half"],
                        metadatas=[{**chunks[0].metadata(), VERSION: record.content_hash}])
    assert store.repair() == ["lov.txt"]
    assert store.documents() == {} and store.count() == 0


def test_an_update_killed_after_its_commit_keeps_the_new_version_only(settings, store):
    old, old_chunks = written(settings)
    store.write_document(old, old_chunks)
    new, new_chunks = written(settings, LAW_TEXT.replace("prøveindkøb", "forsøgsindkøb"))
    # What write_document leaves when killed between the commit and the old chunks' deletion:
    store._put_record(replace(old, pending=new.content_hash))
    store.chunks.upsert(ids=[f"new-{c.position}" for c in new_chunks], embeddings=[[0.2] * 512] * len(new_chunks),
                        documents=[c.text for c in new_chunks],
                        metadatas=[{**c.metadata(), VERSION: new.content_hash} for c in new_chunks])
    store._put_record(replace(new, pending=new.content_hash))
    assert_repaired_to(store, new.content_hash, len(new_chunks))


def test_an_update_killed_before_its_commit_keeps_serving_the_old_version(settings, store):
    old, old_chunks = written(settings)
    store.write_document(old, old_chunks)
    new, new_chunks = written(settings, LAW_TEXT.replace("prøveindkøb", "forsøgsindkøb"))
    store._put_record(replace(old, pending=new.content_hash))
    store.chunks.upsert(ids=["new-0"], embeddings=[[0.2] * 512], documents=["half of the new version"],
                        metadatas=[{**new_chunks[0].metadata(), VERSION: new.content_hash}])
    assert_repaired_to(store, old.content_hash, len(old_chunks))


def test_a_delete_killed_halfway_finishes(settings, store):
    record, chunks = written(settings)
    store.write_document(record, chunks)
    store._put_record(replace(record, pending=DELETING))
    assert store.repair() == ["lov.txt"]
    assert store.documents() == {} and store.count() == 0


def test_nothing_pending_means_nothing_to_repair(settings, store):
    record, chunks = written(settings)
    store.write_document(record, chunks)
    assert store.repair() == [] and store.audit().clean
