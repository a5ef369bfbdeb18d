"""The answer's types: one `Answer` object serves every front end (CLI, web app, API)."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from assistant.retrieval.query import Query
    from assistant.retrieval.search import SearchResult

Status = Literal["answered", "weak", "abstained", "error"]
Mode = Literal["llm", "extractive"]
# Why an answer abstained: the relevance gate, or a hinge of the question no passage holds
# (`query.out_of_scope`: a name, a year, live or personal data, a case's outcome), or the
# language model's whole answer was that the sources do not cover it ("model").
AbstainReason = Literal["", "gate", "named", "year", "live", "personal", "outcome", "model"]
Composer = Literal["units", "baseline"]
# What a streamed, not yet final answer says is happening (LLM mode): the model is writing,
# then its claims are checked against the sources. "" on every final answer.
Progress = Literal["", "writing", "checking"]


@dataclass(kw_only=True)
class Citation:
    n: int
    source: str
    title: str
    page: int
    section: str
    quote: str
    score: float
    language: str = ""
    as_of: str = ""  # the legal date the source describes ("Gælder pr.")
    official_urls: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)  # what the cited document is based on (front matter)
    topics: list[str] = field(default_factory=list)  # the cited document's topics (front matter)
    kind: str = ""  # "law" | "guidance" | "": a card says which the passage is
    consolidation: str = ""  # a statute's version ("LBK nr. 116 af 3. februar 2025")
    attribution: str = ""  # "Lovdata" (NLOD 2.0) for the Norwegian statutes
    jurisdiction: str = ""  # DK, NO, EU or "" (guidance with no country): whose rule the passage states
    # A text known to predate a change (the sidecar's notice): what changed and where to check
    # the text in force, in the asker's language; "" when none is known.
    notice: str = ""


@dataclass(kw_only=True)
class Answer:
    question: str
    answer: str  # Markdown, with [n] markers
    abstained: bool
    mode: Mode
    citations: list[Citation] = field(default_factory=list)
    language: str = "da"
    standalone_question: str = ""
    notice: str = ""
    error: str = ""
    timings: dict[str, float] = field(default_factory=dict)
    status: Status = "answered"  # weak: from partial evidence; error: store down, empty question
    reason: AbstainReason = ""
    # LLM mode: the model's renderings of the question that were searched ({language: text});
    # empty when none were made or the call failed (then timings["translate_ms"] says it ran).
    translations: dict[str, str] = field(default_factory=dict)
    # What the conversation had established for this turn (`retrieval.conversation`):
    # jurisdiction, procedure, document, period, object, topic.
    conversation: dict = field(default_factory=dict)
    # A streamed answer that is not the answer yet: `answer` says what is happening (the model
    # is writing, the sources are being checked). The final answer has "" here.
    progress: Progress = ""
    # LLM mode, once the model's text was checked (`citations.CheckedAnswer.counts`): its
    # cited sentences, how many a cited passage supported, its uncited sentences, and the
    # unsupported cited sentences in the text shown (0 unless the check is broken).
    claims: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(kw_only=True)
class Turn:
    """One question's values on their way through the assistant: what was asked, what is
    searched, in which language, what search found, and the clock."""

    question: str
    standalone: str
    language: str
    result: SearchResult
    query: Query
    started: float = field(default_factory=time.perf_counter)
    timings: dict[str, float] = field(default_factory=dict)  # shared, filled as steps run

    def elapsed(self) -> dict[str, float]:
        """The timings so far, with the total."""
        return {**self.timings, "total_ms": round((time.perf_counter() - self.started) * 1000, 2)}
