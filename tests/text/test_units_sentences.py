"""The one sentence splitter (`assistant.text.sentences`): quotes and bold never cut a
sentence at a legal abbreviation."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from assistant.text.sentences import ABBREVIATIONS, sentence_spans, split_sentences


@pytest.mark.parametrize("text, first", [
    ("Det fremgår af forarbeidene, jf. Prop. 51 L (2015–2016). Oppdragsgiver skal velge.",
     "Det fremgår af forarbeidene, jf. Prop. 51 L (2015–2016)."),
    ("Reglen står i § 24, stk. 2, om fristen. Ordregiveren skal dokumentere valget.",
     "Reglen står i § 24, stk. 2, om fristen."),
    ("Ordregiveren skal, jf. Udbudslovens § 61, angive fristen. Den kan ikke forkortes.",
     "Ordregiveren skal, jf. Udbudslovens § 61, angive fristen."),
    ("Der gælder bl.a. Krav om dokumentation i art. 32 Stk. Det er vigtigt at følge dem.",
     "Der gælder bl.a. Krav om dokumentation i art. 32 Stk. Det er vigtigt at følge dem."),
    ("Se pkt. 4 i vejledningen og bilag m.v. Herefter følger processen.",
     "Se pkt. 4 i vejledningen og bilag m.v. Herefter følger processen."),
])
def test_no_split_after_a_legal_abbreviation(text, first):
    assert split_sentences(text)[0] == first


def test_a_sentence_that_ends_normally_still_ends():
    assert split_sentences("Fristen er 35 dage. Den kan forkortes til 15 dage.") == [
        "Fristen er 35 dage.", "Den kan forkortes til 15 dage."]


def test_spans_point_at_the_text_without_surrounding_space():
    text = "  Første sætning er her.  Anden sætning, jf. Prop. 51 L, er her.  "
    assert [text[a:b] for a, b in sentence_spans(text)] == [
        "Første sætning er her.", "Anden sætning, jf. Prop. 51 L, er her."]


def test_every_abbreviation_has_a_reason():
    assert all(reason.strip() for reason in ABBREVIATIONS.values())


def test_no_other_module_splits_sentences_by_its_own_regex():
    """One owner: no module but text/sentences.py splits on sentence-ending punctuation."""
    root = Path(__file__).resolve().parents[2] / "assistant"
    pattern = re.compile(r"re\.(?:split|finditer|compile)\(r[\"']\[\.!\?\]|\(\?<=\[\.!\?|\(\?<=\[\.\?!")
    owners = [p.relative_to(root).as_posix() for p in root.rglob("*.py") if pattern.search(p.read_text())]
    assert owners == ["text/sentences.py"] or owners == []


def test_bold_keeps_a_list_items_bullet_and_never_stops_at_an_abbreviation():
    from assistant.answer.extractive import split_sentences as quotable
    from assistant.answer.render import _quote_line

    assert _quote_line("- det udfyldte ESPD-dokument,", ("- det udfyldte ESPD-dokument,",)) == (
        "> - **det udfyldte ESPD-dokument,**")
    line = "Det fremgår, jf. Prop. 51 L (2015–2016). Oppdragsgiver skal velge leverandør."
    first = quotable(line)[0]
    assert _quote_line(line, (first,)) == "> **Det fremgår, jf. Prop. 51 L (2015–2016).** Oppdragsgiver skal velge leverandør."


def test_an_amount_ends_the_situation_before_the_question():
    from assistant.retrieval.query import answer_kind, asking_clause

    question = "Vi skal have renoveret et skoletag for 2 mio. kr. Hvor mange underhåndsbud må vi indhente?"
    assert asking_clause(question) == "Hvor mange underhåndsbud må vi indhente?"
    assert answer_kind(question) == "count"
