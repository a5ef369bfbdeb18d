"""One chunk shape: a chunk keeps every field through Chroma and the BM25 snapshot, and a
note's front-matter sources and topics reach the staff inventory and the buyer's source card."""

from __future__ import annotations

import pytest

from assistant.ingest.chunking import Chunk
from assistant.retrieval.search import Retriever
from assistant.services import Services
from assistant.store.chroma import DocumentRecord, Store, now_iso
from assistant.web.app import inventory_rows, render_sources

NOTE = """---
title: "Klageadgang og standstill"
language: da
jurisdiction: DK
topics: [klagenaevnet-for-udbud, standstill]
sources:
  - "Udbudsloven §§ 171 og 173"
  - "https://www.retsinformation.dk/eli/lta/2025/116"
  - "Lov om Klagenævnet for Udbud § 3: den gældende bekendtgørelse"
as_of: 2026-12-01
---
# Klageadgang og standstill

## Standstill-perioden
Ordregiveren må ikke indgå kontrakten, før standstill-perioden på ti kalenderdage er udløbet,
når tildelingsbeslutningen er sendt elektronisk til tilbudsgiverne.
"""

PLAIN = """---
title: Uden kilder
language: da
---
# Uden kilder

## Afsnit
En note uden kilder og emner i sin front matter om rammeaftaler og deres løbetid.
"""


def test_a_chunk_survives_chroma_and_the_bm25_snapshot_with_every_field(settings):
    chunk = Chunk(source="klage.md", text="Standstill-perioden er ti dage:\n- ved elektronisk afsendelse\n- ellers 15 dage",
                  title="Klageadgang", section="Klageadgang > Standstill", page=3, language="da", position=0, provision="§ 4", subsections="2",
                  heading="Klageadgang > Standstill", role="steps", jurisdiction="DK", as_of="2026-12-01",
                  official_urls=("https://www.retsinformation.dk/eli/lta/2025/116", "https://kfst.dk/a"),
                  sources=("Udbudsloven §§ 171 og 173", "Direktiv 2014/24/EU: https://eur-lex.europa.eu/x"),
                  topics=("standstill", "klagenaevnet-for-udbud"))
    empty = Chunk(source="klage.md", text="Et afsnit uden lister.", title="Klageadgang", section="Klageadgang",
                  page=0, language="da", position=1)
    assert empty.sources == empty.topics == empty.official_urls == ()
    record = DocumentRecord(source="klage.md", title="Klageadgang", language="da", content_hash="ab" * 32, chunks=2,
                            ingested_at=now_iso(), sources=chunk.sources, topics=chunk.topics)
    store = Store(settings)
    store.write_document(record, [chunk, empty])  # Chroma refuses None and empty lists

    stored = sorted(store.all_chunks(), key=lambda s: s.chunk.position)
    assert [s.chunk for s in stored] == [chunk, empty]
    assert stored[0].chunk.units == chunk.units and [u.kind for u in chunk.units] == ["list"]
    assert stored[0].version == record.content_hash
    assert store.document("klage.md").sources == chunk.sources
    assert store.document("klage.md").topics == chunk.topics

    # The BM25 snapshot on disk keeps the chunks whole: a restarted process serves the same.
    first = Retriever(store, settings).search("standstill elektronisk afsendelse")
    again = Retriever(store, settings)
    assert any((settings.data_dir / "bm25").iterdir())
    second = again.search("standstill elektronisk afsendelse")
    assert [h.chunk for h in second.hits] == [h.chunk for h in first.hits]
    assert second.hits[0].chunk == chunk and second.hits[0].official_urls.split() == list(chunk.official_urls)


def test_a_where_clause_names_only_chunk_keys():
    assert Chunk.where(source="a.md") == {"source": "a.md"}
    assert Chunk.where(source="a.md", language="da") == {"$and": [{"source": "a.md"}, {"language": "da"}]}
    with pytest.raises(ValueError, match="sourse"):
        Chunk.where(sourse="a.md")


def test_front_matter_sources_and_topics_show_in_the_inventory_and_on_the_source_card(settings):
    (settings.corpus_dir / "klage.md").write_text(NOTE, encoding="utf-8")
    (settings.corpus_dir / "plain.md").write_text(PLAIN, encoding="utf-8")
    services = Services.build(settings, role="cli", feedback=False)
    assert not services.corpus.sync().failed

    rows = {row[1]: row for row in inventory_rows(services, "da")}
    assert rows["klage.md"][10] == "klagenaevnet for udbud, standstill"
    assert rows["klage.md"][11].startswith("Udbudsloven §§ 171 og 173; https://www.retsinformation.dk/")
    assert rows["plain.md"][10:] == ["", ""]

    answer = services.assistant.ask("Hvor lang er standstill-perioden?")
    assert answer.citations[0].source == "klage.md"
    card = render_sources(answer, "da").split("</article>")[0]
    assert "<strong>Bygger på:</strong> Udbudsloven §§ 171 og 173; Lov om Klagenævnet for Udbud § 3" in card
    assert "<strong>Emner:</strong> klagenaevnet for udbud, standstill" in card
    # The official link is a link on the card, not repeated as text in "Bygger på".
    assert card.count("retsinformation.dk/eli/lta/2025/116") == 1
    english = render_sources(answer, "en")
    assert "<strong>Based on:</strong>" in english and "<strong>Topics:</strong>" in english

    plain = services.assistant.ask("Hvad er løbetiden for rammeaftaler?")
    plain_card = next(c for c in render_sources(plain, "da").split("</article>") if "Uden kilder" in c)
    assert "Bygger på" not in plain_card and "Emner" not in plain_card

