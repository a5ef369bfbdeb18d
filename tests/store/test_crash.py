"""Crash safety: SIGKILL an ingest at any moment; the next run leaves exactly one version
of every file and no orphan chunks."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from assistant.ingest.loaders import content_hash
from assistant.store.chroma import Store
from tests.conftest import ROOT, settings_env, settings_for

pytestmark = pytest.mark.slow


def write_corpus(folder: Path, files: int, version: int) -> None:
    for n in range(files):
        provisions = "\n\n".join(
            f"§ {p}. Version {version}: regel {p} i dokument {n} om innovative indkøb, "
            + "markedsdialog og funktionskrav. " * 12
            for p in range(1, 41)
        )
        (folder / f"lov{n:02d}.txt").write_text(f"Lov nummer {n}\n\n{provisions}\n", encoding="utf-8")


def start_ingest(settings) -> subprocess.Popen:
    env = {**os.environ, **settings_env(settings)}
    return subprocess.Popen([sys.executable, str(ROOT / "ingest.py")], env=env, cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def assert_consistent(settings, expect_files: bool) -> None:
    store = Store(settings)
    store.repair()
    records = store.documents()
    versions: dict[str, set[str]] = {}
    counts: dict[str, int] = {}
    for stored in store.all_chunks():
        source = stored.chunk.source
        versions.setdefault(source, set()).add(stored.version)
        counts[source] = counts.get(source, 0) + 1
    assert set(versions) <= set(records), "orphan chunks of a document with no record"
    for source, record in records.items():
        assert not record.pending
        assert versions.get(source) == {record.content_hash}, f"{source}: {versions.get(source)}"
        assert counts[source] == record.chunks
        if expect_files:
            assert record.content_hash == content_hash((settings.corpus_dir / source).read_bytes())


def test_sigkill_at_any_moment_leaves_one_version_of_every_file(tmp_path):
    settings = settings_for(tmp_path)
    write_corpus(settings.corpus_dir, files=12, version=0)
    started = time.monotonic()
    assert start_ingest(settings).wait(timeout=300) == 0
    full = time.monotonic() - started
    assert_consistent(settings, expect_files=True)

    for round_, fraction in enumerate((0.35, 0.55, 0.75, 0.9), start=1):
        write_corpus(settings.corpus_dir, files=12 + round_, version=round_)  # changes and additions
        proc = start_ingest(settings)
        time.sleep(full * fraction)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        assert_consistent(settings, expect_files=False)

    assert start_ingest(settings).wait(timeout=300) == 0
    assert_consistent(settings, expect_files=True)
    assert len(Store(settings).documents()) == 16
