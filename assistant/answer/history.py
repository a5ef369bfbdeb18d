"""The question and the conversation as they come in: cleaned and bounded, and the offline
follow-up rule."""

from __future__ import annotations

import re

MAX_QUESTION_CHARS = 2000  # longer input is cut: bounded time, whatever is pasted in
# History is client-supplied: every part of it is bounded, so one request's cost is too.
MAX_HISTORY_MESSAGES = 12  # the last six exchanges are all a follow-up can refer to
MAX_HISTORY_CHARS = 2000  # per message (answers are shown whole; only their start matters)

_REFERS_BACK = re.compile(
    r"^(og|and|men|but|også|also|hvad med|hva med|what about|how about|hvordan med|der|there|"
    r"det|it|den|dette|denne|this|that|then|så|og hvad|and what)\b|\b(der|there|dér|den|det|it|"
    r"this|that|dette|denne|same|samme)\??$",
    re.I,
)


def clean(question: str) -> str:
    """One line of text, control characters out, cut to MAX_QUESTION_CHARS."""
    question = (question if isinstance(question, str) else "")[: 2 * MAX_QUESTION_CHARS]  # cut first: bounded work
    question = re.sub(r"[\x00-\x08\x0b-\x1f\x7f]", " ", question)
    return re.sub(r"\s+", " ", question).strip()[:MAX_QUESTION_CHARS]


def bound_history(history) -> list[dict]:
    """The last MAX_HISTORY_MESSAGES well-formed turns, each cut to MAX_HISTORY_CHARS."""
    if not isinstance(history, (list, tuple)):
        return []
    out = []
    for m in list(history)[-MAX_HISTORY_MESSAGES:]:
        if isinstance(m, dict) and m.get("role") in {"user", "assistant"} and isinstance(m.get("content"), str):
            out.append({"role": m["role"], "content": clean(m["content"])[:MAX_HISTORY_CHARS]})
    return out


def previous_questions(history: list[dict] | None) -> list[str]:
    return [m["content"] for m in history or [] if m.get("role") == "user" and isinstance(m.get("content"), str)]


def combine_with_history(question: str, history: list[dict] | None) -> str:
    """Offline follow-up resolution: a short or referring question borrows the last one's topic."""
    earlier = previous_questions(history)
    if not earlier:
        return question
    short = len(question.split()) <= 6
    if short or _REFERS_BACK.search(question.strip()):
        return f"{earlier[-1]} {question}"
    return question
