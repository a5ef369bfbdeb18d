"""The Markdown of an offline answer (quotes under their labels) and of notices."""

from __future__ import annotations

import re
from dataclasses import replace

from assistant.answer.citations import citation
from assistant.answer.compose import Composition
from assistant.answer.extractive import Sentence
from assistant.answer.types import Answer, Citation
from assistant.i18n import MESSAGES
from assistant.retrieval.search import Hit
from assistant.text import sentences as text_sentences


def with_notice(answer: Answer, notice: str) -> Answer:
    """The answer with a notice above it (shown in the text and kept in `notice`)."""
    if not notice:
        return answer
    return replace(answer, answer=f"*{notice}*\n\n{answer.answer}",
                   notice=f"{notice} {answer.notice}".strip())


def format_composition(composition: Composition, hits: list[Hit], language: str, notice: str,
                       weak: bool) -> tuple[str, list[Citation]]:
    """The offline answer's Markdown: a framing line in the asker's language, then each unit
    as a quote under its label, the answering sentences in bold, and the citations."""
    texts = MESSAGES.get(language, MESSAGES["en"])
    numbers: dict[int, int] = {}
    for unit in composition.units:
        numbers.setdefault(unit.hit_index, len(numbers) + 1)
    lines = [f"*{notice}*"] if notice else []
    if weak:
        lines.append(f"**{texts['partial']}**")
        if composition.missing:  # which part of the question the quotes leave open
            lines.append(texts["missing"].format(missing=", ".join(composition.missing)))
    if lines:
        lines.append("")
    quotes: dict[int, list[str]] = {}
    noticed: set[int] = set()
    for unit in composition.units:
        n = numbers[unit.hit_index]
        hit = hits[unit.hit_index]
        quotes.setdefault(n, []).append(unit.text)
        tags = [unit.jurisdiction] if unit.jurisdiction else []  # whose rule, when several countries answer
        if unit.role == "pitfalls":
            tags.append(texts["pitfall"])
        if unit.period == "earlier":
            tags.append(texts["earlier"])
        if unit.language and unit.language != language:
            tags.append(texts["from_language"].format(language=texts["languages"].get(unit.language, unit.language)))
        where = " – ".join(p for p in (hit.title, unit.label) if p)
        if hit.chunk.source_kind == "law" and hit.as_of:  # the law as it stood on that date
            where += f" ({texts['text_as_of']} {hit.as_of})"
        head = f"{'; '.join(tags)}: " if tags else ""
        lines.append(f"{head}*{md_escape(where)}* [{n}]")
        lines += [_quote_line(line, unit.highlight) for line in unit.text.split("\n") if line.strip()]
        notice_text = hit.chunk.notice(language)
        if notice_text and n not in noticed:  # a text known to predate a change: said once per source
            noticed.add(n)
            lines.append(f"*{md_escape(notice_text)}*")
        lines.append("")
    citations = [citation(n, hits[i], " … ".join(quotes[n]), language) for i, n in numbers.items()]
    return "\n".join(lines).strip(), citations


def format_baseline(sentences: list[Sentence], hits: list[Hit], notice: str) -> tuple[str, list[Citation]]:
    """The first release's offline answer: each picked sentence as a quote with its marker."""
    numbers: dict[int, int] = {}
    for s in sentences:
        numbers.setdefault(s.hit_index, len(numbers) + 1)
    quotes: dict[int, list[str]] = {}
    lines = [f"*{notice}*", ""] if notice else []
    for s in sentences:
        n = numbers[s.hit_index]
        quotes.setdefault(n, []).append(s.text)
        lines.append(f"> {s.text} [{n}]\n")
    citations = [citation(n, hits[i], " … ".join(quotes[n])) for i, n in numbers.items()]
    return "\n".join(lines).strip(), citations


def _quote_line(line: str, highlight: tuple[str, ...]) -> str:
    """One quoted line; each answering sentence in it is shown in bold."""
    out = md_escape(line.strip())
    for sentence in sorted(highlight, key=len, reverse=True):
        # A list item keeps its bullet or number outside the bold, so it still renders as one.
        escaped = text_sentences.LIST_ITEM.sub("", md_escape(sentence)).strip()
        if escaped and escaped in out and f"**{escaped}**" not in out:
            out = out.replace(escaped, f"**{escaped}**", 1)
    return f"> {out}"


def md_escape(text: str) -> str:
    """Quotes are text, not markup: neutralise HTML and Markdown that would render or fetch."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = re.sub(r"!\[", r"!\\[", text)
    return re.sub(r"(?<!\*)\*\*(?!\*)", "∗∗", text)
