"""Citations of a model's answer, checked claim by claim against the passages it was given.

A model's answer is untrusted text. Before any pattern runs it is normalised (whitespace
runs collapsed, length capped: `normalise_output`), so every regex below runs on bounded,
single-spaced text. Then each sentence that carries a marker [n] is a claim about passage n:

- every fact in the sentence (a number, amount, date, period, § / article label, procedure
  name) must appear in the passage, normalised ("7,5 mio." = "7.5 m" = 7500000; "seks
  måneder" = "6 months"; "§ 39" = "§39"; a procedure by its glossary concept, any language);
- its content words must overlap the passage's (stems, compound parts, glossary
  equivalents) by at least `MIN_OVERLAP` (`MIN_OVERLAP_CROSS` when the passage is in
  another language than the answer).

A marker whose passage does not support its sentence is dropped; a sentence no marker
supports is removed. What it cannot do: it checks that the passage *contains* the facts and
the words, not that the sentence states the relation the passage states ("at least 35 days"
and "at most 35 days" both pass), nor negation, nor facts written as words outside a
period or count ("three suppliers").
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from functools import lru_cache

from assistant.answer.extractive import split_sentences
from assistant.answer.types import Citation
from assistant.retrieval.jurisdiction import of_passage
from assistant.retrieval.search import Hit
from assistant.text import sentences as text_sentences
from assistant.text.glossary import default_glossary, equivalent_stems
from assistant.text.language import detect_language
from assistant.text.lexicon import CITATION_MARKER, CITATION_NUMBER
from assistant.text.words import LANGUAGES, content_words, doc_tokens, query_tokens

log = logging.getLogger(__name__)

_MARKER = CITATION_MARKER  # the one citation-marker pattern (text.lexicon)

# --- bounding the model's text ---------------------------------------------------------------

# Security issue 24 item 8: one reply of 48,000 spaces froze the app for 15.7 s in
# `[ \t]+([.,;:])`. The answer's `max_tokens` (config) bounds what a model sends; this cap
# bounds what any pattern here reads: 6,000 characters is ~1,500 tokens, three times the
# default `llm_max_tokens` (512), so an answer the model finished is never cut by it.
MAX_OUTPUT_CHARS = 6000
# Before whitespace is collapsed: the linear passes below take ~ms on this much, and a run of
# spaces (the 48,000 of the security issue) still collapses to one before the cap.
MAX_RAW_CHARS = 200_000
_HSPACE = re.compile(r"[^\S\n]+")  # one pass, linear: any run of horizontal whitespace
_BLANKS = re.compile(r"\n\s*\n\s*")  # a paragraph break, however many blank lines
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_MARKER_LIST = re.compile(rf"\[({CITATION_NUMBER}(?:, ?{CITATION_NUMBER}){{1,5}})\]")  # "[1, 2]" as models write it: "[1][2]"


def normalise_output(text: str) -> str:
    """A model's text made safe for every pattern that follows: control characters out,
    each whitespace run one space (a line break or one blank line kept), length capped."""
    text = str(text or "")[:MAX_RAW_CHARS]  # cut first: bounded work below
    text = _CONTROL.sub(" ", text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", " "))
    text = _HSPACE.sub(" ", text)
    text = _BLANKS.sub("\n\n", text)
    text = "\n".join(line.strip() for line in text.split("\n"))
    text = _MARKER_LIST.sub(lambda m: "".join(f"[{n.strip()}]" for n in m.group(1).split(",")), text)
    return text.strip()[:MAX_OUTPUT_CHARS]


# --- facts ---------------------------------------------------------------------------------

# Number words, for periods and counts only ("seks måneder", "at least three"): elsewhere
# "to" and "en" are ordinary words.
_NUMBER_WORDS = {
    **dict.fromkeys(["en", "et", "én", "ett", "one"], 1), **dict.fromkeys(["to", "two"], 2),
    **dict.fromkeys(["tre", "three"], 3), **dict.fromkeys(["fire", "four"], 4),
    **dict.fromkeys(["fem", "five"], 5), **dict.fromkeys(["seks", "six"], 6),
    **dict.fromkeys(["syv", "sju", "seven"], 7), **dict.fromkeys(["otte", "åtte", "eight"], 8),
    **dict.fromkeys(["ni", "nine"], 9), **dict.fromkeys(["ti", "ten"], 10),
    **dict.fromkeys(["elleve", "eleven"], 11), **dict.fromkeys(["tolv", "twelve"], 12),
    **dict.fromkeys(["tyve", "tjue", "twenty"], 20), **dict.fromkeys(["tredive", "tretti", "thirty"], 30),
}
_UNITS = {"dag": "day", "dage": "day", "dager": "day", "day": "day", "days": "day",
          "kalenderdage": "day", "kalenderdager": "day", "arbejdsdage": "day", "virkedager": "day",
          "uge": "week", "uger": "week", "uke": "week", "uker": "week", "week": "week", "weeks": "week",
          "måned": "month", "måneder": "month", "month": "month", "months": "month",
          "år": "year", "year": "year", "years": "year", "time": "hour", "timer": "hour",
          "hours": "hour", "hour": "hour"}
_COUNT_LEADS = r"(?:mindst|minst|at least|højst|høyst|at most|op til|opp til|up to|maksimalt|maks)"
_WORD_NUMBER = re.compile(
    r"\b(?:(" + "|".join(sorted(_NUMBER_WORDS, key=len, reverse=True)) + r")\s+(?=(?:kalender|arbejds|virke)?"
    r"(?:dag|dage|dager|days?|uger?|uker?|weeks?|måned|måneder|months?|år|years?|timer|hours?)\b)"
    r"|" + _COUNT_LEADS + r"\s+(" + "|".join(sorted(_NUMBER_WORDS, key=len, reverse=True)) + r")\b)",
    re.I)
# 35 / 7,5 / 7.5 / 1.000.000 / 1 000 000, then an optional scale word (amounts).
_NUMBER = re.compile(r"(?<![\w§])(\d{1,3}(?:[.\s ]\d{3})+|\d+)(?:[.,](\d+))?(?:\s*(mio|mia|million\w*|milliard\w*|"
                     r"billion\w*|mn|m|bn)\b\.?)?", re.I)
_SCALES = {"mio": 10**6, "million": 10**6, "mn": 10**6, "m": 10**6, "mia": 10**9, "milliard": 10**9,
           "billion": 10**9, "bn": 10**9}
_LABEL = re.compile(r"§§?\s*(\d+[a-z]?(?:-\d+[a-z]?)?)|\b(?:artikel|article|art\.)\s*(\d+[a-z]?)", re.I)
# The glossary concepts that name a procurement procedure: choosing one is a legal decision,
# so a claim naming one must cite a passage that names the same (any language, any synonym).
PROCEDURES = frozenset({
    "open_procedure", "restricted_procedure", "competitive_procedure_with_negotiation",
    "negotiated_procedure_without_publication", "competitive_dialogue", "innovation_partnership",
    "pre_commercial_procurement", "design_contest", "light_regime",
})


def _number_values(text: str) -> set[frozenset[str]]:
    """Each number in the text as the set of its readings ("12,500": 12.5 or 12500;
    "7,5 mio.": 7500000 or 7.5)."""
    out = set()
    for m in _NUMBER.finditer(text):
        whole, decimals, scale = m.group(1), m.group(2), (m.group(3) or "").lower().rstrip(".")
        digits = re.sub(r"\D", "", whole)
        value = float(f"{digits}.{decimals}") if decimals else float(digits)
        readings = {_canon(value)}
        if decimals and len(decimals) == 3:  # "12,500": a thousands separator, or a decimal comma
            readings.add(_canon(float(digits + decimals)))
        if scale:
            factor = next((f for k, f in _SCALES.items() if scale.startswith(k) and (k != "m" or scale == "m")), 1)
            readings.add(_canon(value * factor))
        out.add(frozenset(readings))
    return out


def _canon(value: float) -> str:
    return f"{value:.6g}" if value != int(value) else str(int(value))


@dataclass(frozen=True, kw_only=True)
class Facts:
    numbers: frozenset[frozenset[str]] = frozenset()  # each number as its readings
    labels: frozenset[str] = frozenset()
    procedures: frozenset[str] = frozenset()

    def __bool__(self) -> bool:
        return bool(self.numbers or self.labels or self.procedures)

    def missing_from(self, other: Facts) -> list[str]:
        """This text's facts the other text does not hold."""
        readings = set().union(*other.numbers) if other.numbers else set()
        numbers = {min(n, key=len) for n in self.numbers if not n & readings}
        return sorted(numbers | (self.labels - other.labels) | (self.procedures - other.procedures))


@lru_cache(maxsize=4096)
def facts(text: str) -> Facts:
    """The checkable facts of a text: numbers (with thousands separators, decimal commas,
    scale words and number words before a period or after "at least" normalised), § and
    article labels, procedure names (glossary concepts)."""
    numbers = _number_values(text)
    numbers |= {frozenset({_canon(_NUMBER_WORDS[(m.group(1) or m.group(2)).lower()])})
                for m in _WORD_NUMBER.finditer(text)}
    labels = {("§" if m.group(1) else "art") + (m.group(1) or m.group(2)).lower() for m in _LABEL.finditer(text)}
    procedures = {c.id for c, _ in default_glossary().match(text) if c.id in PROCEDURES}
    return Facts(numbers=frozenset(numbers), labels=frozenset(labels), procedures=frozenset(procedures))


# --- content-word overlap ------------------------------------------------------------------

# Measured by `python -m benchmarks.claims corpus eval/gold-corpus.jsonl` (2026-12-07): a gold
# question stands in for a faithful claim; its share of content words found in its gold
# passage is set beside the share in retrieved passages that are not gold (hard negatives,
# found by the same words). Same language, 105 gold / 338 other pairs, medians 0.83 / 0.67:
# 0.5 keeps 95% of gold pairs and rejects 23% of the others (0.6: 87% / 39%). Passage in
# another language, 31 / 81 pairs, medians 0.67 / 0.57: 0.4 keeps 100% and rejects 14%
# (0.45: 84% / 28%). The overlap only keeps a claim on its passage's topic; invented figures,
# labels and procedures are caught by the facts check, not by this.
MIN_OVERLAP = 0.5
MIN_OVERLAP_CROSS = 0.4
MIN_CONTENT_WORDS = 2  # fewer, and a sentence without facts ("Ja [1].") says nothing checkable


@lru_cache(maxsize=1024)
def passage_stems(text: str) -> frozenset[str]:
    out: set[str] = set()
    for lang in LANGUAGES:
        out.update(doc_tokens(text, lang))
    return frozenset(out)


def overlap(claim: str, passage: str) -> tuple[float, int]:
    """The share of the claim's content words (numbers aside) found in the passage, by stem,
    compound part or glossary equivalent; and how many content words the claim has."""
    found_in = passage_stems(passage)
    claim_words = [w for w in dict.fromkeys(content_words(claim)) if not any(ch.isdigit() for ch in w)
                   and w not in _NUMBER_WORDS and w not in _UNITS]
    if not claim_words:
        return 0.0, 0
    equivalents = equivalent_stems(default_glossary().match(claim))
    hits = sum(1 for w in claim_words if query_tokens(w) & found_in or equivalents.get(w, set()) & found_in)
    return hits / len(claim_words), len(claim_words)


# --- the claim check -----------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Claim:
    """One sentence of a model answer and what its markers' passages say about it."""

    sentence: str  # without markers
    cited: tuple[int, ...]  # the markers it carried, in range or not
    supported_by: tuple[int, ...]  # the markers whose passage supports it
    missing: tuple[str, ...] = ()  # facts no cited passage holds
    quotes: dict[int, str] = field(default_factory=dict)  # marker -> the passage sentence supporting it

    @property
    def supported(self) -> bool:
        return bool(self.supported_by)


@dataclass(kw_only=True)
class CheckedAnswer:
    text: str  # the supported sentences with their supporting markers only
    citations: list[Citation]
    claims: list[Claim]  # every cited sentence
    uncited: int  # sentences without a marker (removed unless a fact-free lead-in)
    language: str  # detected in the checked text ("" when too short to tell)

    @property
    def supported(self) -> int:
        return sum(c.supported for c in self.claims)

    @property
    def unsupported(self) -> int:
        return len(self.claims) - self.supported

    def counts(self) -> dict[str, int]:
        return {"cited": len(self.claims), "supported": self.supported, "uncited": self.uncited}

    @property
    def support(self) -> float:
        """Share of cited sentences supported by a passage they cite (1.0 when none were cited)."""
        return self.supported / len(self.claims) if self.claims else 1.0


def hit_text(hit: Hit) -> str:
    """What a passage says, with the labels it is filed under (`hit_labels`)."""
    return "\n".join(p for p in (hit_labels(hit), hit.text) if p)


def hit_labels(hit: Hit) -> str:
    """The labels a passage is filed under: title, section (a § in it) and, for a statute,
    what its source card gives the model to cite it by (prompts.card_attributes): the act,
    the consolidated text and its date. So "udbudsloven § 94 (LBK nr. 116 af 3. februar
    2025, text as of 2025-02-03)" is supported by the card it came from though no sentence
    of the passage names them."""
    chunk = hit.chunk
    card = (chunk.act, chunk.consolidation, hit.as_of) if chunk.source_kind == "law" else ()
    return "\n".join(p for p in (hit.title, hit.section, *card) if p)


def supports(sentence: str, passage: str, *, cross_language: bool = False) -> tuple[bool, list[str]]:
    """Whether a passage supports a sentence; and the sentence's facts it lacks."""
    missing = facts(sentence).missing_from(facts(passage))
    share, n = overlap(sentence, passage)
    if missing:
        return False, missing
    if n == 0:
        return bool(facts(sentence)), []  # nothing but facts, all found ("6 months [1].")
    if n < MIN_CONTENT_WORDS and not facts(sentence):
        return False, []
    return share >= (MIN_OVERLAP_CROSS if cross_language else MIN_OVERLAP), []


def supporting_sentence(sentence: str, passage: str, *, cross_language: bool = False, labels: str = "") -> str:
    """The passage's sentence that supports the claim on its own (most overlap), or "".
    `labels`: what the passage is filed under (`hit_labels`), read with each sentence, so a
    claim naming the provision and the date of the text finds the sentence it quotes."""
    best, best_share = "", -1.0
    for candidate in split_sentences(passage) or [passage]:
        read = f"{labels}\n{candidate}" if labels else candidate
        ok, _ = supports(sentence, read, cross_language=cross_language)
        if ok:
            share = overlap(sentence, read)[0]
            if share > best_share:
                best, best_share = candidate, share
    return best


_MARKERS_AFTER_STOP = re.compile(r"([.!?])((?:\s?\[\d{1,3}\])+)")
_LIST_PREFIX = re.compile(r"^(?:[-*•]\s|\d{1,2}[.)]\s|#{1,6}\s)")


def _units(text: str) -> list[tuple[str, list[str]]]:
    """Each line of the text as (its list prefix, its sentences); markers written after a
    full stop ("35 dage. [1]") are moved before it so they stay with their sentence."""
    text = _MARKERS_AFTER_STOP.sub(lambda m: m.group(2).replace(" ", "") + m.group(1), text)
    out = []
    for line in text.split("\n"):
        prefix_match = _LIST_PREFIX.match(line)
        prefix = prefix_match.group(0) if prefix_match else ""
        body = line[len(prefix):].strip()
        out.append((prefix, [s.strip() for s in text_sentences.split_sentences(body) if s.strip()] if body else []))
    return out


def check_claims(text: str, hits: list[Hit], *, language: str = "") -> CheckedAnswer:
    """The model's text with only what its cited passages support: each cited sentence keeps
    the markers whose passage supports it and is removed when none does; an uncited sentence
    is checked against the next marker in its line (a paragraph cited once at its end), and
    removed when there is none, unless it is a lead-in without facts ("The conditions are:"). `language` is
    the answer's language (the question's): a passage in another is compared with
    `MIN_OVERLAP_CROSS`."""
    text = normalise_output(text)
    valid = set(range(1, len(hits) + 1))
    claims: list[Claim] = []
    uncited = 0
    lines: list[str] = []
    for prefix, sentences in _units(text):
        kept = []
        markers = [tuple(dict.fromkeys(int(x) for x in _MARKER.findall(sentence))) for sentence in sentences]
        for i, sentence in enumerate(sentences):
            cited = markers[i]
            bare = re.sub(r" ?\[\d{1,3}\]", "", sentence).strip()
            if not cited and bare.endswith(":") and not facts(bare):
                uncited += 1
                kept.append(bare)  # a lead-in: says nothing checkable
                continue
            if not cited:
                # Models often cite once at the end of a passage of sentences: an uncited
                # sentence is checked against the next marker in its line, and keeps it only
                # if that passage supports it too.
                cited = next((m for m in markers[i + 1:] if m), ())
                if not cited:
                    uncited += 1
                    continue
            good, quotes, missing = [], {}, set()
            for n in cited:
                if n not in valid:
                    continue
                passage = hit_text(hits[n - 1])
                cross = bool(language and hits[n - 1].language and hits[n - 1].language != language)
                ok, lacks = supports(bare, passage, cross_language=cross)
                missing.update(lacks)
                if ok:
                    good.append(n)
                    quotes[n] = supporting_sentence(bare, hits[n - 1].text, cross_language=cross,
                                                    labels=hit_labels(hits[n - 1]))
            claims.append(Claim(sentence=bare, cited=cited, supported_by=tuple(good),
                                missing=tuple(sorted(missing)), quotes=quotes))
            if good:
                kept.append(_with_markers(bare, good))
        if kept:
            lines.append(prefix + " ".join(kept))
        elif not sentences and lines and lines[-1] != "":
            lines.append("")  # a paragraph break between kept lines
    checked = "\n".join(lines).strip()
    if not any(c.supported for c in claims):
        checked = ""
    dropped = sorted({n for c in claims for n in c.cited} - {n for c in claims for n in c.supported_by})
    if dropped:
        log.warning("removed citations their passage does not support (or not given): %s", dropped)
    citations = []
    for n in sorted({n for c in claims for n in c.supported_by}):
        quotes = list(dict.fromkeys(q for c in claims if (q := c.quotes.get(n))))
        citations.append(citation(n, hits[n - 1], " … ".join(quotes), language))
    words_ = checked.split()
    detected = detect_language(_MARKER.sub("", checked)) if len(words_) >= MIN_LANGUAGE_WORDS else ""
    return CheckedAnswer(text=checked, citations=citations, claims=claims, uncited=uncited, language=detected)


# Below this many words the language detector guesses (and a figure with a unit is the same
# in every language): the language check applies from here up.
MIN_LANGUAGE_WORDS = 6


def _with_markers(sentence: str, markers: list[int]) -> str:
    """The sentence with its markers before its final stop: "Fristen er 35 dage [1]."."""
    marks = "".join(f"[{n}]" for n in markers)
    if sentence[-1:] in ".!?:;":
        return f"{sentence[:-1].rstrip()} {marks}{sentence[-1]}"
    return f"{sentence} {marks}"


def check_citations(text: str, hits: list[Hit], language: str = "") -> tuple[str, list[Citation]]:
    """The checked text and its citations (see `check_claims`)."""
    checked = check_claims(text, hits, language=language)
    return checked.text, checked.citations


def claim_support(answers) -> dict:
    """Claim-level figures over answers (for `assistant eval --answers`): how many of the
    model's cited sentences a cited passage supported (`claim_support`, their share), how many
    it did not (`unsupported_claims`, removed before the buyer saw them), and unsupported
    cited sentences in what was shown (`shown_unsupported`: must be 0). {} when no answer
    went through the check (offline mode)."""
    checked = [a.claims for a in answers if a.claims]
    if not checked:
        return {}
    cited = sum(c.get("cited", 0) for c in checked)
    supported = sum(c.get("supported", 0) for c in checked)
    return {"checked": len(checked), "cited": cited,
            "claim_support": round(supported / cited, 3) if cited else None,
            "unsupported_claims": cited - supported,
            "shown_unsupported": sum(c.get("shown_unsupported", 0) for c in checked)}


# --- declines ------------------------------------------------------------------------------

_DECLINES = re.compile(r"(kan ikke finde|finner (jeg )?ikke|can't find|cannot find|could not find|do not cover|"
                       r"does not cover|don't cover|doesn't cover|dækker ikke|dekker ikke|not covered|"
                       r"ikke dækket|ikke dekket|no information|ingen oplysninger|ingen opplysninger|"
                       r"not in the sources|ikke i kilderne|ikke i kildene)", re.I)
# A decline is a sentence or two ("The sources do not cover this."); a longer text that
# contains the phrase is an answer with a caveat, and is checked as one.
MAX_DECLINE_WORDS = 30
# A contrast after the decline ("not covered, but you can …") introduces a claim: grammar,
# not a list of failed questions.
_CONTRAST = re.compile(r"\b(but|however|although|though|men|dog|imidlertid|selvom|selv om|likevel|"
                       r"allikevel|alligevel)\b", re.I)


def declines(text: str) -> bool:
    """Whether the whole (short) answer is a decline: every sentence says the sources do not
    cover it, and there are no citations."""
    text = normalise_output(text)
    if not text or _MARKER.search(text) or len(text.split()) > MAX_DECLINE_WORDS:
        return False
    sentences = [s for _, line in _units(text) for s in line]
    return (bool(sentences) and all(_DECLINES.search(s) for s in sentences)
            and not _CONTRAST.search(text) and not facts(text))


# --- shared helpers ------------------------------------------------------------------------


def label(hit: Hit) -> str:
    parts = [hit.title or hit.source]
    if hit.section:
        parts.append(hit.section)
    if hit.page:
        parts.append(f"p. {hit.page}")
    return " – ".join(parts)


def first_sentence(text: str) -> str:
    sentences = split_sentences(text)
    return sentences[0] if sentences else text[:240]


def citation(n: int, hit: Hit, quote: str, language: str = "") -> Citation:
    """`language`: the asker's, which a staleness notice is given in."""
    chunk = hit.chunk
    return Citation(n=n, source=hit.source, title=hit.title, page=hit.page, section=hit.section,
                    quote=quote, score=round(hit.score, 6), language=hit.language, as_of=hit.as_of,
                    official_urls=hit.official_urls.split(), sources=list(hit.sources),
                    topics=list(hit.topics), kind=chunk.source_kind, consolidation=chunk.consolidation,
                    attribution=chunk.attribution, notice=chunk.notice(language or hit.language),
                    jurisdiction=of_passage(hit.jurisdiction, hit.language))
