"""Language detection measured on the labelled questions of every eval set, per part
(dev, held-out, blind), with time per call and the memory the detector adds.

`python -m assistant.evaluation.language [eval folder]`. The hand-written detector it was
compared with (7 Dec 2026, table in assistant/text/language.py) is at commit 5a89b6f,
assistant/text/language.py.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path

from assistant.evaluation.splits import split_of


def labelled_questions(folder: Path, *, with_earlier: bool = False) -> list[tuple]:
    """(part, language, question) for every case that names its language; the last turn of
    a conversation is the question judged. `with_earlier`: (part, language, question, earlier
    turns), to judge the question in its conversation."""
    items = []
    for path in sorted(Path(folder).glob("*.jsonl")):
        blind = path.name.startswith("blind")
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            case = json.loads(line)
            lang = case.get("lang") or case.get("language")
            turns = case.get("turns") or [case.get("question")]
            question = turns[-1]
            if lang and question:
                part = "blind" if blind else split_of(str(case["id"]))
                items.append((part, lang, question, list(turns[:-1])) if with_earlier else (part, lang, question))
    return items


def measure(detect, items: list[tuple]) -> dict:
    """Accuracy per part; `detect(question)`, or `detect(question, earlier)` for items that
    carry their earlier turns."""
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    detect("Hvor lang er fristen?")  # the first call loads the models
    load = time.perf_counter() - started
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    parts: dict[str, list[int]] = {}
    started = time.perf_counter()
    for part, lang, question, *earlier in items:
        right, total = parts.setdefault(part, [0, 0])
        parts[part] = [right + (detect(question, *earlier) == lang), total + 1]
    per_call = (time.perf_counter() - started) / max(1, len(items))
    return {"accuracy": {part: round(r / n, 3) for part, (r, n) in parts.items()},
            "cases": {part: n for part, (_, n) in parts.items()},
            "first_call_s": round(load, 2), "ms_per_call": round(per_call * 1000, 3),
            "rss_added_mb": round((rss_after - rss_before) / 1024, 1)}


def in_conversation(question: str, earlier: list[str] | None = None) -> str:
    """The question's language as the assistant decides it: in its conversation."""
    from assistant.retrieval.conversation import resolve

    return resolve(question, earlier or []).language


if __name__ == "__main__":  # pragma: no cover - a measurement, run by hand
    from assistant.text.language import detect_language

    folder = Path(sys.argv[1] if len(sys.argv) > 1 else "eval")
    print(json.dumps({"question alone": measure(detect_language, labelled_questions(folder)),
                      "in its conversation": measure(in_conversation, labelled_questions(folder, with_earlier=True))},
                     indent=1))
