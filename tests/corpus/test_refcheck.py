"""Tests for assistant.corpus.refcheck: unit tests on tiny notes and laws, plus the shipped corpus."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.corpus.refcheck import (
    Finding,
    Laws,
    Problem,
    check_corpus,
    check_note,
    check_statutes,
    find_references,
    load_laws,
    main,
)

ROOT = Path(__file__).resolve().parents[2]

FAKE_UDBUDSLOV = """Bekendtgørelse af udbudsloven (test)

§ 5 a. Aktindsigt.

§ 39. Markedsdialog. Stk. 2. Se også § 44.

§ 81. Frister. Stk. 2. Tekst.

§ 95. Tekst.

§ 100. Tekst.
"""
FAKE_LOA = "Lov om offentlige anskaffelser (test)\n\n§ 4. Grunnleggende prinsipper\nTekst, jf. § 9.\n\n§ 5. Miljø\nTekst.\n"
FAKE_FOA = """<html><body><h1>Forskrift om offentlige anskaffelser</h1>
<h3><span>§ 7-9. Klima og miljø</span></h3><p>Tekst, jf. § 1-9 i en annen forskrift.</p>
<h3>§ 14-1. Konkurransegrunnlag</h3><p>Tekst.</p>
<h3>§ 8-12a. Krav</h3></body></html>"""


@pytest.fixture
def laws(tmp_path: Path) -> Laws:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "udbudsloven_TEST.txt").write_text(FAKE_UDBUDSLOV, encoding="utf-8")
    (docs / "anskaffelsesloven_TEST.txt").write_text(FAKE_LOA, encoding="utf-8")
    (docs / "anskaffelsesforskriften_TEST.html").write_text(FAKE_FOA, encoding="utf-8")
    return load_laws(docs)


def write_note(tmp_path: Path, body: str, *, jurisdiction: str = "DK", language: str = "da",
               topics: str = "[markedsdialog]", name: str = "note.md") -> Path:
    path = tmp_path / name
    path.write_text(f'---\ntitle: "Test"\nlanguage: {language}\njurisdiction: "{jurisdiction}"\n'
                    f"topics: {topics}\nupdated: 2026-12-01\n---\n# Test\n\n{body}\n", encoding="utf-8")
    return path


def problems(findings: list[Finding]) -> list[tuple[str, str]]:
    return [(f.ref, str(f.problem)) for f in findings]


def test_load_laws_reads_provision_headings_only(laws: Laws, tmp_path: Path) -> None:
    assert laws.udbudsloven == {"5a", "39", "81", "95", "100"}
    assert laws.loa == {"4", "5"}
    assert laws.foa == {"7-9", "14-1", "8-12a"}  # the in-text "§ 1-9" reference is not a provision
    only_dk = tmp_path / "only_dk"
    only_dk.mkdir()
    (only_dk / "udbudslov.txt").write_text(FAKE_UDBUDSLOV, encoding="utf-8")
    partial = load_laws(only_dk)
    assert partial.udbudsloven is not None and partial.loa is None and partial.foa is None


def test_nonexistent_section_is_found_with_file_line(laws: Laws, tmp_path: Path) -> None:
    note = write_note(tmp_path, "Markedsdialog er lovlig (§ 39).\n\nEfter udbudslovens § 42 skal noget ske.")
    findings = check_note(note, laws)
    assert problems(findings) == [("udbudsloven § 42", "unknown_provision")]
    assert findings[0].line == 12  # 7 front-matter lines, title, blank, § 39 line, blank, § 42 line
    assert findings[0].problem is Problem.UNKNOWN_PROVISION
    # A bare § in a DK note means udbudsloven; "§ 5 a" is a provision of its own.
    assert problems(check_note(write_note(tmp_path, "Det følger af § 40 og § 5 a."), laws)) == [
        ("udbudsloven § 40", "unknown_provision")]


def test_section_of_another_act_is_not_checked(laws: Laws, tmp_path: Path) -> None:
    body = ("Efter tilbudslovens § 42 kan bygherren indhente tilbud.\n\n"
            "Klagefristen følger af lov om Klagenævnet for Udbud § 7, stk. 2.\n\n"
            "Aktindsigt gives efter offentlighedsloven, og § 42 gælder ikke.\n\n"
            "- Klagenævnslovens §§ 16-20 om uden virkning")
    assert check_note(write_note(tmp_path, body), laws) == []


def test_subsection_and_item_numbers_are_not_provisions(laws: Laws, tmp_path: Path) -> None:
    body = ("Fristen følger af § 81, stk. 2, nr. 3, og af § 39(2)-(3).\n\nSe også § 82, stk. 1, nr. 1.\n\n"
            "Se §§ 81, stk. 2, nr. 3, og 101 samt §§ 39(2) og 102.")
    assert problems(check_note(write_note(tmp_path, body), laws)) == [
        ("udbudsloven § 82", "unknown_provision"),
        ("udbudsloven § 101", "unknown_provision"), ("udbudsloven § 102", "unknown_provision")]


def test_ranges_check_both_ends(laws: Laws, tmp_path: Path) -> None:
    assert check_note(write_note(tmp_path, "Reglerne står i §§ 95-100 og §§ 39 og 81."), laws) == []
    body = "Reglerne står i §§ 95-101.\n\nOg i §§ 94–100.\n\nOg i §§ 39, 81 og 83."
    assert problems(check_note(write_note(tmp_path, body), laws)) == [
        ("udbudsloven § 101", "unknown_provision"),
        ("udbudsloven § 94", "unknown_provision"),
        ("udbudsloven § 83", "unknown_provision")]


def test_norwegian_provisions(laws: Laws, tmp_path: Path) -> None:
    body = ("Etter FOA § 7-9 og § 14-1 fjerde ledd og § 8-12a gjelder dette.\n\n"
            "Forskriften er gitt med hjemmel i LOA § 5, og § 7-9 utfyller plikten i lovens § 4.\n\n"
            "Etter FOA § 99-1 og anskaffelsesloven § 6 gjelder noe annet.\n\n"
            "Etter § 14-2 og § 4 gjelder reglene.")
    assert problems(check_note(write_note(tmp_path, body, jurisdiction="NO", language="nb"), laws)) == [
        ("anskaffelsesforskriften § 99-1", "unknown_provision"),
        ("anskaffelsesloven § 6", "unknown_provision"),
        ("anskaffelsesforskriften § 14-2", "unknown_provision")]


def test_wrong_jurisdiction(laws: Laws, tmp_path: Path) -> None:
    dk_bad = write_note(tmp_path, "Efter anskaffelsesforskriften § 7-9 skal klima vægtes.", name="dk_bad.md")
    assert problems(check_note(dk_bad, laws)) == [("anskaffelsesforskriften § 7-9", "wrong_jurisdiction")]
    dk_ok = write_note(tmp_path, "I Norge skal klima vægtes med 30 pct. Det følger af FOA § 7-9.", name="dk_ok.md")
    assert check_note(dk_ok, laws) == []
    no_bad = write_note(tmp_path, "Etter udbudsloven § 39 kan oppdragsgiveren ha dialog.",
                        jurisdiction="NO", language="nb", name="no_bad.md")
    assert problems(check_note(no_bad, laws)) == [("udbudsloven § 39", "wrong_jurisdiction")]
    no_ok = write_note(tmp_path, "I Danmark gjelder udbudsloven § 39.", jurisdiction="NO", language="nb",
                       name="no_ok.md")
    assert check_note(no_ok, laws) == []


def test_directive_article_out_of_range(laws: Laws, tmp_path: Path) -> None:
    body = ("Reglen svarer til direktiv 2014/24/EU art. 95.\n\n"
            "Se også direktivets art. 94 og art. 2, stk. 1, nr. 122.\n\n"
            "Forsyningsdirektivet 2014/25/EU artikel 100 er en anden sag.\n\n"
            "Statsstøtte er forbudt efter artikel 107 i traktaten.")
    assert problems(check_note(write_note(tmp_path, body), laws)) == [
        ("direktiv 2014/24/EU art. 95", "article_out_of_range")]
    en = "It is regulated in Article 31(2) and Articles 67 and 96 of Directive 2014/24/EU."
    assert problems(check_note(write_note(tmp_path, en, jurisdiction="EU", language="en"), laws)) == [
        ("direktiv 2014/24/EU art. 96", "article_out_of_range")]


def test_threshold_figure_needs_period(laws: Laws, tmp_path: Path) -> None:
    body = ("## Tærskelværdier i euro\n\n"
            "Tærsklen for varer er 140.000 euro i 2026-2027. Tærsklen for byggeri er 5.404.000 euro.\n\n"
            "- sociale tjenesteydelser: 750.000 euro\n"
            "- varer fra 1. januar 2026: DKK 1,064,177\n\n"
            "## Værdier for 2024-2025\n\n"
            "- varer: 143.000 euro")
    note = write_note(tmp_path, body, topics="[tærskelværdier]")
    assert problems(check_note(note, laws)) == [
        ("5.404.000 euro", "figure_without_period"), ("750.000 euro", "figure_without_period")]
    other = write_note(tmp_path, "Tærsklen for byggeri er 5.404.000 euro.", name="other.md")
    assert check_note(other, laws) == []  # not a note about thresholds
    by_name = write_note(tmp_path, "Tærsklen for byggeri er 5.404.000 euro.", name="eu-thresholds.md")
    assert problems(check_note(by_name, laws)) == [("5.404.000 euro", "figure_without_period")]


def test_check_corpus_and_main(laws: Laws, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    corpus = tmp_path / "corpus"
    (corpus / "da").mkdir(parents=True)
    write_note(corpus / "da", "Efter § 39 og § 42.", name="a.md")
    assert [(f.note, f.ref) for f in check_corpus(corpus, laws)] == [("da/a.md", "udbudsloven § 42")]
    docs = str(tmp_path / "docs")
    assert main([str(corpus), "--laws", docs]) == 1
    assert "udbudsloven § 42" in capsys.readouterr().out
    write_note(corpus / "da", "Efter § 39.", name="a.md")
    assert main([str(corpus), "--laws", docs]) == 0
    assert main([str(corpus), "--laws", str(tmp_path / "missing")]) == 2
    assert str(tmp_path / "missing") in capsys.readouterr().err


def test_shipped_corpus_references() -> None:
    """Every § a note cites exists in the shipped statute it names, and every cross-reference
    inside a shipped statute resolves (the statutes are found by their sidecar records)."""
    laws = load_laws(ROOT / "corpus")
    assert laws.udbudsloven and laws.loa and laws.foa, "a statute is missing from corpus/law"
    assert {"39", "94", "5a", "197", "198"} <= laws.udbudsloven and {"13-2", "5-3"} <= laws.foa
    findings = check_corpus(ROOT / "corpus", laws) + check_statutes(ROOT / "corpus", laws)
    report = "\n".join(f"{f.note}:{f.line}: {f.problem}: {f.ref}" for f in findings)
    assert not findings, f"{len(findings)} legal-reference findings in corpus/:\n{report}"


def test_statute_cross_references_are_found_and_an_unresolved_one_is_reported(tmp_path: Path) -> None:
    law = tmp_path / "law"
    law.mkdir()
    (law / "lov.txt").write_text(
        "Lov om prøveindkøb\n\n§ 1. Ordregiveren følger § 2, stk. 1, jf. § 9.\n\n"
        "§ 2. Kontrakten indgås efter lov om offentlighed i forvaltningen § 40.\n", encoding="utf-8")
    (law / "lov.txt.meta.yaml").write_text(
        'title: Lov om prøveindkøb\nkind: law\nact: udbudsloven\njurisdiction: "DK"\nlanguage: da\n'
        "as_of: 2025-02-03\n", encoding="utf-8")
    refs = find_references("Ordregiveren følger § 2, stk. 1, jf. § 9. Se også FOA § 13-2.\nb. noget",
                           jurisdiction="DK", language="da")
    assert [(r.act, r.number) for r in refs] == [("udbudsloven", "2"), ("udbudsloven", "9"),
                                                 ("anskaffelsesforskriften", "13-2")]
    laws = load_laws(tmp_path)
    assert laws.udbudsloven == {"1", "2"}
    findings = check_statutes(tmp_path, laws)
    # § 9 does not exist; the other act's § 40 is not udbudsloven's and is not checked.
    assert [(f.note, f.ref, f.problem) for f in findings] == [
        ("law/lov.txt (§ 1)", "udbudsloven § 9", "unresolved_cross_reference")]


def test_a_list_letter_on_the_next_line_is_not_part_of_the_provision_number() -> None:
    refs = find_references("a. kontraktsvilkår, jf. § 19-1\nc. hvorvidt", jurisdiction="NO", language="nb")
    assert [(r.act, r.number) for r in refs] == [("anskaffelsesforskriften", "19-1")]
