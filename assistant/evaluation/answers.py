"""Answer-level evaluation: does the text a buyer reads state the fact asked for?

Gold format, one JSON object a line:
`{"id", "turns": [question, ...], "answerable": bool, "facts": [[spelling, ...], ...],
  "must_not": [text, ...], "lang": "da"|"nb"|"en", "kind": optional}`.
The last turn is judged; earlier turns are sent as history together with the assistant's own
earlier answers. An answerable case passes when the answer text (not the sources panel)
holds every fact (any spelling; case and thousands separators ignored) and no `must_not`
text, and it did not abstain; an out-of-scope case passes when it abstains.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from assistant.answer.assistant import Answer, Composer
from assistant.answer.citations import claim_support
from assistant.evaluation.retrieval import read_jsonl
from assistant.text.language import detect_language


@dataclass(frozen=True, kw_only=True)
class AnswerCase:
    id: str
    turns: list[str]
    answerable: bool
    facts: list[list[str]]
    must_not: list[str]
    lang: str
    kind: str
    split: str = "dev"  # "dev" | "held-out" (assistant.evaluation.splits) | "blind"


@dataclass(kw_only=True)
class CaseResult:
    case: AnswerCase
    answer: Answer
    facts_found: int
    forbidden: list[str]
    language_ok: bool
    crossed: bool = False  # an answer quoting another country's rule as the asker's (`crossed_border`)

    @property
    def passed(self) -> bool:
        if not self.case.answerable:
            return self.answer.abstained
        return (not self.answer.abstained and self.facts_found == len(self.case.facts)
                and not self.forbidden)

    def as_json(self, details: bool) -> dict:
        out = {"id": self.case.id, "passed": self.passed, "abstained": self.answer.abstained,
               "status": self.answer.status, "facts_found": self.facts_found,
               "facts": len(self.case.facts), "forbidden": self.forbidden, "language_ok": self.language_ok, "crossed": self.crossed}
        if details:
            out["turns"] = self.case.turns
            out["standalone"] = self.answer.standalone_question
            out["answer"] = self.answer.answer
        return out


@dataclass(kw_only=True)
class AnswerReport:
    name: str
    results: list[CaseResult]
    seconds: float = 0.0
    metrics: dict = field(default_factory=dict)


def load_cases(path: Path, split: str | None = None, blind: bool = False) -> list[AnswerCase]:
    """The cases of an answer set; `split` keeps one part, `blind` marks a blind set."""
    from assistant.evaluation.splits import split_of

    cases = []
    for number, item in read_jsonl(path):
        turns = item.get("turns") or ([item["question"]] if item.get("question") else [])
        if not turns:
            raise ValueError(f"{path}:{number}: a case needs 'turns'")
        answerable = bool(item.get("answerable", True))
        cases.append(AnswerCase(
            id=str(item.get("id", number)), turns=[str(t) for t in turns], answerable=answerable,
            facts=[[str(s) for s in (f if isinstance(f, list) else [f])] for f in item.get("facts") or []],
            must_not=[str(t) for t in item.get("must_not") or []],
            lang=item.get("lang") or detect_language(turns[-1]),
            kind=item.get("kind") or ("out_of_scope" if not answerable else "other"),
            split="blind" if blind else split_of(str(item.get("id", number))),
        ))
    return [c for c in cases if split is None or c.split == split]


def normalise(text: str) -> str:
    """Case-folded, thousands separators and Markdown emphasis removed, spaces collapsed."""
    text = text.replace("**", "").replace("\u00a0", " ").replace("\u202f", " ")
    text = re.sub(r"(?<=\d)[.,  ](?=\d{3}\b)", "", text)
    return re.sub(r"\s+", " ", text).casefold()


def contains(text: str, spelling: str) -> bool:
    needle = normalise(spelling).strip()
    if not needle:
        return False
    # A figure must not match inside a longer one ("5 dage" in "35 dage").
    pattern = (r"(?<![\w])" if needle[0].isalnum() else "") + re.escape(needle) + (
        r"(?![\w])" if needle[-1].isalnum() else "")
    return re.search(pattern, normalise(text)) is not None


def answer_language_ok(answer: Answer, lang: str) -> bool:
    """Framing in the asker's language, and the lead quote in it too unless it is labelled
    as coming from a source in another language."""
    if answer.language != lang:
        return False
    if answer.abstained or not answer.citations:
        return True
    lead = answer.citations[0].language
    if not lead or lead == lang:
        return True
    first_quote_line = next((ln for ln in answer.answer.splitlines() if "[1]" in ln), "")
    return re.search(r"(kilde på|source in)", first_quote_line) is not None


def crossed_border(case: AnswerCase, answer: Answer) -> bool:
    """Whether an answer quotes another country's rule as the asker's: a cited passage of
    Danish or Norwegian law or guidance outside the jurisdictions the case asks about.

    The scope is read from the gold case, not from the system's own reading of the question:
    the case's language gives the asker's country (a Norwegian question detected as Danish must
    still count), the countries its turns name widen it, and a comparison wants both
    (`retrieval.jurisdiction.scope_of`, the one policy). An abstention quotes no rule; its
    nearest sources may be any country's. A passage about a thing the question names ("LUP",
    "Doffin") may cross, as the policy allows.
    """
    from assistant.retrieval import jurisdiction
    from assistant.retrieval.query import COUNTRIES, hinge_terms
    from assistant.text.words import words

    if answer.abstained or not answer.citations:
        return False
    named = {COUNTRIES[w] for turn in case.turns for w in words(turn) if w in COUNTRIES}
    scope = jurisdiction.scope_of(language=case.lang, countries=frozenset(named), text=case.turns[-1])
    hinges = tuple(h for turn in case.turns for h in hinge_terms(turn))
    return any(not jurisdiction.allowed(scope, c.jurisdiction, label=jurisdiction.hit_label(c), hinges=hinges)
               for c in answer.citations)


def run_case(ask: Callable[[str, list[dict]], Answer], case: AnswerCase) -> CaseResult:
    history: list[dict] = []
    answer = None
    for turn in case.turns:
        answer = ask(turn, history)
        history += [{"role": "user", "content": turn}, {"role": "assistant", "content": answer.answer}]
    assert answer is not None
    found = sum(any(contains(answer.answer, s) for s in fact) for fact in case.facts)
    forbidden = [t for t in case.must_not if contains(answer.answer, t)]
    return CaseResult(case=case, answer=answer, facts_found=found, forbidden=forbidden,
                      language_ok=answer_language_ok(answer, case.lang), crossed=crossed_border(case, answer))


def evaluate_answers(name: str, cases: list[AnswerCase], ask: Callable[[str, list[dict]], Answer]) -> AnswerReport:
    started = time.perf_counter()
    results = [run_case(ask, c) for c in cases]
    report = AnswerReport(name=name, results=results, seconds=time.perf_counter() - started)
    report.metrics = answer_metrics(results)
    return report


def answer_metrics(results: list[CaseResult]) -> dict:
    def block(rs: list[CaseResult]) -> dict:
        answerable = [r for r in rs if r.case.answerable]
        out_of_scope = [r for r in rs if not r.case.answerable]
        out: dict = {"cases": len(rs)}
        if answerable:
            n = len(answerable)
            out["key_facts"] = round(sum(r.passed for r in answerable) / n, 3)
            out["false_abstain"] = round(sum(r.answer.abstained for r in answerable) / n, 3)
            out["weak"] = round(sum(r.answer.status == "weak" for r in answerable) / n, 3)
        if out_of_scope:
            out["abstain"] = round(sum(r.answer.abstained for r in out_of_scope) / len(out_of_scope), 3)
        out["language"] = round(sum(r.language_ok for r in rs) / len(rs), 3) if rs else 0.0
        # Target 0: another country's rule given as the asker's is the most dangerous answer.
        out["crossed"] = round(sum(r.crossed for r in rs) / len(rs), 3) if rs else 0.0
        out.update(claim_support([r.answer for r in rs]))  # LLM mode only (owner: answer/citations.py)
        return out

    kinds = sorted({r.case.kind for r in results})
    langs = sorted({r.case.lang for r in results})
    return {
        "overall": block(results),
        "by_kind": {k: block([r for r in results if r.case.kind == k]) for k in kinds},
        "by_language": {lang: block([r for r in results if r.case.lang == lang]) for lang in langs},
    }


def asker(assistant, composer: Composer) -> Callable[[str, list[dict]], Answer]:
    return lambda question, history: assistant.ask(question, history, composer=composer)
