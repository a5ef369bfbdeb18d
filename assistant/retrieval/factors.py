"""The composer's tuning constants, named, each with its reason, and an ablation switch.

`value(name)` is what the composer multiplies (or adds) with; `ablate(names)` sets the named
factors to their neutral value (1 for a multiplier, 0 for an added weight), so an evaluation
can report what each contributes (`assistant eval --ablate NAME`; `--ablate-each` switches every
factor off in turn, evaluation/ablation.py). A factor that does not pay on held-out data is
removed, not kept at a value that happens to fit.

The rule (issue 22, item 6): tune on dev, judge on held-out and blind. A factor whose removal
does not lower the held-out and blind cases that pass, summed over both corpora (key facts and
abstention), does not pay there and is removed; one that pays only on dev is fitting and is
removed too; factors that may only work together are switched off as a group and judged on the
group's figure. A factor a defect-class test needs (tests/answer/test_defect_classes.py, a rule
with a general reason) stays unless held-out says otherwise.

Judged 7 Dec 2026 (`assistant eval --ablate-each`, built-in embedding, offline answers, one
process per corpus, each factor alone set to neutral against the all-on run of the same process).
Real documents: answers-evalcorpus + blind-answers-evalcorpus + blind-out-of-scope (dev 14,
held-out 10, blind 31); all on, key facts dev / held-out / blind 0.900 / 1.000 / 0.591, abstain
1.000 / 1.000 / 0.889. Notes: answers-corpus + out-of-scope-calibration + blind-out-of-scope (dev
95, held-out 76, blind 9); all on 0.914 / 0.854 / –, abstain 0.946 / 0.964 / 0.778. 106 of the
126 held-out and blind cases pass with all on, 101 of the 109 dev cases. No factor moved
abstention (the gate decides it, not the composer): every change is key facts. Change in cases
passed, both corpora summed, held-out + blind / dev: round 1 with all 23 factors; round 2
after round 1's seven were removed; final, after round 2's three too (the factors interact:
density and checklist_elsewhere paid only beside the word factors):

| factor                   | round 1 | round 2 | final  | decision |
|--------------------------|---------|---------|--------|----------|
| rank_decay               | -4 / -4 | -2 / -4 | -2 / -7 | kept |
| heading_restates         | -1 / 0  | -1 / 0  | -1 / -1 | kept |
| definition_heading       | -1 / 0  | -1 / +1 | -1 / +1 | kept |
| rule_with_provision      | -1 / -1 | -1 / -1 | -1 / -2 | kept |
| asked_earlier_current    | -1 / 0  | -1 / 0  | -1 / 0  | kept |
| asked_earlier_earlier    | -1 / 0  | -1 / 0  | -1 / 0  | kept |
| has_figure, lacks_figure, has_rule_or_definition, lacks_rule_or_definition (+ answering_without_figure before final) | 0 each; -2 / -1 as a group | 0 each; -6 / -3 as a group | 0 each; -7 / -4 as a group | kept: they stand in for each other |
| another_concept          | +2 / -1 | +2 / -1 | 0 / -1  | kept: without it a Danish question is answered from another jurisdiction (test_a_danish_question_is_answered_from_danish_sources_only), which key facts do not score |
| other_submission         | 0 / 0   | 0 / 0   | 0 / 0   | kept: the defect-class test of the two submissions' deadlines needs it |
| earlier_period           | 0 / 0   | 0 / 0   | 0 / 0   | kept: without it a threshold no longer in force leads (test_compose, current period leads) |
| density                  | -1 / 0  | 0 / +1  | –       | removed in round 2 |
| checklist_elsewhere      | -1 / 0  | 0 / +1  | –       | removed in round 2 |
| answering_without_figure | 0 / 0   | 0 / +1  | –       | removed with density, the only score it reached |
| heading_words            | 0 / -1  | –       | –       | removed in round 1 (dev only) |
| heading_match            | 0 / -1  | –       | –       | removed in round 1 (dev only) |
| own_words                | 0 / 0   | –       | –       | removed in round 1 |
| phrase                   | 0 / 0   | –       | –       | removed in round 1 |
| same_language            | 0 / 0   | –       | –       | removed in round 1 |
| future_period            | 0 / 0   | –       | –       | removed in round 1 |
| asked_earlier_future     | 0 / 0   | –       | –       | removed in round 1 |

Round 1's seven switched off together: 0 held-out or blind, -1 dev; with the figure group also
off, -6 held-out and blind against -2 for the figure group alone (the word factors stood in for
the figure factors, which stay). Round 2's density and checklist_elsewhere together: 0 held-out or blind, +2 dev. After both
rounds, full `make eval` commands, same session: every held-out and blind figure unchanged (real
documents key facts 0.900 / 1.000 / 0.591, notes 0.914 -> 0.931 / 0.854; abstain, false abstain,
language and retrieval identical). Earlier rounds (dev only, before a held-out part existed)
removed the factors listed first in `REMOVED`.

Judged again on the merged code (7 Dec 2026, evening): the removals in the table above were
measured before the law-question fixes (answers-law set, statement context, neighbour law)
landed; on the merged code, removing all of them lowered the notes' held-out key facts
0.854 -> 0.812 (two cases), so every factor was put back and judged afresh with `--ablate-each`
on both corpora (real documents now with answers-law: dev 40, held-out 29, blind 31 cases;
notes as above). Change in held-out + blind cases passed / dev cases, both corpora summed, one
factor off at a time: rank_decay -5 / -5, heading_restates -3 / 0, another_concept +2 / -1
(kept, see its row), checklist_elsewhere, definition_heading, rule_with_provision,
asked_earlier_current, asked_earlier_earlier -1 each; heading_match 0 / -1 and density 0 / 0
(+1 on one corpus, -1 on the other); phrase, other_submission, earlier_period, the figure group,
own_words, future_period, asked_earlier_future, answering_without_figure 0 / 0; heading_words
and same_language 0 / -1 (dev only). Groups switched off together, against all on: own_words,
future_period, asked_earlier_future, answering_without_figure 0 / 0 (removed: they pay nowhere);
with heading_words and same_language too 0 / -1 (removed: paying on dev only is fitting); with
heading_match and density too -1 / -2 (those two stay, and so does checklist_elsewhere). phrase,
other_submission and earlier_period stay for the tests their rules have (a term of art: without
it "Hvor mange dage er tilbudsfristen ved offentligt udbud?" led with the dynamic purchasing
system's note; the two submissions; the current period). So the table's round 1 and 2 decisions
are superseded by this paragraph where they differ.

Judged again 8 Dec 2026 on the enlarged real set (answers-law with al-46..al-99: dev 74, held-out
49, blind 31; notes as above), one factor off at a time, held-out + blind / dev cases passed, both
corpora summed: rank_decay -9 / -5; heading_match, density, heading_restates, checklist_elsewhere,
definition_heading, rule_with_provision, asked_earlier_current, asked_earlier_earlier -1 each on
held-out + blind; another_concept +1 / -3 (kept, see its row); phrase, the figure and rule groups
factor by factor, other_submission and earlier_period 0 / 0 or dev only (kept for their tests and as
groups, as above). No removal raises the held-out and blind cases passed: every decision stands.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass


@dataclass(frozen=True, kw_only=True)
class Factor:
    name: str
    value: float
    neutral: float  # the value that switches it off: 1.0 for a multiplier, 0.0 for a weight
    reason: str


_TABLE = [
    # How a unit's words are counted.
    Factor(name="heading_match", value=0.5, neutral=1.0,
           reason="a question word found only in the unit's heading counts half: the heading is context"),
    Factor(name="density", value=0.33, neutral=0.0,
           reason="share of a unit's score that depends on how concentrated the answer is in one sentence"),
    Factor(name="rank_decay", value=0.06, neutral=0.0,
           reason="per retrieval rank: on equal wording the passage search ranked higher wins"),
    Factor(name="phrase", value=0.12, neutral=0.0,
           reason="per pair of question words that stand together in the unit (up to 4): a term of art "
                  "('uden udbud') is more than its words scattered"),
    Factor(name="heading_restates", value=0.4, neutral=0.0,
           reason="times the share of the question its heading covers (when half or more): a section "
                  "headed by the question is about exactly that"),
    # The kind of answer asked for.
    Factor(name="has_figure", value=1.7, neutral=1.0,
           reason="a question for a figure (deadline, count, amount, share): a unit that states one"),
    Factor(name="lacks_figure", value=0.55, neutral=1.0,
           reason="a question for a figure: a unit that states none cannot answer it"),
    Factor(name="has_rule_or_definition", value=1.2, neutral=1.0,
           reason="a yes/no or definition question: a unit with a modal verb or a defining verb (a weaker "
                  "cue than a figure)"),
    Factor(name="lacks_rule_or_definition", value=0.8, neutral=1.0,
           reason="a yes/no or definition question: a unit without such wording"),
    Factor(name="checklist_elsewhere", value=0.8, neutral=1.0,
           reason="a checklist restates rules in passing; the rule itself answers better"),
    Factor(name="definition_heading", value=1.8, neutral=1.0,
           reason="a definition question: a section headed by the term asked about explains it"),
    Factor(name="rule_with_provision", value=1.5, neutral=1.0,
           reason="a yes/no question: a rule (modal verb) in a unit naming the provision it rests on"),
    # What the unit is about.
    Factor(name="another_concept", value=0.6, neutral=1.0,
           reason="a unit about another procedure or concept than the one the question names"),
    Factor(name="other_submission", value=0.5, neutral=1.0,
           reason="a question naming one submission (tenders, or requests to participate: each has its "
                  "own deadline, directive art. 28) and a unit naming only the other: a look-alike. Ablated "
                  "7 Dec 2026: no gold-set figure moves (no case asks it); the defect-class test does"),
    # Validity periods of figures.
    Factor(name="earlier_period", value=0.45, neutral=1.0,
           reason="a figure of a period that has ended: the current one is what applies"),
    Factor(name="asked_earlier_current", value=0.6, neutral=1.0,
           reason="asked for the period before: the current period's figure is not it"),
    Factor(name="asked_earlier_earlier", value=1.4, neutral=1.0,
           reason="asked for the period before: an ended period's figure is it"),
]
FACTORS: dict[str, Factor] = {f.name: f for f in _TABLE}

# Removed after ablation on the dev answer sets (7 Dec 2026): switched off together they changed
# no figure (answers-corpus key facts 0.868, abstain 0.97, weak 0.226; answers-evalcorpus 0.889,
# 1.00, 0.333), so they did not pay.
REMOVED = {
    "borrowed_words": "x0.5 for topic words borrowed from the conversation",
    "procedure_list": "x1.4 for a list or steps unit under a 'how do we' question",
    "pitfall_asked": "x1.2 for a pitfalls unit when risks are asked (pitfalls are filtered out otherwise)",
    # Second round, switched off together: key facts and abstain unchanged on both sets, weak
    # 0.226 -> 0.217 on answers-corpus. The "which provision?" rule that adds a unit citing one
    # stays (compose); the document-talk word list (_META) went with its two factors.
    "reference_asked": "x1.2 for a unit citing a provision when the question asks which one",
    "meta_unit": "x0.3 for a unit that only says what the document is about",
    "meta_best_sentence": "x0.6 for a unit whose best sentence only says what the document is about",
    "defining_sentence": "x1.5 for a sentence 'X er/is …' under a definition question",
    # Judged on the merged code (7 Dec 2026, evening; docstring): switched off together no
    # held-out or blind case moved and dev lost one.
    "heading_words": "+0.5 x the heading's score added to the best sentence's (a sentence read under its heading)",
    "own_words": "+0.5 x the score of the question's own words (not the borrowed ones) per sentence",
    "answering_without_figure": "x0.5 for a figure question's unit whose best sentence holds no figure",
    "same_language": "x1.15 for a unit in the asker's language",
    "future_period": "x0.8 for a figure of a period not yet begun",
    "asked_earlier_future": "x0.5 for a future period's figure when the period before is asked",
}
_ablated: set[str] = set()


def value(name: str) -> float:
    """The factor's value, or its neutral value when ablated."""
    factor = FACTORS[name]
    return factor.neutral if name in _ablated else factor.value


def ablate(names: Iterable[str]) -> None:
    """Switch the named factors to neutral (an empty list restores them all)."""
    names = set(names)
    unknown = names - FACTORS.keys()
    if unknown:
        raise ValueError(f"unknown factor(s): {', '.join(sorted(unknown))}; known: {', '.join(FACTORS)}")
    _ablated.clear()
    _ablated.update(names)


def ablated() -> frozenset[str]:
    return frozenset(_ablated)


@contextmanager
def ablating(names: Iterable[str]) -> Iterator[None]:
    """`ablate(names)` for the duration of a block."""
    before = set(_ablated)
    ablate(names)
    try:
        yield
    finally:
        ablate(before)
