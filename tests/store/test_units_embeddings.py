"""The built-in embedding's query path (each word's n-grams hashed once and kept) gives the
vectors of the plain scikit-learn path to the bit: the store's nearest neighbours, and so
every ranking, stay what they were (issue 23)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from assistant.store.embeddings import LocalEmbedding

ROOT = Path(__file__).parents[2]


def test_query_vectors_from_cached_word_counts_equal_the_whole_text_transform():
    embedding = LocalEmbedding()
    texts = ["Må vi tale med leverandører inden udbuddet?\nmarkedsdialog\nforudgående markedsundersøgelse",
             "Hva er fristen for innovasjonspartnerskap?", "What is pre-commercial procurement? PCP",
             "", "   ", "a", "ÆØÅ  æøå\t§ 73, stk. 2\n\nİstanbul ΣΑΣ Σίσυφος", "udbudsloven § 39, stk. 2 udbudsloven"]
    texts += [p.read_text(encoding="utf-8")[:2000] for p in sorted((ROOT / "corpus").glob("*.md"))[:5]]
    for batch in [texts[:3], texts[3:6], texts[6:], texts, texts[:1]]:
        plain = embedding.embed(batch)
        for _ in range(2):  # words hashed afresh, then read from the cache
            cached = np.asarray(embedding.embed_query(batch))
            assert cached.dtype == plain.dtype and np.array_equal(cached, plain)
    assert len(embedding._word_counts) > 50


def test_the_word_cache_starts_afresh_when_full(monkeypatch):
    embedding = LocalEmbedding()
    monkeypatch.setattr(LocalEmbedding, "WORD_CACHE", 5)
    batch = ["one two three four", "five six seven eight nine"]
    assert np.array_equal(np.asarray(embedding.embed_query(batch)), embedding.embed(batch))
    assert len(embedding._word_counts) <= 9
