"""`Store.repair()` after a write killed at each step of the write protocol.

tests/store/test_store_repair.py builds some killed states by hand. Here the real
`write_document` / `remove_document` run on a real embedded Chroma and the process "dies"
right after one step; a fresh `Store` (the next process) then repairs. After every repair
the store holds exactly one version of the file (or none) and no orphan chunks.
"""

from __future__ import annotations

import pytest

from assistant.store.chroma import DocumentRecord, Store
from tests.conftest import LAW_TEXT
from tests.store.test_store_repair import assert_repaired_to, written


class Killed(Exception):
    """The process died here."""


class DiesAfter(Store):
    """A real store whose process dies right after one step of the write protocol:
    "marked" (record pending, before any chunk), "chunks" (all new chunks added),
    "committed" (record names the new version, still pending), "deleted" (other versions'
    chunks deleted, pending not yet cleared)."""

    def __init__(self, settings, step: str):
        super().__init__(settings)
        self.step = step

    def _put_record(self, record: DocumentRecord) -> None:
        super()._put_record(record)
        if record.pending:
            phase = "committed" if record.pending == record.content_hash else "marked"
            if phase == self.step:
                raise Killed(phase)

    def _delete_chunks(self, source: str, keep_version: str | None) -> None:
        super()._delete_chunks(source, keep_version)
        if self.step == "deleted":
            raise Killed("deleted")

    def on_progress(self, done: int, total: int) -> None:
        if self.step == "chunks" and done == total:
            raise Killed("chunks")


NEW_TEXT = LAW_TEXT.replace("prøveindkøb", "forsøgsindkøb")


def assert_clean(store: Store) -> None:
    """No orphan chunks, no count off, and the next start has nothing left to repair."""
    assert store.audit().clean and store.repair() == []


@pytest.mark.parametrize("step, kept", [
    ("marked", None), ("chunks", None), ("committed", "new"), ("deleted", "new"),
])
def test_a_new_document_killed_at_each_step(settings, step, kept):
    record, chunks = written(settings)
    dying = DiesAfter(settings, step)
    with pytest.raises(Killed):
        dying.write_document(record, chunks, dying.on_progress)
    store = Store(settings)  # the next process
    if kept is None:
        assert store.repair() == ["lov.txt"]
        assert store.documents() == {} and store.count() == 0
    else:
        assert_repaired_to(store, record.content_hash, len(chunks))
    assert_clean(store)


@pytest.mark.parametrize("step, kept", [
    ("marked", "old"), ("chunks", "old"), ("committed", "new"), ("deleted", "new"),
])
def test_an_update_killed_at_each_step(settings, step, kept):
    old, old_chunks = written(settings)
    Store(settings).write_document(old, old_chunks)
    new, new_chunks = written(settings, NEW_TEXT)
    dying = DiesAfter(settings, step)
    with pytest.raises(Killed):
        dying.write_document(new, new_chunks, dying.on_progress)
    store = Store(settings)
    if kept == "old":
        assert_repaired_to(store, old.content_hash, len(old_chunks))
    else:
        assert_repaired_to(store, new.content_hash, len(new_chunks))
    assert_clean(store)


@pytest.mark.parametrize("step", ["marked", "deleted"])
def test_a_delete_killed_at_each_step_finishes(settings, step):
    record, chunks = written(settings)
    Store(settings).write_document(record, chunks)
    with pytest.raises(Killed):
        DiesAfter(settings, step).remove_document("lov.txt")
    store = Store(settings)
    assert store.repair() == ["lov.txt"]
    assert store.documents() == {} and store.count() == 0
    assert_clean(store)

