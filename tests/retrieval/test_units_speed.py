"""The hot path's shortcuts give what the slow way gave (issue 23): passage tokens read back
from the BM25 matrix, the partial sort of a BM25 list, the table-of-contents test."""

from __future__ import annotations

from array import array

import bm25s
import numpy as np

from assistant.ingest.chunking import Chunk
from assistant.retrieval.search import top_positive
from assistant.store.bm25 import Bm25Index, _passage_tokens
from assistant.text.lexicon import LEADER, is_contents

TEXTS = [
    ("da", "Ordregiveren kan indgå et innovationspartnerskab med flere leverandører, jf. udbudslovens § 73."),
    ("nb", "Oppdragsgiver kan etablere et innovasjonspartnerskap med én eller flere leverandører."),
    ("en", "Pre-commercial procurement shares the risks and benefits of design, prototyping and testing."),
    ("da", "Markedsdialog før udbuddet må ikke give en leverandør en konkurrencefordel."),
]


def _index() -> Bm25Index:
    chunks = [Chunk(source=f"doc{i}.md", text=text, title="T", section="S", page=0, language=lang, position=0)
              for i, (lang, text) in enumerate(TEXTS)]
    vocab: dict[str, int] = {}
    ids = [array("i", [vocab.setdefault(t, len(vocab)) for t in _passage_tokens(c)]) for c in chunks]
    model = bm25s.BM25()
    model.index((ids, vocab), show_progress=False)
    return Bm25Index([f"c{i}" for i in range(len(chunks))], chunks, model)


def test_passage_tokens_from_the_matrix_are_the_passage_tokenised():
    index = _index()
    for i, chunk in enumerate(index.chunks):
        assert index.passage_tokens(i) == frozenset(_passage_tokens(chunk))
    assert index.passage_tokens(0) and index.passage_tokens(0) != index.passage_tokens(1)


def test_top_positive_is_a_stable_sort_of_the_positive_scores():
    rng = np.random.default_rng(3)
    for _ in range(300):
        scores = rng.integers(0, 6, size=int(rng.integers(1, 400))).astype(np.float32)
        expected = [int(i) for i in np.argsort(-scores, kind="stable")[:50] if scores[i] > 0]
        assert top_positive(scores, 50) == expected


def test_contents_test_matches_the_leader_regex():
    samples = ["1. Indledning ........ 3\n2. Regler ........ 5\n3. Eksempler ........ 9",
               "Kapitel 1 . . . . . 4\nKapitel 2 . . . . . 7\nKapitel 3 . . . . . 9",
               "Et afsnit... med tre prikker... og flere... men ingen indholdsfortegnelse.",
               "Intro ……… 1 Del ……… 2 Slut ……… 3", "Almindelig tekst uden prikker."]
    for text in samples:
        assert is_contents(text) == (len(LEADER.findall(text)) >= 3)
    assert is_contents(samples[0]) and not is_contents(samples[2])


def test_a_snapshot_read_back_from_disk_gives_the_same_chunks_without_holding_their_texts(tmp_path):
    """The saved snapshot keeps texts, units and each passage's terms in files read one record
    at a time (issue 23: memory at 100,000 chunks); what a search reads is unchanged."""
    built = _index()
    built.save(tmp_path / "snap")
    loaded = Bm25Index.load(tmp_path / "snap")
    assert loaded.ids == built.ids and len(loaded.chunks) == len(built.chunks)
    for i, chunk in enumerate(built.chunks):
        again = loaded.chunks[i]
        assert again == chunk and again.text == chunk.text and again.units_json == chunk.units_json
        assert again.units == chunk.units and again.units  # the quotable units survive the round trip
        assert loaded.passage_tokens(i) == built.passage_tokens(i) == frozenset(_passage_tokens(chunk))
        assert loaded.text(i) == chunk.text and loaded.meta(i).text == ""  # no text kept per chunk
        assert loaded.meta(i).language == chunk.language
    assert list(loaded.contents) == list(built.contents) == [is_contents(c.text) for c in built.chunks]
    assert loaded.languages == built.languages and loaded.by_provision == built.by_provision
    assert (loaded.scores(["innovationspartnerskab"]) == built.scores(["innovationspartnerskab"])).all()
    # Shared strings: the two Danish chunks hold one "da" object, not a copy each.
    assert loaded.meta(0).language == loaded.meta(3).language == "da"
    assert loaded.meta(0).language is loaded.meta(3).language
    assert loaded.chunks[-1] == built.chunks[-1] and loaded.chunks[-1].text == built.chunks[-1].text
    assert [c.text for c in loaded.chunks[1:3]] == [c.text for c in built.chunks[1:3]]


def test_neighbour_scores_from_the_sparse_product_equal_the_padded_gather():
    """Each passage gains a share of its document neighbours' scores: the sparse product gives
    the same numbers, to the bit and in the same precision, as the gather it replaced."""
    rng = np.random.default_rng(5)
    chunks = [Chunk(source=f"doc{int(rng.integers(0, 40))}.md", text="x", title="T", section="S", page=0,
                    language="da", position=int(rng.integers(0, 30))) for _ in range(500)]
    index = Bm25Index([f"c{i}" for i in range(len(chunks))], chunks, None)
    assert (index.prev >= 0).sum() > 300 and (index.prev < 0).any()  # middles and edges
    for _ in range(20):
        scores = (rng.random(len(chunks)) * (rng.random(len(chunks)) > 0.7)).astype(np.float32)
        padded = np.append(scores, 0.0)
        expected = scores + 0.3 * (padded[index.prev] + padded[index.next])
        got = index.with_neighbours(scores, 0.3)
        assert got.dtype == expected.dtype and np.array_equal(got, expected)


def test_top_positive_of_a_long_list_with_ties_is_the_stable_sort():
    """Past TOP_SAMPLE x n positive scores the cut starts from a sampled floor: the same
    passages in the same order, ties at the cut by position, as a full stable sort."""
    rng = np.random.default_rng(11)
    for size, share, levels in ((50_000, 0.9, 0), (50_000, 0.9, 40), (20_000, 0.05, 0), (3_000, 1.0, 3),
                                (801, 1.0, 2)):
        for _ in range(5):
            values = rng.random(size) if not levels else rng.integers(1, levels + 1, size=size).astype(float)
            scores = (values * (rng.random(size) < share)).astype(np.float64)
            expected = [int(i) for i in np.argsort(-scores, kind="stable")[:50] if scores[i] > 0]
            assert top_positive(scores, 50) == expected


def test_a_language_list_ranked_on_its_part_of_the_store_is_the_whole_store_list():
    """Each language's BM25 list is ranked on its passages and their neighbours alone
    (`LanguagePart`): the same scores to the bit, the same passages in the same order as
    masking the whole store, with documents that change language between passages and
    statutes ranked apart."""
    rng = np.random.default_rng(7)
    langs = ("da", "nb", "en")
    chunks = [Chunk(source=f"doc{int(rng.integers(0, 60))}.md", text="x", title="T", section="S", page=0,
                    language=langs[int(rng.integers(0, 3))], position=int(rng.integers(0, 40)),
                    source_kind="law" if rng.random() < 0.3 else "guidance") for _ in range(3000)]
    index = Bm25Index([f"c{i}" for i in range(len(chunks))], chunks, None)
    law = index.law_mask()
    assert law.any() and not law.all()
    for _ in range(10):
        base = (rng.random(len(chunks)) * (rng.random(len(chunks)) > 0.6)).astype(np.float32)
        extra = (rng.random(len(chunks)) * (rng.random(len(chunks)) > 0.8)).astype(np.float32)
        for lang in langs:
            whole = index.with_neighbours((base + 0.8 * extra) * index.language_mask(lang), 0.3)
            part = index.language_part(lang)
            own = part.with_neighbours((base[part.positions] + 0.8 * extra[part.positions]) * part.mask, 0.3)
            assert own.dtype == whole.dtype and np.array_equal(whole[part.positions], own)
            assert not (np.delete(whole, part.positions) > 0).any()  # nothing outside the part ranks
            for kind, kind_part in ((whole * law, own * part.law), (whole * (1.0 - law), own * (1.0 - part.law))):
                expected = top_positive(kind, 50)
                assert expected and part.positions[top_positive(kind_part, 50)].tolist() == expected


def test_the_figure_boost_read_to_the_depth_later_stages_read_orders_that_depth_as_boosting_all():
    """A figure question boosts only the passages that could reach the depth the rerank and the
    hits read (`_read_depth`; CANDIDATES when a provision is named): the first passages and
    their scores are those of boosting every fused passage."""
    from types import SimpleNamespace

    from assistant.retrieval.boosts import VALUE_BOOST
    from assistant.retrieval.search import CANDIDATES, _reachable, _read_depth

    rng = np.random.default_rng(13)
    for named in (False, True):
        question = SimpleNamespace(provisions=[("§ 7", "", "")] if named else [])
        depth = _read_depth(question, 5, 17)
        assert depth == (CANDIDATES if named else 17)
        for _ in range(200):
            n = int(rng.integers(5, 400))
            fused = {int(i): float(v) for i, v in zip(rng.permutation(n), rng.random(n).round(int(rng.integers(1, 4))))}
            figure = {i for i in fused if rng.random() < 0.3}
            order = sorted(fused, key=lambda i: -fused[i])
            every = {i: v * (VALUE_BOOST if i in figure else 1.0) for i, v in fused.items()}
            some = dict(fused)
            for i in _reachable(fused, order, depth, set()):
                some[i] *= VALUE_BOOST if i in figure else 1.0
            top_every = sorted(every, key=lambda i: -every[i])[:depth]
            top_some = sorted(some, key=lambda i: -some[i])[:depth]
            assert top_some == top_every and [some[i] for i in top_some] == [every[i] for i in top_every]
