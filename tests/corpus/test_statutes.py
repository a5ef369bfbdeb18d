"""The statutes shipped in corpus/law: version metadata from their sidecar records, citations per
provision with the date of the text, the staleness notice on a Norwegian citation (in the
asker's language), and cross-references that resolve to their provision on the reading page."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from assistant.answer.assistant import Assistant
from assistant.corpus.refcheck import statute_files
from assistant.corpus.service import sync
from assistant.corpus.sync import discover
from assistant.ingest.chunking import Chunk
from assistant.ingest.loaders import LoadError, load_file, read_sidecar
from assistant.retrieval.search import Retriever
from assistant.store.chroma import Store
from assistant.web.source_page import render_page
from tests.conftest import ROOT, settings_for

LAW = ROOT / "corpus" / "law"
UDBUDSLOVEN = "udbudsloven_LBK-2025-116.txt"
LOA = "anskaffelsesloven_LOV-2016-06-17-73.txt"
FOA = "anskaffelsesforskriften_FOR-2016-08-12-974.html"


def copy_law(corpus: Path, *names: str) -> None:
    (corpus / "law").mkdir(parents=True, exist_ok=True)
    for name in names:
        for path in (LAW / name, LAW / f"{name}.meta.yaml"):
            shutil.copyfile(path, corpus / "law" / path.name)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """The real Danish act and Norwegian act with their sidecars, synced into a real store."""
    tmp = tmp_path_factory.mktemp("statutes")
    settings = settings_for(tmp)
    copy_law(settings.corpus_dir, UDBUDSLOVEN, LOA)
    store = Store(settings)
    report = sync(store, settings)
    assert not report.failed, [(r.source, r.reason) for r in report.failed]
    return settings, store, Retriever(store, settings)


def test_the_shipped_statutes_are_whole_and_unmodified_with_a_complete_sidecar():
    shared = ROOT.parent.parent / "shared" / "eval-corpus" / "docs"
    for name in (UDBUDSLOVEN, LOA, FOA):
        meta = read_sidecar(LAW / name)
        assert meta["kind"] == "law" and meta["jurisdiction"] in {"DK", "NO"} and meta["as_of"]
        assert meta["review_by"] > meta["as_of"] and meta["url"].startswith("https://")
        if meta["jurisdiction"] == "NO":
            assert meta["attribution"] == "Lovdata" and "NLOD 2.0" in meta["license"]
            assert set(meta["notice"]) == {"da", "nb", "en"}  # the amendments from 1 July 2026
            assert all("2026" in text and "lovdata.no" in text for text in meta["notice"].values())
        if (shared / name).is_file():
            assert (LAW / name).read_bytes() == (shared / name).read_bytes()
    # The Barcelona guide and the DFØ note stay test data only.
    shipped = {p.name for p in (ROOT / "corpus").rglob("*")}
    assert not any("barcelona" in n.lower() or "dfo_" in n.lower() for n in shipped)
    assert statute_files(ROOT / "corpus") == {"udbudsloven": LAW / UDBUDSLOVEN, "anskaffelsesloven": LAW / LOA,
                                              "anskaffelsesforskriften": LAW / FOA}


def test_a_statute_is_ingested_with_its_version_metadata(world):
    settings, store, _ = world
    records = store.documents()
    dk, no = records[f"law/{UDBUDSLOVEN}"], records[f"law/{LOA}"]
    assert (dk.title, dk.jurisdiction, dk.as_of, dk.review_by) == (
        "Bekendtgørelse af udbudsloven", "DK", "2025-02-03", "2027-02-01")
    assert (no.jurisdiction, no.as_of, no.language) == ("NO", "2025-07-01", "nb")
    chunks = [s.chunk for s in store.all_chunks() if s.chunk.source == f"law/{UDBUDSLOVEN}"]
    assert len({c.provision for c in chunks}) >= 200  # one passage (or more) per provision
    p94 = next(c for c in chunks if c.provision == "§ 94")
    assert (p94.source_kind, p94.consolidation, p94.as_of, p94.jurisdiction) == (
        "law", "LBK nr. 116 af 3. februar 2025", "2025-02-03", "DK")
    assert p94.official_urls == ("https://www.retsinformation.dk/eli/lta/2025/116",) and not p94.notices
    # Sidecars and the corpus's own SOURCES.md are never documents (a README.md in a sub-folder is).
    (settings.corpus_dir / "SOURCES.md").write_text("# Sources\n\nReuse terms.\n", encoding="utf-8")
    (settings.corpus_dir / "law" / "README.md").write_text("# Om lovene\n\nTekst.\n", encoding="utf-8")
    assert {s for _, s, _ in discover([settings.corpus_dir], settings.corpus_dir)} == {
        f"law/{UDBUDSLOVEN}", f"law/{LOA}", "law/README.md"}
    assert not discover([settings.corpus_dir / "SOURCES.md"], settings.corpus_dir)
    (settings.corpus_dir / "SOURCES.md").unlink()
    (settings.corpus_dir / "law" / "README.md").unlink()


def test_a_provision_question_is_answered_from_the_statute_cited_per_provision_with_its_date(world):
    settings, _, retriever = world
    answer = Assistant(retriever, settings).ask(
        "Hvornår må ordregiveren undersøge indholdet af et tilbud efter udbudsloven?")
    assert not answer.abstained, answer.answer
    cited = next(c for c in answer.citations if c.source == f"law/{UDBUDSLOVEN}")
    assert cited.section == "§ 94" and "tilbudsfristen er udløbet" in cited.quote
    assert (cited.kind, cited.as_of, cited.consolidation) == ("law", "2025-02-03", "LBK nr. 116 af 3. februar 2025")
    assert cited.notice == ""  # nothing known to have changed since the Danish text
    assert "*Bekendtgørelse af udbudsloven – § 94 (lovtekst pr. 2025-02-03)* [" in answer.answer
    from assistant.web.app import render_sources

    card = render_sources(answer, "da")
    assert "Lovtekst · LBK nr. 116 af 3. februar 2025 · teksten pr. 2025-02-03" in card


@pytest.mark.parametrize("question, language, words", [
    ("Hva er terskelverdien for når anskaffelsesloven gjelder?", "nb", "Sjekk teksten som gjelder i dag"),
    ("What is the threshold value for when the Norwegian anskaffelsesloven applies?", "en",
     "Check the text in force"),
    ("Hvad er tærskelværdien for, at den norske anskaffelseslov gælder?", "da", "Tjek den gældende tekst"),
])
def test_a_norwegian_citation_carries_the_staleness_notice_in_the_askers_language(world, question, language,
                                                                                words):
    settings, _, retriever = world
    answer = Assistant(retriever, settings).ask(question)
    assert answer.language == language
    cited = [c for c in answer.citations if c.source == f"law/{LOA}"]
    assert cited, (answer.answer, [c.source for c in answer.citations])
    for c in cited:
        assert words in c.notice and ("1. juli 2026" in c.notice or "1 July 2026" in c.notice)
        assert "https://lovdata.no/dokument/NL/lov/2016-06-17-73" in c.notice
        assert c.kind == "law" and c.as_of == "2025-07-01" and c.attribution == "Lovdata"
    assert answer.answer.count(cited[0].notice) == 1  # the offline answer says it too, once
    from assistant.web.app import render_sources

    card = render_sources(answer, "en" if language == "en" else "da")
    assert "class='notice'" in card and "lovdata.no/dokument/NL/lov/2016-06-17-73" in card


def test_chunk_metadata_round_trip_keeps_the_notices():
    doc = load_file(LAW / LOA, ROOT / "corpus")
    from assistant.ingest.chunking import chunk_document

    chunk = chunk_document(doc)[3]
    again = Chunk.from_metadata(chunk.text, chunk.metadata())
    assert again == chunk and again.notice("nb").startswith("Denne teksten er loven slik den lød 1. juli 2025")
    assert again.notice("fr") == again.notice("en")  # another language falls back on English


def test_a_broken_or_changed_sidecar(tmp_path):
    settings = settings_for(tmp_path)
    copy_law(settings.corpus_dir, LOA)
    meta = settings.corpus_dir / "law" / f"{LOA}.meta.yaml"
    store = Store(settings)
    assert sync(store, settings).count("added") == 1
    # A corrected date re-ingests the document (its hash covers the sidecar).
    meta.write_text(meta.read_text(encoding="utf-8").replace("review_by: 2027-01-15", "review_by: 2027-01-10"),
                    encoding="utf-8")
    assert sync(store, settings).count("updated") == 1
    assert store.documents()[f"law/{LOA}"].review_by == "2027-01-10"
    # A record without the date of the text refuses the document, with the reason.
    meta.write_text(re.sub(r"(?m)^as_of:.*\n", "", meta.read_text(encoding="utf-8")), encoding="utf-8")
    with pytest.raises(LoadError, match="as_of"):
        load_file(settings.corpus_dir / "law" / LOA)
    failed = sync(store, settings).failed
    assert [r.source for r in failed] == [f"law/{LOA}"] and "as_of" in failed[0].reason


STATUTES = {"udbudsloven": f"law/{UDBUDSLOVEN}", "anskaffelsesloven": f"law/{LOA}",
            "anskaffelsesforskriften": f"law/{FOA}"}


def _links(page: str) -> list[tuple[str, str]]:
    return re.findall(r"<a class='xref' href='([^']*)'>(.*?)</a>", page)


def test_a_cross_reference_resolves_to_its_provision_on_the_reading_page():
    doc = load_file(LAW / UDBUDSLOVEN, ROOT / "corpus")
    page = render_page(doc, raw_url="/files/x", section="§ 57", statutes=STATUTES)
    anchors = set(re.findall(r"id='(p-[^']+)'", page))
    links = _links(page)
    assert len(links) > 200
    # § 57 refers to "jf. § 93" (and others); every in-page link points at an existing provision
    # (§§ 197-198 are "Udelades": their text is not printed, so no anchor), and a provision's
    # own label is not a link.
    cited = page[page.index("id='p-57'"):page.index("id='p-58'")]
    assert "jf. <a class='xref' href='#p-93'>§ 93</a>" in cited and "id='p-93'" in page
    assert not [h for h, _ in links if h.startswith("#") and h[1:] not in anchors | {"p-197", "p-198"}]
    assert "<p>§ 57." in cited
    # The Norwegian act's reference to the regulation goes to the regulation's reading page.
    loa = render_page(load_file(LAW / LOA, ROOT / "corpus"), raw_url="/files/y", statutes=STATUTES)
    assert all(h.startswith(("#p-", "/read/law/anskaffelsesforskriften")) for h, _ in _links(loa))
    # ... where every provision (an HTML heading) has its anchor and the cited one is marked.
    foa = render_page(load_file(LAW / FOA, ROOT / "corpus"), raw_url="/files/z", section="§ 13-2",
                      statutes=STATUTES)
    assert "<h5 id='p-13-2'>§ 13-2." in foa and foa.index("id='cited'") < foa.index("id='p-13-2'")


def test_a_notes_citation_of_a_provision_links_to_the_statute(tmp_path):
    note = tmp_path / "note.md"
    note.write_text("---\ntitle: Forhandling\nlanguage: da\njurisdiction: DK\n---\n# Forhandling\n\n"
                    "Udbud med forhandling kræver en betingelse i udbudslovens § 61, jf. § 66, stk. 1. "
                    "I Norge gælder FOA § 13-2. Efter lov om offentlighed i forvaltningen § 40 gælder andet.\n\n"
                    "Se [udbudslovens § 39](https://www.retsinformation.dk/eli/lta/2025/116) og `§ 40`.\n",
                    encoding="utf-8")
    page = render_page(load_file(note, tmp_path), raw_url="/files/note.md", statutes=STATUTES)
    assert _links(page) == [
        (f"/read/law/{UDBUDSLOVEN}?section=%C2%A7+61&amp;lang=da#cited", "§ 61"),
        (f"/read/law/{UDBUDSLOVEN}?section=%C2%A7+66&amp;lang=da#cited", "§ 66"),
        (f"/read/law/{FOA}?section=%C2%A7+13-2&amp;lang=da#cited", "§ 13-2"),
    ]  # another act's § 40 is not udbudsloven's; an author's own link and code stay as written
    assert "<a href=\"https://www.retsinformation.dk/eli/lta/2025/116\">udbudslovens § 39</a>" in page
    # The reading page of the cited statute marks the provision the link names.
    target = render_page(load_file(LAW / UDBUDSLOVEN, ROOT / "corpus"), raw_url="/files/x", section="§ 66")
    assert "<div class='provision cited' id='p-66'>" in target
    # The statute's page says what it is and the date of its text; the Norwegian one its notice.
    assert "Lovtekst" in target and "Teksten pr.:</dt><dd>2025-02-03" in target
    loa = render_page(load_file(LAW / LOA, ROOT / "corpus"), raw_url="/files/y", lang="en")
    assert "<p class='notice' role='note'><strong>Note:</strong> This is the Norwegian act" in loa
