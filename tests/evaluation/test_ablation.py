"""The ablation tool (`assistant eval --ablate-each`): every factor switched to neutral in turn,
each figure reported against the all-on run of the same process, held-out and blind counted
apart from dev, and the factors restored afterwards."""

from __future__ import annotations

from typer.testing import CliRunner

from assistant.answer.assistant import Answer
from assistant.evaluation.ablation import ALL_ON, ablate_each, judged_passed, rows
from assistant.evaluation.answers import AnswerCase
from assistant.evaluation.splits import split_of
from assistant.retrieval import factors


def _id(part: str, start: int) -> str:
    return next(f"c{n}" for n in range(start, 500) if split_of(f"c{n}") == part)


def _cases() -> list[AnswerCase]:
    def case(id: str, answerable: bool = True, split: str | None = None) -> AnswerCase:
        return AnswerCase(id=id, turns=["Hvad er fristen?" if answerable else "Hvad koster en bil?"],
                          answerable=answerable, facts=[["35 dage"]] if answerable else [], must_not=[],
                          lang="da", kind="direct" if answerable else "out_of_scope",
                          split=split or split_of(id))

    dev, held = _id("dev", 1), _id("held-out", 1)
    return [case(dev), case(held), case("b1", split="blind"), case("b2", answerable=False, split="blind")]


def _ask(question: str, history: list[dict]) -> Answer:
    """Answers with the figure only while `has_figure` is on; refuses the out-of-scope question
    only while `another_concept` is on (so each factor has one measurable effect)."""
    if "bil" in question:
        refused = factors.value("another_concept") != factors.FACTORS["another_concept"].neutral
        return Answer(question=question, answer="Ikke i kilderne." if refused else "En bil koster 35 dage.",
                      abstained=refused, mode="extractive", language="da")
    with_figure = factors.value("has_figure") != factors.FACTORS["has_figure"].neutral
    return Answer(question=question, answer="Fristen er 35 dage." if with_figure else "Fristen er kort.",
                  abstained=False, mode="extractive", language="da")


def test_each_factor_off_is_reported_against_all_on_per_part_and_restored():
    runs = ablate_each(_cases(), _ask, names=["has_figure", "earlier_period", "another_concept"],
                       groups=[("earlier_period", "heading_restates")])
    assert [r.label for r in runs] == [ALL_ON, "has_figure", "earlier_period", "another_concept", "earlier_period+heading_restates"]
    table = {row["factor"]: row for row in rows(runs)}
    on = table[ALL_ON]
    assert on["dev key_facts"] == 1.0 and on["held-out key_facts"] == 1.0 and on["blind abstain"] == 1.0
    assert judged_passed(runs[0]) == 3  # held-out 1 + blind 2: dev is not judged
    figure = table["has_figure"]  # lowers dev, held-out and blind key facts: it pays
    assert figure["dev key_facts"] == -1.0 and figure["held-out key_facts"] == -1.0
    assert figure["blind key_facts"] == -1.0 and figure["judged passed"] == -2 and figure["dev passed"] == -1
    refusing = table["another_concept"]  # only the blind out-of-scope case: abstain falls, key facts stay
    assert refusing["blind abstain"] == -1.0 and refusing["blind key_facts"] == 0.0 and refusing["judged passed"] == -1
    for idle in ("earlier_period", "earlier_period+heading_restates"):  # changes nothing: does not pay
        assert table[idle]["judged passed"] == 0 and table[idle]["held-out key_facts"] == 0.0
    assert factors.ablated() == frozenset()


def test_ablate_each_needs_an_answer_set_and_known_group_names(tmp_path):
    from assistant import cli

    gold = tmp_path / "gold.jsonl"
    gold.write_text('{"id": "q1", "question": "Må vi?", "answerable": true, "expect": []}', encoding="utf-8")
    alone = CliRunner().invoke(cli.app, ["eval", str(gold), "--ablate-each"])
    assert alone.exit_code == 2 and "--answers" in alone.output
    wrong = CliRunner().invoke(cli.app, ["eval", "--answers", str(gold), "--ablate-each", "--ablate-group",
                                         "rank_decay,no_such_factor"])
    assert wrong.exit_code == 2 and "no_such_factor" in wrong.output
