"""Dev and held-out parts of every gold set, and the generalisation table.

Every case of a gold set (retrieval or answer level) belongs to one part, chosen by a stable
hash of its id, so the split never depends on file order, on the machine or on who edits
the file next, and a new case lands in a part nobody chose:

- `dev` (about 60 %): may be read case by case and tuned on (word lists, factors,
  `assistant calibrate`, which reads only dev);
- `held-out` (about 40 %): only its figures are read; never inspected case by case, never
  used to choose a rule, a word or a factor. A change lands only if held-out does not fall.

The part is also written into each line (`"split"`), so a reader of the file sees it; the
tests check that the recorded part equals the hash, so nobody moves a case by hand.
Blind sets (questions written without looking at the corpus wording) are their own files
and count as a third column, `blind`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from typing import Literal, TypeVar

Split = Literal["dev", "held-out", "blind"]
SPLITS: tuple[Split, ...] = ("dev", "held-out", "blind")

# 60 / 40: enough held-out cases in the smallest set (24 answer cases) for a figure, enough
# dev cases to tune on. Changing it reshuffles every set: don't.
DEV_PERCENT = 60
SALT = "procurement-eval-split-v1"

T = TypeVar("T")


def split_of(case_id: str) -> Split:
    """`dev` or `held-out` for a case id, from the first bytes of its SHA-256 (stable
    across Python versions and machines, unlike `hash()`)."""
    digest = hashlib.sha256(f"{SALT}:{case_id}".encode()).digest()
    return "dev" if int.from_bytes(digest[:4], "big") % 100 < DEV_PERCENT else "held-out"


def in_split(items: Iterable[T], split: Split | None, case_id: Callable[[T], str]) -> list[T]:
    """The items of one part (all of them for None); blind sets are blind whole."""
    items = list(items)
    if split is None:
        return items
    return [item for item in items if split_of(case_id(item)) == split]


# --- the table: dev, held-out and blind side by side, with the gap --------------------------

# (label, key in the metrics block, higher is better). The gap is dev minus held-out: a
# positive gap on a higher-is-better metric means dev flatters the system.
RETRIEVAL_METRICS: tuple[tuple[str, str, bool], ...] = (
    ("Hit@5", "hit@5", True),
    ("MRR@10", "mrr@10", True),
    ("abstain (unanswerable)", "abstain", True),
    ("false abstain", "false_abstain", False),
)
ANSWER_METRICS: tuple[tuple[str, str, bool], ...] = (
    ("key facts", "key_facts", True),
    ("abstain (out of scope)", "abstain", True),
    ("false abstain", "false_abstain", False),
    ("language", "language", True),
    ("another country's rule quoted", "crossed", False),
)


# Issue 22's targets for held-out and blind, per (level, metric label), as README's table shows
# them beside each figure; the gap's target is |dev - held-out| <= 0.05 on every metric.
TARGETS: dict[tuple[str, str], str] = {
    ("retrieval", "Hit@5"): "≥ 0.90 (real documents)",
    ("retrieval", "MRR@10"): "≥ 0.75 (real documents)",
    ("answers", "key facts"): "≥ 0.85",
    ("answers", "abstain (out of scope)"): "≥ 0.90",
    ("answers", "false abstain"): "≤ 0.05",
    ("answers", "another country's rule quoted"): "0",
}
GAP_TARGET = 0.05


def gap(dev: float | None, held_out: float | None) -> float | None:
    """Dev minus held-out, None when either part has no figure."""
    if dev is None or held_out is None:
        return None
    return round(dev - held_out, 3)


def generalisation_rows(level: str, system: str, blocks: dict[str, dict],
                        metrics: tuple[tuple[str, str, bool], ...]) -> list[dict]:
    """One row per metric: {level, system, metric, dev, held-out, blind, gap, n}.

    `blocks` maps a part name to its metrics block (`{"hit@5": .., "questions": ..}` or
    `{"key_facts": .., "cases": ..}`); a part without cases is absent or empty.
    """
    rows = []
    for label, key, _ in metrics:
        values = {part: (blocks.get(part) or {}).get(key) for part in SPLITS}
        if all(v is None for v in values.values()):
            continue
        rows.append({"level": level, "system": system, "metric": label, **values,
                     "gap": gap(values["dev"], values["held-out"])})
    return rows


def counts(blocks: dict[str, dict]) -> dict[str, int]:
    """Cases per part, for the table's header."""
    return {part: int((blocks.get(part) or {}).get("questions") or (blocks.get(part) or {}).get("cases") or 0)
            for part in SPLITS}


def markdown_table(rows: list[dict], table_counts: dict[str, dict[str, int]], *, embedding: str, folder: str) -> str:
    """The generalisation table as README shows it (`assistant eval --write-readme NAME`): one
    line per level and metric, the assistant's dev / held-out / blind beside its baseline's."""
    def cell(value) -> str:
        return "–" if value is None else f"{value:.3f}"

    heads = "; ".join(f"{level}: " + ", ".join(f"{part} {n}" for part, n in c.items() if n)
                      for level, c in table_counts.items())
    lines = [f"Over `{folder}`, embedding `{embedding}`; cases per part: {heads}. Gap = dev minus held-out "
             f"(target: within ±{GAP_TARGET}). Baseline of the same run: the tutorial retriever (retrieval), the "
             "first release's composer (answers).",
             "",
             "| level | metric | assistant: dev / held-out / blind | gap | target (held-out, blind) "
             "| baseline: dev / held-out / blind |",
             "|---|---|---|---|---|---|"]
    systems: dict[tuple[str, str], dict[str, dict]] = {}
    for row in rows:
        who = "assistant" if row["system"].startswith("assistant") else "baseline"
        systems.setdefault((row["level"], row["metric"]), {})[who] = row
    for (level, metric), pair in systems.items():
        mine, base = pair.get("assistant"), pair.get("baseline")
        if mine is None:
            continue
        gap_cell = "–" if mine["gap"] is None else f"{mine['gap']:+.3f}"
        base_cell = " / ".join(cell(base[p]) for p in SPLITS) if base else "–"
        target = TARGETS.get((level, metric), "–")
        lines.append(f"| {level} | {metric} | {' / '.join(cell(mine[p]) for p in SPLITS)} | {gap_cell} | {target} "
                     f"| {base_cell} |")
    return "\n".join(lines)
