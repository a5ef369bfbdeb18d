"""What each composer factor contributes, judged on held-out and blind: every factor (or a
group) switched to neutral in turn, the same answer sets answered again, each figure beside the
all-on figure of the same run (`assistant eval --ablate-each`).

Only the answers are re-run: the factors act in the composer, so retrieval figures do not depend
on them. Held-out cases give figures only (never read one by one), like everywhere else.

The rule (issue 22, item 6; assistant/retrieval/factors.py): a factor whose removal does not
lower the held-out and blind cases that pass, summed over the corpora, does not pay there and
goes; one that pays only on dev is fitting and goes too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from assistant.answer.assistant import Answer
from assistant.evaluation.answers import AnswerCase, answer_metrics, evaluate_answers
from assistant.evaluation.splits import SPLITS
from assistant.retrieval import factors

ALL_ON = "(all on)"
# (label, key in answer_metrics' block, higher is better): key facts and abstention only; the
# language share does not depend on the composer's factors.
METRICS: tuple[tuple[str, str, bool], ...] = (
    ("key facts", "key_facts", True),
    ("abstain", "abstain", True),
    ("false abstain", "false_abstain", False),
)
JUDGED = ("held-out", "blind")  # the parts a factor must pay on


@dataclass(frozen=True, kw_only=True)
class Run:
    """One configuration's figures: per part the metrics block, and the cases that passed."""
    label: str
    ablated: tuple[str, ...]
    blocks: dict[str, dict]
    passed: dict[str, int]  # per part: cases passed (answerable with every fact, or out of scope refused)


def run(label: str, names: Iterable[str], cases: Sequence[AnswerCase],
        ask: Callable[[str, list[dict]], Answer]) -> Run:
    """Answer every case with `names` switched to neutral (restored afterwards)."""
    names = tuple(names)
    with factors.ablating(names):
        report = evaluate_answers(label, list(cases), ask)
    blocks, passed = {}, {}
    for part in SPLITS:
        mine = [r for r in report.results if r.case.split == part]
        if mine:
            blocks[part] = answer_metrics(mine)["overall"]
            passed[part] = sum(r.passed for r in mine)
    return Run(label=label, ablated=names, blocks=blocks, passed=passed)


def ablate_each(cases: Sequence[AnswerCase], ask: Callable[[str, list[dict]], Answer],
                names: Iterable[str] | None = None,
                groups: Iterable[Sequence[str]] = (),
                progress: Callable[[str], None] | None = None) -> list[Run]:
    """The all-on run first, then one run per factor (every factor in the table unless `names`
    is given) and one per group (factors that may only work together)."""
    configs = [(ALL_ON, ())] + [(n, (n,)) for n in (names if names is not None else factors.FACTORS)]
    configs += [("+".join(g), tuple(g)) for g in groups]
    runs = []
    for label, ablated in configs:
        if progress:
            progress(label)
        runs.append(run(label, ablated, cases, ask))
    return runs


def delta(run_: Run, base: Run, part: str, key: str) -> float | None:
    """The run's figure minus the all-on figure (None when the part has no such figure)."""
    mine, theirs = run_.blocks.get(part, {}).get(key), base.blocks.get(part, {}).get(key)
    if mine is None or theirs is None:
        return None
    return round(mine - theirs, 3)


def judged_passed(run_: Run) -> int:
    """Held-out and blind cases that pass: what the rule compares."""
    return sum(run_.passed.get(part, 0) for part in JUDGED)


def rows(runs: Sequence[Run]) -> list[dict]:
    """One row per configuration: the all-on figures, and for each ablation its deltas per part
    and metric, with the change in held-out + blind (and dev) cases passed."""
    base = runs[0]
    out = []
    for r in runs:
        row: dict = {"factor": r.label, "ablated": list(r.ablated)}
        for part in SPLITS:
            for _, key, _ in METRICS:
                figure = r.blocks.get(part, {}).get(key)
                row[f"{part} {key}"] = figure if r is base else delta(r, base, part, key)
        row["dev passed"] = r.passed.get("dev", 0) - (0 if r is base else base.passed.get("dev", 0))
        row["judged passed"] = judged_passed(r) - (0 if r is base else judged_passed(base))
        out.append(row)
    return out
