"""Retrieval evaluation against a gold set, and the baseline a user would pick instead.

Gold format, one JSON object a line:
`{"id", "question", "answerable", "kind", "expect": [{"source", "text"}]}`.
A retrieved passage matches an expectation when its source contains `source`
(case-insensitive) and its normalised text contains the normalised `text`.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .loaders import join_hyphenated


@dataclass
class GoldQuestion:
    id: str
    question: str
    answerable: bool
    kind: str
    expect: list[dict]


@dataclass
class Ranked:
    """What a system returned for one question."""

    hits: list[dict]  # {"source", "section", "text", "score"} in rank order
    abstained: bool


@dataclass
class QuestionResult:
    question: GoldQuestion
    ranked: Ranked
    rank: int  # 1-based rank of the first matching hit, 0 if none in the list

    def as_json(self, details: bool = True) -> dict:
        out = {"id": self.question.id, "abstained": self.ranked.abstained, "rank": self.rank}
        if details:
            out["question"] = self.question.question
            out["hits"] = self.ranked.hits
        return out


@dataclass
class Report:
    name: str
    results: list[QuestionResult]
    k: int
    seconds: float = 0.0
    metrics: dict = field(default_factory=dict)


def read_jsonl(path: Path) -> list[tuple[int, dict]]:
    """(line number, object) for each non-empty line; a bad line names its file and number."""
    items = []
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            items.append((number, json.loads(line)))
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}:{number}: not valid JSON ({exc.msg})") from exc
    return items


def load_gold(path: Path) -> list[GoldQuestion]:
    questions = []
    for number, item in read_jsonl(path):
        questions.append(
            GoldQuestion(
                id=str(item.get("id", number)),
                question=item["question"],
                answerable=bool(item.get("answerable", True)),
                kind=item.get("kind") or "all",
                expect=item.get("expect") or [],
            )
        )
    return questions


def normalise(text: str) -> str:
    text = join_hyphenated(text)
    text = re.sub(r"(\w)-\s+([a-zæøå])", r"\1\2", text)  # hyphen breaks already flattened
    return re.sub(r"\s+", " ", text).casefold().strip()


def matches(hit: dict, expect: dict) -> bool:
    return expect["source"].casefold() in hit["source"].casefold() and normalise(
        expect["text"]
    ) in normalise(hit["text"])


def first_match(hits: list[dict], expect: list[dict], depth: int = 10) -> int:
    for rank, hit in enumerate(hits[:depth], start=1):
        if any(matches(hit, e) for e in expect):
            return rank
    return 0


def evaluate(name: str, questions: list[GoldQuestion], system: Callable[[str], Ranked], k: int = 5) -> Report:
    started = time.perf_counter()
    results = []
    for q in questions:
        ranked = system(q.question)
        rank = first_match(ranked.hits, q.expect) if q.answerable else 0
        results.append(QuestionResult(q, ranked, rank))
    report = Report(name, results, k, time.perf_counter() - started)
    report.metrics = metrics(results, k)
    return report


def metrics(results: list[QuestionResult], k: int) -> dict:
    def block(rs: list[QuestionResult]) -> dict:
        answerable = [r for r in rs if r.question.answerable]
        unanswerable = [r for r in rs if not r.question.answerable]
        out: dict = {"questions": len(rs)}
        if answerable:
            n = len(answerable)
            out["hit@1"] = round(sum(r.rank == 1 for r in answerable) / n, 3)
            out[f"hit@{k}"] = round(sum(0 < r.rank <= k for r in answerable) / n, 3)
            out["mrr@10"] = round(sum(1 / r.rank for r in answerable if r.rank) / n, 3)
            out["false_abstain"] = round(sum(r.ranked.abstained for r in answerable) / n, 3)
        if unanswerable:
            out["abstain"] = round(sum(r.ranked.abstained for r in unanswerable) / len(unanswerable), 3)
        return out

    kinds = sorted({r.question.kind for r in results})
    return {
        "overall": block(results),
        "by_kind": {kind: block([r for r in results if r.question.kind == kind]) for kind in kinds},
    }


# --- the baseline: LangChain's tutorial recipe ---------------------------------------------


class TutorialBaseline:
    """`RecursiveCharacterTextSplitter(1000, 200)` over each file's plain text, BM25 over
    those chunks with whitespace tokens (what LangChain's BM25Retriever does by default).
    It never abstains."""

    def __init__(self, files: list[Path]):
        import bm25s
        from langchain_text_splitters import RecursiveCharacterTextSplitter

        from .loaders import LoadError, load_file

        splitter = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200)
        self.chunks: list[tuple[str, str]] = []
        for path in files:
            try:
                doc = load_file(path)
            except LoadError:
                continue
            text = "\n\n".join(s.text for s in doc.sections)
            self.chunks += [(path.name, part) for part in splitter.split_text(text)]
        self.model = bm25s.BM25()
        self.model.index([t.lower().split() for _, t in self.chunks], show_progress=False)

    def __call__(self, question: str) -> Ranked:
        import numpy as np

        tokens = [t for t in question.lower().split() if t in self.model.vocab_dict]
        if not tokens:
            return Ranked([], False)
        scores = self.model.get_scores(tokens)
        order = np.argsort(-scores)[:10]
        hits = [
            {"source": self.chunks[i][0], "section": "", "text": self.chunks[i][1],
             "score": round(float(scores[i]), 4)}
            for i in order if scores[i] > 0
        ]
        return Ranked(hits, False)


def assistant_system(retriever, k: int) -> Callable[[str], Ranked]:
    from .query import analyse, out_of_scope

    def run(question: str) -> Ranked:
        result = retriever.search(question, k=max(k, 10))
        hits = [
            {"source": h.source, "section": h.section, "text": h.text, "score": h.score}
            for h in result.hits[:10]
        ]
        # The assistant's whole decision: the relevance gate, then the question's hinges
        # (a name, year, live or personal data no passage holds), as in `Assistant.stream`.
        scope = out_of_scope(analyse(question, today=retriever.settings.today),
                             [f"{h.source}\n{h.title}\n{h.section}\n{h.text}" for h in result.hits[:5]])
        return Ranked(hits, result.abstain or bool(scope.reason))

    return run
