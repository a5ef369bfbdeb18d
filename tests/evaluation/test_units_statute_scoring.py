"""Unit tests for the retrieval scoring rule with statutes in the corpus: a shipped statute's
provision that the gold set's own passage names counts as a hit for that expectation (and only
where the jurisdiction policy lets that act answer the question)."""

from __future__ import annotations

from assistant.evaluation.retrieval import (
    GoldQuestion,
    Ranked,
    evaluate,
    first_match,
    matches,
    notes_only,
    provisions_named,
    statute_expectations,
    statute_key,
)
from assistant.ingest.chunking import Chunk


def note(source: str, text: str, *, jurisdiction: str = "DK", language: str = "da", heading: str = "") -> Chunk:
    return Chunk(source=source, text=text, title="", section=heading, heading=heading, page=0,
                 language=language, position=0, jurisdiction=jurisdiction, source_kind="guidance")


def statute(act: str, provision: str, text: str, *, jurisdiction: str, language: str) -> Chunk:
    return Chunk(source=f"law/{act}.txt", text=text, title=act, section=provision, page=0, language=language,
                 position=0, provision=provision, jurisdiction=jurisdiction, source_kind="law", act=act)


def law_hit(act: str, provision: str, text: str = "Stk. 1. ...") -> dict:
    return {"source": f"law/{act}.txt", "section": provision, "text": text, "score": 1.0,
            "act": act, "provision": provision}


def test_a_statute_passage_is_keyed_by_act_and_number_and_a_note_is_not():
    assert statute_key(law_hit("udbudsloven", "§ 57")) == ("udbudsloven", "57")
    assert statute_key(law_hit("udbudsloven", "§ 5 a")) == ("udbudsloven", "5a")
    assert statute_key(law_hit("anskaffelsesforskriften", "§ 13-2")) == ("anskaffelsesforskriften", "13-2")
    assert statute_key({"source": "da/note.md", "text": "§ 57", "act": "", "provision": ""}) is None
    assert statute_key({"source": "guide.pdf", "text": "x"}) is None  # the baseline's hits carry no act


def test_provisions_are_attributed_to_the_act_named_or_the_notes_jurisdiction():
    assert provisions_named("Efter udbudslovens § 57 skal ordregiveren ...", jurisdiction="DK") == {
        ("udbudsloven", "57")}
    # A bare § in a Danish note is udbudsloven, with its stk. read past.
    assert provisions_named("Fristen følger af § 94, stk. 2.", jurisdiction="DK") == {("udbudsloven", "94")}
    assert provisions_named("Se FOA § 13-2 om konkurranse med forhandling.", jurisdiction="NO",
                            language="nb") == {("anskaffelsesforskriften", "13-2")}
    # A Norwegian note's bare "§ 13-2" is the regulation, its bare "§ 5" the act.
    assert provisions_named("Etter § 13-2 og § 5 kan ...", jurisdiction="NO", language="nb") == {
        ("anskaffelsesforskriften", "13-2"), ("anskaffelsesloven", "5")}
    assert provisions_named("Ingen paragraf her.", jurisdiction="DK") == frozenset()


EXPECT = {"source": "tilbudsfrister.md", "text": "mindst 35 dage"}
NOTE = note("da/tilbudsfrister.md", "Efter udbudslovens § 57 er fristen i et offentligt udbud mindst 35 dage.")
# The shipped statute: its chunks carry the act and its jurisdiction (a provision of an act not
# shipped never counts).
UDBUDSLOVEN = [statute("udbudsloven", f"§ {n}", f"§ {n}. ...", jurisdiction="DK", language="da")
               for n in (57, 58, 61, 62)]


def test_the_provision_the_expected_passage_names_is_a_hit_and_its_neighbours_are_not():
    [q] = statute_expectations([GoldQuestion(id="x", question="Hvad er fristen i et offentligt udbud?",
                                             answerable=True, kind="direct", expect=[EXPECT])], [NOTE, *UDBUDSLOVEN])
    [e] = q.expect
    assert e["provisions"] == [("udbudsloven", "57")]
    assert matches(law_hit("udbudsloven", "§ 57"), e)
    assert not matches(law_hit("udbudsloven", "§ 58"), e)  # a look-alike in number is no hit
    assert not matches(law_hit("anskaffelsesloven", "§ 57"), e)  # the same number in another act
    # The rule before: only the gold set's own passage.
    assert not matches(law_hit("udbudsloven", "§ 57"), notes_only([e])[0])
    assert matches({"source": "da/tilbudsfrister.md", "text": NOTE.text}, notes_only([e])[0])


def test_only_the_unit_holding_the_expected_text_names_provisions():
    chunk = note("da/tilbudsfrister.md", "Efter § 57 er fristen i et offentligt udbud mindst 35 dage.\n\n"
                                         "Ved begrænset udbud gælder § 61 og § 62.")
    [q] = statute_expectations([GoldQuestion(id="x", question="Hvad er fristen i et offentligt udbud?",
                                             answerable=True, kind="direct", expect=[EXPECT])], [chunk, *UDBUDSLOVEN])
    assert q.expect[0]["provisions"] == [("udbudsloven", "57")]


def test_a_provision_of_an_act_not_in_the_corpus_never_counts():
    [q] = statute_expectations([GoldQuestion(id="x", question="Hvad er fristen i et offentligt udbud?",
                                             answerable=True, kind="direct", expect=[EXPECT])], [NOTE])
    assert "provisions" not in q.expect[0]


def test_another_countrys_provision_never_counts_for_a_danish_question():
    # An English note compares the two countries in one paragraph.
    english = note("en/market-dialogue.md", "In Denmark the rule is in § 39(1) of udbudsloven. A Danish buyer "
                   "may carry out market surveys. In Norway the matching rule is FOA § 8-1.",
                   jurisdiction="", language="en")
    laws = [statute("udbudsloven", "§ 39", "§ 39. ...", jurisdiction="DK", language="da"),
            statute("anskaffelsesforskriften", "§ 8-1", "§ 8-1. ...", jurisdiction="NO", language="nb")]
    expect = [{"source": "market-dialogue.md", "text": "A Danish buyer may carry out market surveys"}]
    danish, unscoped = statute_expectations(
        [GoldQuestion(id="da", question="Må vi tale med leverandører inden udbuddet?", answerable=True,
                      kind="direct", expect=expect),
         GoldQuestion(id="en", question="May a buyer talk to suppliers before the tender?", answerable=True,
                      kind="direct", expect=expect)], [english, *laws])
    assert danish.expect[0]["provisions"] == [("udbudsloven", "39")]
    # English naming no country: both countries may answer (each labelled), so both count.
    assert unscoped.expect[0]["provisions"] == [("anskaffelsesforskriften", "8-1"), ("udbudsloven", "39")]


def test_evaluate_scores_both_rules_in_the_same_run():
    [q] = statute_expectations([GoldQuestion(id="x", question="Hvad er fristen i et offentligt udbud?",
                                             answerable=True, kind="direct", expect=[EXPECT])], [NOTE, *UDBUDSLOVEN])
    hits = [law_hit("udbudsloven", "§ 58"), law_hit("udbudsloven", "§ 57"),
            {"source": "da/tilbudsfrister.md", "section": "", "text": NOTE.text, "score": 0.5}]
    report = evaluate("t", [q], lambda _: Ranked(hits=hits, abstained=False), k=5)
    assert report.results[0].rank == 2
    assert report.results[0].rank_notes_only == 3
    assert first_match(hits, q.expect) == 2
