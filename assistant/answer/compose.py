"""The offline answer: whole quotable units of the best passages, the asked-for fact first.

Input: an analysed `Query` and the retrieved hits (each with its units and section role as
chunk metadata). Output: a `Composition`, the units to quote in order, each with the
sentences that answer highlighted, and how well they support the question.

Rules, each a general mechanism (no question is special-cased):
- A unit is a paragraph, a list with its lead-in, a table row with its header, or a
  provision part with its stk./ledd label: never a lone sentence torn from its list.
- Units are scored by the question's specific words they contain (rarer words weigh more),
  then by whether they carry a value of the kind asked for (a deadline, a count, an amount,
  a share, a rule for a yes/no question, a definition, steps for a procedure).
- Pitfall units are used only when the question asks about risks or mistakes, and then
  labelled; source lists and asides (the "not legal advice" line) are never quoted; a unit
  that only talks about the note itself is demoted.
- Of units that name validity periods, the one in force on `today` leads; an earlier
  period is labelled as earlier.
- Units in the asker's language and jurisdiction win ties over the others.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from typing import Literal

from assistant.answer.extractive import (
    question_terms,
    score_sentence,
    sentence_tokens,
    similar,
    split_sentences,
)
from assistant.ingest.chunking import Unit, provision_base, segment_units, units_from_json
from assistant.retrieval import factors, jurisdiction
from assistant.retrieval.boosts import parse_provisions
from assistant.retrieval.conversation import purchase_objects
from assistant.retrieval.query import VALUE, Query, asking_clause, has_value
from assistant.text.lexicon import MONTHS
from assistant.text.words import content_words, decompound, query_stems, words

WORD_BUDGET = 150  # about what a buyer reads at a glance; a list may run over to stay whole
MAX_UNITS = 3
LONG_UNIT_WORDS = 120  # a longer paragraph is shown as a window around its answering sentence
RELATIVE_FLOOR = 0.45  # a unit scoring under this share of the best one is not quoted beside it
# A later stk./ledd of the lead's own provision may join down to this share of the best: a
# statute states a rule in one part and its exception or alternative in the next ("Stk. 2. …
# kan dog …", "ved ethvert andet dokument, hvis …"), which repeats few of the question's words.
SUBSECTION_FLOOR = 0.25
REFERENCE_FLOOR = 0.25  # a unit citing the provision asked for may join down to this share of the best
FULL_SUPPORT_COVERAGE = 0.5  # the lead unit holds at least half the question's weight: full support
PASSAGES = 10

Period = Literal["current", "earlier", "future", "none"]

_YEAR_RANGE = re.compile(r"\b((?:19|20)\d\d)\s*[-–/]\s*((?:19|20)\d\d|\d\d)\b")
_DATE = re.compile(r"\b(\d{1,2})\.?\s+(" + "|".join(MONTHS) + r")\s+((?:19|20)\d\d)\b", re.I)
_FROM = re.compile(r"\b(?:fra|fom\.?|from|med virkning fra|gældende fra|gjeldende fra|siden|since)\s+(?:den\s+)?$",
                   re.I)
_UNTIL = re.compile(r"\b(?:til|until|to|tom\.?|frem til)\s+(?:den\s+)?$", re.I)


@dataclass(frozen=True, kw_only=True)
class QuotedUnit:
    """One unit to quote: which hit, its text, which lines to highlight, and its labels."""

    hit_index: int
    text: str
    highlight: tuple[str, ...]  # sentences (verbatim substrings of text) that answer
    kind: str
    label: str  # provision label or heading
    role: str
    period: Period
    language: str
    score: float
    # The country whose rule this is, set when more than one country may answer (a
    # comparison, or an English question naming none): each rule is then labelled.
    jurisdiction: str = ""


@dataclass(frozen=True, kw_only=True)
class Composition:
    units: list[QuotedUnit] = field(default_factory=list)
    support: Literal["full", "partial"] = "full"
    has_value: bool = True  # the lead unit carries a value of the kind asked for
    missing: tuple[str, ...] = ()  # the question's specific words no quoted unit holds


def periods(text: str) -> list[tuple[date, date]]:
    """Validity periods a text names: "2026-2027", "fra 1. januar 2026", "1. januar 2024 til
    31. december 2025". Open ends run to date.max / from date.min."""
    found: list[tuple[date, date]] = []
    for m in _YEAR_RANGE.finditer(text):
        a = int(m.group(1))
        b = int(m.group(2)) if len(m.group(2)) == 4 else int(m.group(1)[:2] + m.group(2))
        if 0 < b - a <= 5:
            found.append((date(a, 1, 1), date(b, 12, 31)))
    dates = []
    for m in _DATE.finditer(text):
        try:
            dates.append((m.start(), date(int(m.group(3)), MONTHS[m.group(2).lower()], int(m.group(1)))))
        except ValueError:
            continue
    i = 0
    while i < len(dates):
        start, d = dates[i]
        before = text[max(0, start - 30):start]
        if i + 1 < len(dates) and _UNTIL.search(text[start:dates[i + 1][0]].split(str(d.year), 1)[-1]):
            found.append((d, dates[i + 1][1]))
            i += 2
            continue
        if _FROM.search(before):
            found.append((d, date.max))
        i += 1
    return found


def period_status(text: str, heading: str, today: date, years: tuple[int, ...] = ()) -> Period:
    spans = periods(text) or periods(heading)
    if not spans:
        return "none"
    if years and any(a.year <= y <= b.year for a, b in spans for y in years):
        return "current"  # the question names this period: it is the one asked about
    if any(a <= today <= b for a, b in spans):
        return "current"
    if all(b < today for _, b in spans):
        return "earlier"
    return "future"


def hit_units(hit) -> list[Unit]:
    units = list(_stored_units(getattr(hit, "units", "") or ""))
    # Passages stored before units were recorded: derive them the same way the chunker does.
    return units or segment_units(hit.text, hit.section if getattr(hit, "provision", "") else "")


@lru_cache(maxsize=4096)
def _stored_units(units_json: str) -> tuple[Unit, ...]:
    """The units a chunk stores, parsed once per chunk (Unit is frozen: shared safely)."""
    return tuple(units_from_json(units_json))


def compose(query: Query, hits: list, *, today: date) -> Composition:
    """Choose and order the units to quote for `query` from `hits` (best hit first)."""
    concepts_matched = query.concepts if query.glossary is not None else None
    terms = terms_of(query.search_text, concepts_matched, language=query.language)
    focus = terms_of(query.text, concepts_matched, language=query.language)  # the words of the question itself weigh most
    for table in (terms, focus):
        for word in list(table):
            if query.kind == "definition" and _DEFINE_VERB.match(word):
                # "Hvordan definerer loven X?": the verb only says a definition is wanted;
                # matching it would favour every "som definert i …" over the definition of X.
                del table[word]
            elif _DOCUMENT_WORD.search(word):
                # A law's or guide's name says where to look (retrieval uses it), not what the
                # answer says: inside that document every unit "matches" it.
                table[word] = (table[word][0], min(table[word][1], 1.0))
    concepts = named_concepts(query)
    # Read once per question, not once per unit weighed (some fifty units per answer).
    subject = (_subject(query.text, query.concepts if query.glossary is not None else None)
               if query.kind == "definition" else {})
    phrase = _PhraseIndex(query.text)
    has = _ValueMemo(query)
    candidates: list[QuotedUnit] = []
    scope = query.scope
    # A question that names a provision ("Hvad siger § 6?", "FOA § 13-2") asks what that
    # provision says: its own text leads (retrieval puts it first, `boosts.provisions_first`),
    # even when it repeats none of the question's few words. Only a provision of a law the
    # jurisdiction policy lets answer is read at all (the loop below skips the others).
    named_provisions = {label for label, _, _ in parse_provisions(query.text)}
    named_units: list[QuotedUnit] = []
    for rank, hit in enumerate(hits[:PASSAGES]):
        role = getattr(hit, "role", "body") or "body"
        where = jurisdiction.of_passage(getattr(hit, "jurisdiction", ""), getattr(hit, "language", ""))
        if not jurisdiction.allowed(scope, where, label=jurisdiction.hit_label(hit), hinges=query.hinges):
            continue  # another country's rule is never the answer (`retrieval.jurisdiction`)
        if role == "sources":
            continue
        if role == "pitfalls" and not query.asks_risk:
            continue
        heading = (hit.section or "").split(" > ")[-1]
        # The document title and section path say what the passage is about: their words
        # count half ("Udfasede koder" in the BT-776 note is about BT-776's codes).
        context = " ".join(dict.fromkeys(p for p in [getattr(hit, "title", "")] + (hit.section or "").split(" > ") if p))
        heading_score = score_sentence(context, focus, True) if context else 0.0
        is_named = bool(named_provisions) and getattr(hit, "provision", "") in named_provisions
        units = hit_units(hit)
        lent = _first_part_lends(units, hit.text)
        for index, unit in enumerate(units):
            if unit.kind == "aside":
                continue
            text = unit.text(hit.text)
            scored = _scored_sentences(text, terms)
            if not scored:
                continue
            best = max(s for _, s in scored)
            # A later stk./ledd is read under its provision's first part, which names the subject
            # the later parts rule on without repeating it (`_first_part_lends`): its words count
            # like the heading's, here and in the unit's coverage below.
            above = f"{context}\n{lent[index]}" if index in lent else context
            above_score = score_sentence(above, focus, True) if index in lent else heading_score
            if best <= 0 and above_score <= 0 and not is_named:
                continue
            # The heading lending the best sentence half its words (factors.REMOVED, heading_words)
            # paid on dev only: the heading still counts in the unit's coverage (_unit_score).
            total = _unit_score(text, above, terms, focus, _answering(scored, query, has))
            total *= _kind_factor(query, text, unit, role, has)
            total *= phrase.factor(text)
            if concepts and _about_another_concept(concepts, f"{context}\n{text}", _glossary(query)):
                total *= factors.value("another_concept")
            total *= _heading_factor(heading, focus)
            total *= _submission_factor(query.text, text)
            total *= _shape_factor(query, scored, heading, subject)
            # Periods matter for figures (thresholds, amounts): "2018-2022" in a sentence about
            # a study is no validity period.
            status = period_status(text, heading, today, query.years) if _names_amount(text) else "none"
            # Current figures are preferred over older ones (which are demoted), not over text
            # that names no period at all.
            if query.wants_earlier:
                total *= {"current": factors.value("asked_earlier_current"), "earlier": factors.value("asked_earlier_earlier"),
                          "future": 1.0, "none": 1.0}[status]
            else:
                total *= {"current": 1.0, "earlier": factors.value("earlier_period"), "future": 1.0, "none": 1.0}[status]
            total *= jurisdiction.answer_factor(scope, where)
            total *= 1.0 - factors.value("rank_decay") * rank
            if total <= 0 and not is_named:
                continue
            text, highlight = _window(text, scored, query, unit.kind, has)
            candidates.append(QuotedUnit(
                hit_index=rank, text=text, highlight=highlight, kind=unit.kind,
                label=unit.label or heading, role=role, period=status,
                language=getattr(hit, "language", ""), score=round(total, 4),
                jurisdiction=where if scope.labels and where in jurisdiction.NATIONAL else "",
            ))
            if is_named:
                named_units.append(candidates[-1])
    if not candidates:
        return Composition(units=[], support="partial", has_value=False)
    candidates.sort(key=lambda u: -u.score)
    floor = RELATIVE_FLOOR * candidates[0].score
    named_units_lead = None
    if named_units:  # the named provision's best unit leads; the others keep their order
        # A provision's title line ("§ 6. Forskrift om lønns- og arbeidsvilkår …") names its
        # subject; its text says what it rules, so a unit of the text leads when there is one.
        lead = max(named_units, key=lambda u: (not _title_line(u.text), u.score, -u.hit_index))
        candidates = [lead] + [u for u in candidates if u is not lead]
        named_units_lead = lead
    chosen = [candidates[0]]
    used = len(candidates[0].text.split())
    for unit in candidates[1:]:
        if len(chosen) >= MAX_UNITS:
            break
        if unit.score < floor and not (_same_provision(unit, candidates[0])
                                       and unit.score >= SUBSECTION_FLOOR * candidates[0].score):
            continue  # sorted: past the floor only the lead provision's own parts may still join
        words_ = len(unit.text.split())
        if used + words_ > WORD_BUDGET and not _same_provision(unit, candidates[0]):
            continue
        if any(similar(unit.text, other.text) for other in chosen):
            continue
        if named_units and _title_line(unit.text):
            continue  # the label in the citation already names the provision
        if unit.period == "earlier" and not query.wants_earlier and any(c.period == "current" for c in chosen):
            continue  # the current figures are shown; the old ones would only confuse
        chosen.append(unit)
        used += words_
    if query.asks_reference and not any(_REFERENCE.search(u.text) for u in chosen):
        # "… and which article allows it?": the answer must name the provision too.
        with_reference = [u for u in candidates if u not in chosen and _REFERENCE.search(u.text)
                          and u.score >= REFERENCE_FLOOR * candidates[0].score]
        if with_reference:
            if len(chosen) >= MAX_UNITS:
                chosen.pop()
            chosen.append(with_reference[0])
    lead = chosen[0]
    lead_has_value = has(lead.text)
    # Only the sentence that asks carries what must be answered: "Vi skal renovere et skoletag.
    # Hvor mange underhåndsbud …?" asks about underhåndsbud; the roof is the situation.
    asked = {w: t for w, t in focus.items() if w in set(content_words(asking_clause(query.text)))}
    # Nor is the thing bought what a rule hinges on: the rules are stated for kinds of contract
    # (goods, services, works), so "a contract for cleaning services" is the situation, and a
    # quote about modifying contracts answers it though it never says "cleaning" (issue 22:
    # such a question was refused although the provision was the nearest source).
    bought = purchase_objects(query.text)
    asked = {w: t for w, t in asked.items() if w.lower() not in bought}
    missing = _uncovered_hinges(query, chosen, hits, asked)
    if missing and len(missing) == len(_hinges(asked)):
        # None of the question's specific words is in what would be quoted: the passages share
        # its ordinary words but are about another subject. Not an answer.
        return Composition(units=[], support="partial", has_value=False, missing=tuple(missing))
    coverage = _coverage(lead.text, focus)
    support = "full" if lead_has_value and coverage >= FULL_SUPPORT_COVERAGE and not missing else "partial"
    if named_units and lead is named_units_lead and lead_has_value and not missing:
        support = "full"  # "Hva sier § 6?": the named provision's own text is the whole answer
    return Composition(units=chosen, support=support, has_value=lead_has_value, missing=tuple(missing))


_PROVISION = re.compile(r"^\s*(?:§\s*\d+(?:-\d+)?(?:\s?[a-z]\b)?|(?:artikel|article|artikkel)\s+\d+[a-z]?)", re.I)


def _same_provision(unit: QuotedUnit, lead: QuotedUnit) -> bool:
    """Another stk./ledd of the provision the lead quotes: a statute states a rule in one
    subsection and its exception, alternative or limit in the next ("Stk. 2. … kan dog …",
    "ved ethvert andet dokument, hvis …"), so a rule is read with its own subsections. Such a
    unit may run over the word budget (it still needs the score floor and a free place)."""
    if unit.hit_index != lead.hit_index and unit.label.split(",")[0] != lead.label.split(",")[0]:
        return False
    own, other = _PROVISION.match(unit.label or ""), _PROVISION.match(lead.label or "")
    return bool(own and other and own.group(0).replace(" ", "") == other.group(0).replace(" ", ""))


TITLE_LINE_WORDS = 14  # a provision's title is one line of a few words ("§ 13. Søksmål om å kjenne …")
_TITLE_LABEL = re.compile(r"^\s*(?:§\s*\d+(?:-\d+)?\s?[a-z]?|(?:artikel|article|artikkel)\s+\d+[a-z]?)\.?\s", re.I)


def _first_part_lends(units: list[Unit], chunk_text: str) -> dict[int, str]:
    """The first part's text for each later part of the same provision in a passage, by unit index.

    A statute states a provision's subject in its first stk./ledd ("§ 78. En ordregiver skal
    inddele det enkelte innovationspartnerskab i faser …") and its later parts rule on it
    without naming it again ("Stk. 2. En ordregiver kan efter hvert delmål, jf. stk. 1, …"):
    a later part is read under the first the way a note's sentence is read under its heading.
    Only a passage that holds the provision's first part lends it (a long provision's later
    chunk starts at a later part and lends nothing); a title line (Norwegian acts) is a
    heading already counted with the section, so the first part is the first with a sentence."""
    lent: dict[int, str] = {}
    first: dict[str, tuple[str, str]] = {}  # provision -> (the first part's label, its text)
    for index, unit in enumerate(units):
        if unit.kind != "provision" or not unit.label:
            continue
        text = unit.text(chunk_text)
        base = provision_base(unit.label)
        if base not in first:
            if _title_line(text):
                continue
            if unit.label != base and not _FIRST_PART.search(unit.label):
                first[base] = ("", "")  # this passage starts at a later part: nothing to lend
            else:
                first[base] = (unit.label, text)
            continue
        label, lead = first[base]
        if lead and unit.label != label:
            lent[index] = lead
    return lent


# The first part's own label: "§ 78" (Danish stk. 1 carries no mark), "§ 78, stk. 1", "§ 13-2 (1)".
_FIRST_PART = re.compile(r"(?:,\s*stk\.\s*1|\(1\))$")


def _title_line(text: str) -> bool:
    """A provision's title line: one short line opening with its label and holding no sentence
    of its own (Norwegian acts title every section; the text follows on the next lines)."""
    return ("\n" not in text.strip() and len(text.split()) <= TITLE_LINE_WORDS
            and bool(_TITLE_LABEL.match(text)) and not text.rstrip().endswith("."))


# A question word this specific (wordfreq Zipf <= 3: under one in 10^6 running words; a name, a
# term of art, a particular thing: "barselsorlov", "innovationspartnerskab") is what the question
# hinges on: a quote that never mentions it is about something else.
HINGE_WEIGHT = 4.0


@lru_cache(maxsize=8192)
def _names_amount(text: str) -> bool:
    """Whether a unit states an amount (`VALUE["amount"]`): read once per unit text, not once
    per question that weighs it."""
    return VALUE["amount"].search(text) is not None


def _hinges(focus) -> list[str]:
    return [w for w, (_, weight) in focus.items() if weight >= HINGE_WEIGHT]


def _uncovered_hinges(query: Query, chosen: list[QuotedUnit], hits: list, focus) -> list[str]:
    """The question's specific words that no quoted unit (with its document title and section
    path) holds: by stem, a glossary equivalent, or all of a compound's parts. A lead unit in
    another language than the question cannot be judged by its words: then none is missing.
    A lead in the question's own language can, whatever language the units after it are in:
    it is what the buyer reads as the answer, and the words a buyer's question hinges on
    (wordfreq Zipf <= 3, `HINGE_WEIGHT`) are terms a passage in the same language repeats
    when it is about them (issue 22: a Danish provision about another subject was shown as
    "covers it partly" because an English unit followed it)."""
    hinges = _hinges(focus)
    if not hinges or (chosen[0].language and chosen[0].language != query.language):
        return []
    texts = []
    for unit in chosen:
        hit = hits[unit.hit_index]
        texts.append(f"{getattr(hit, 'title', '')}\n{hit.section or ''}\n{unit.text}")
    tokens = sentence_tokens("\n".join(texts), True)
    missing = []
    for word in hinges:
        if focus[word][0].found_in(tokens):
            continue
        parts = decompound(word)
        if parts and all(query_stems(p) & tokens for p in parts):
            continue
        missing.append(word)
    return missing


def _unit_score(text: str, heading: str, terms, focus, best_sentence: float) -> float:
    """How much of the question a unit covers as a whole (its heading counts half), scaled
    by how concentrated the answer is in one sentence."""
    tokens, head = sentence_tokens(_scoring_text(text), True), sentence_tokens(_scoring_text(heading), True)
    total = sum(w for _, w in focus.values()) or 1.0
    found = 0.0
    # Words taken from the conversation weigh as much as the question's own: halving them
    # changed nothing measurable (factors.REMOVED).
    for forms, w in terms.values():
        if forms.found_in(tokens):
            found += w
        elif forms.found_in(head):
            found += factors.value("heading_match") * w
    density = min(1.0, best_sentence / (1.5 * total))
    share = factors.value("density")
    return found * (1.0 - share + share * density)


# The title of an enactment a provision cites ("direktiv 2014/24/EU af 26. februar 2014 om
# offentlige udbud og om ophævelse af direktiv 2004/18/EF (EU-Tidende 2014, nr. L 94, side 65)")
# names that act, not what the provision rules: its words ("udbud", "ophævelse" = repeal) are no
# match for a question. udbudsloven cites the directive's full title 36 times. The act's number
# stays, so a question naming the directive still finds it.
_CITED_TITLE = re.compile(r"(?<=[0-9A-ZÆØÅ])\s+af\s+\d{1,2}\.\s+\w+\s+\d{4}\s+om\s+[^()]{3,400}?\s*\((?:EU|EF)-\s?Tidende[^)]*\)")


def _scoring_text(text: str) -> str:
    """`text` as weighed against the question: cited acts' titles left out (`_CITED_TITLE`)."""
    return _CITED_TITLE.sub("", text) if "Tidende" in text else text


def _scored_sentences(text: str, terms) -> list[tuple[str, float]]:
    lines = [ln for ln in text.split("\n") if ln.strip()]
    out = []
    for line in lines:
        for sentence in split_sentences(line) or ([line.strip()] if len(line.split()) >= 2 else []):
            out.append((sentence, score_sentence(_scoring_text(sentence), terms, True)))
    return out


def _kind_factor(query: Query, text: str, unit: Unit, role: str, has=None) -> float:
    has = has or _ValueMemo(query)
    factor = 1.0
    wanted = VALUE.get(query.kind)
    if wanted is not None:
        # A definition or a yes/no rule shows in its wording less surely than a figure does.
        strong = query.kind not in {"definition", "yesno"}
        if has(text):
            factor *= factors.value("has_figure") if strong else factors.value("has_rule_or_definition")
        else:
            factor *= factors.value("lacks_figure") if strong else factors.value("lacks_rule_or_definition")
    if role == "steps" and query.kind != "procedure":
        factor *= factors.value("checklist_elsewhere")
    return factor


def _answering(scored: list[tuple[str, float]], query: Query, has=None) -> float:
    """The score of the sentence that would answer: for a question that wants a value, the
    best sentence carrying one (a unit whose value sits apart from the question's words
    answers less directly)."""
    wanted = VALUE.get(query.kind)
    if wanted is not None and query.kind not in {"yesno", "definition"}:
        has = has or _ValueMemo(query)
        with_value = [score for sentence, score in scored if has(sentence)]
        if with_value:
            return max(with_value)
    # A figure question's unit whose best sentence holds no figure was halved here
    # (factors.REMOVED, answering_without_figure): lacks_figure already weighs that unit down.
    return max(score for _, score in scored)


def named_concepts(query: Query) -> list[tuple[str, list[frozenset[str]]]]:
    """The glossary concepts a question names in several words ("begrænset udbud", "uden
    udbud", "competitive dialogue"), each with its terms in any language as stem sets (one-word
    terms such as "innovationspartnerskab" included)."""
    glossary = _glossary(query)
    table = _concept_terms(glossary)
    own = set(words(query.text))
    matched = query.concepts if query.glossary is not None else glossary.match(query.text)
    # The procedure the conversation set by a statement ("Vi gennemfører et begrænset udbud.")
    # counts as named: a unit of another procedure is not its answer either.
    return [(concept.id, table[concept.id][0]) for concept, named_by in matched
            if len(named_by) >= 2 and concept.id in table
            and (named_by <= own or concept.id == query.state.procedure)]


def _glossary(query: Query):
    """The glossary the question was analysed with (the one search uses), else the configured one."""
    from assistant.text.glossary import default_glossary

    return query.glossary or default_glossary()


@lru_cache(maxsize=4)
def _concept_terms(glossary) -> dict[str, tuple[list[frozenset[str]], list[frozenset[str]]]]:
    """Per glossary concept, once: the stem sets of all its terms, and of its terms of
    several words (one stem per content word, the shortest of the three languages')."""
    out = {}
    for concept in glossary.concepts:
        terms = [(term, frozenset(min(query_stems(w), key=len) for w in content_words(term)))
                 for _, term in concept.all_terms()]
        terms = [(term, stems_) for term, stems_ in terms if stems_]
        if terms:
            out[concept.id] = ([s for _, s in terms], [s for t, s in terms if len(t.split()) >= 2])
    return out


def _about_another_concept(named: list[tuple[str, list[frozenset[str]]]], text: str, glossary) -> bool:
    """A unit that names none of the question's concepts but another one in several words
    ("udbud med forhandling" for a question on "begrænset udbud") is about something else.
    A term is named when all its words are there, inflected, in any order; compound parts
    count ("vare- og tjenesteydelseskøb" names "køb af tjenesteydelser")."""
    tokens = sentence_tokens(text, True)
    if all(any(term <= tokens for term in terms) for _, terms in named):
        return False
    ids = {cid for cid, _ in named}
    return any(term <= tokens for cid, (_, multiword) in _concept_terms(glossary).items() if cid not in ids
               for term in multiword)


@lru_cache(maxsize=4096)
def _word_sequence(text: str) -> tuple[frozenset[str], ...]:
    """Content words in reading order, a hyphenated compound as one word ("BT-776").
    Cached per text: the units of the passages search returns recur across questions."""
    return tuple(stems for w in _SEQUENCE_WORD.findall(text.lower()) if (stems := _content_stems(w)) is not None)


_SEQUENCE_WORD = re.compile(r"[\wæøåÆØÅ]+(?:-[\wæøåÆØÅ]+)*")


@lru_cache(maxsize=50_000)
def _content_stems(word: str) -> frozenset[str] | None:
    """A word's stems, None for a stop word (cached: every unit weighed reads every word)."""
    return query_stems(word) if content_words(word) else None


class _ValueMemo:
    """`has_value(query, text)` read once per text for one answer: a sentence is tested for the
    value asked for when its unit is weighed, when the answering sentence is picked and when
    the window is cut."""

    def __init__(self, query: Query):
        self.query = query
        self.seen: dict[str, bool] = {}

    def __call__(self, text: str) -> bool:
        found = self.seen.get(text)
        if found is None:
            found = self.seen[text] = has_value(self.query, text)
        return found


PHRASE_PAIRS = 4  # adjacent question word pairs that count at most


class _PhraseIndex:
    """The question's word pairs, read once: for each stem, the positions of the question
    words that hold it, so a unit's words are looked up instead of each compared with every
    question word (the composer weighs some fifty units per answer)."""

    def __init__(self, question: str):
        self.pairs = len(_word_sequence(question)) - 1
        self.where: dict[str, set[int]] = {}
        for i, stems_ in enumerate(_word_sequence(question)):
            for stem in stems_:
                self.where.setdefault(stem, set()).add(i)
        self.stems = frozenset(self.where)

    def _positions(self, stems_: frozenset[str]) -> set[int]:
        if self.stems.isdisjoint(stems_):
            return set()  # most of a unit's words: none of the question's
        found: set[int] = set()
        for stem in stems_:
            hit = self.where.get(stem)
            if hit:
                found |= hit
        return found

    def factor(self, text: str) -> float:
        """1 + the phrase factor x the question's word pairs (up to PHRASE_PAIRS) that the
        text also has side by side: a unit word pair (a, b) counts pair i when question word i
        shares a stem with a and word i + 1 one with b."""
        if self.pairs < 1:
            return 1.0
        adjacent: set[int] = set()
        before: set[int] = set()
        for stems_ in _word_sequence(text):
            here = self._positions(stems_)
            if before and here:
                adjacent.update(i for i in before if i + 1 in here and i < self.pairs)
                if len(adjacent) >= PHRASE_PAIRS:
                    break
            before = here
        return 1.0 + factors.value("phrase") * min(len(adjacent), PHRASE_PAIRS)


# The two submissions of a procedure with a selection stage, each with its own deadline
# (Directive 2014/24/EU art. 28: "time limit for receipt of requests to participate" and "of
# tenders"; udbudsloven "frist for modtagelse af ansøgninger" / "af tilbud"; FOA "forespørsler
# om å delta" / "tilbud"). Terms of art: the question's own word decides which one it asks about.
_TENDER = re.compile(r"\b(?:tilbud\w*|tenders?|bids?)\b", re.I)
_PARTICIPATION = re.compile(
    r"\b(?:ansøgning\w*|anmodning\w* om (?:at )?deltage\w*|ansøge om at deltage|forespørs[e]?l\w* om å delta|"
    r"søknad\w* om (?:å )?delta\w*|requests? to participate|applications? to participate)\b", re.I)


def _submission_factor(question: str, text: str) -> float:
    """A question about one submission (tenders, or requests to participate) and a unit that
    names only the other one: that unit's deadline or rule is a look-alike, not the answer."""
    asks_tender, asks_participation = bool(_TENDER.search(question)), bool(_PARTICIPATION.search(question))
    if asks_tender == asks_participation:
        return 1.0  # names both or neither: nothing to decide by
    names_tender, names_participation = bool(_TENDER.search(text)), bool(_PARTICIPATION.search(text))
    if asks_tender and names_participation and not names_tender:
        return factors.value("other_submission")
    if asks_participation and names_tender and not names_participation:
        return factors.value("other_submission")
    return 1.0


def _heading_factor(heading: str, focus) -> float:
    """A section whose heading restates the question ("Hvad er konkurrencepræget dialog?",
    "Deadlines in an innovation partnership") is about exactly that."""
    if not heading or not focus:
        return 1.0
    coverage = _coverage(heading, focus)
    return 1.0 + factors.value("heading_restates") * coverage if coverage >= 0.5 else 1.0


# "X er/is/betyder …", "X – …", "X: …": the cue that turns the words before it into a definiendum.
_DEFINES = re.compile(r"\s(?:er|is|are|betyder|betyr|means|refers to|betegner|omfatter)\s|\s[–—-]\s|:\s")
_RULE = re.compile(r"\b(?:må|kan|skal|may|must|shall|can|cannot|ikke lov|not allowed|kræver|krever|requires?)\b", re.I)
_REFERENCE = re.compile(r"§\s*\d|\b(?:art\.|artikel|article|artikkel)\s*\d|\b(?:FOA|LOA)\b", re.I)


def _shape_factor(query: Query, scored: list[tuple[str, float]], heading: str = "", subject=None) -> float:
    """Prefer the shape of answer the kind asks for: a definition question a sentence that
    opens with its subject and defines it; a yes/no question the rule (a modal verb with
    the provision it rests on). `subject`: `_subject` of a definition question, when the
    caller read it already."""
    if query.kind == "definition":
        if subject is None:
            subject = _subject(query.text, query.concepts if query.glossary is not None else None)
        factor = 1.0
        if subject and heading and _heads_definition(heading, subject):
            factor *= factors.value("definition_heading")
        return factor
    if query.kind == "yesno":
        # The rule: a well-matching sentence with a modal verb, in a unit that names the
        # provision it rests on (often in the sentence before: "Efter § 66 … Der kan …").
        best = max(score for _, score in scored)
        if any(score >= 0.6 * best and _RULE.search(s) for s, score in scored) and any(
                _REFERENCE.search(s) for s, _ in scored):
            return factors.value("rule_with_provision")
    return 1.0


_QUESTION_WORDS = {"hvad", "hva", "what", "er", "is", "are", "betyder", "betyr", "means", "mean", "en", "et",
                   "ei", "a", "an", "the"}


def _heads_definition(heading: str, subject) -> bool:
    """A heading that is the term itself ("Hvad er konkurrencepræget dialog?", "PCP") or
    that defines it ("`mar-nov`: Challenges the market …"); not one that only names it
    among other things ("Dialogfasen i en konkurrencepræget dialog")."""
    cue = _DEFINES.search(heading)
    if cue and _coverage(heading[:cue.start()], subject) >= 0.6:
        own = [w for w in content_words(heading[:cue.start()]) if w not in _QUESTION_WORDS]
    else:
        if _coverage(heading, subject) < 0.6:
            return False
        own = [w for w in content_words(heading) if w not in _QUESTION_WORDS]
    stems = set().union(*(s.all_stems() for s, _ in subject.values())) if subject else set()
    return bool(own) and sum(bool(query_stems(w) & stems) for w in own) / len(own) >= 0.8


_DEFINITION_CUE = re.compile(r"^\s*(?:hvad|hva|what)\s+(?:er|is|are|betyder|betyr|means|does)\s+(?:en|et|an?|the|"
                             r"begrebet|ordet|koden|udtrykket|uttrykket|the term|the code)?\s*", re.I)


_DEFINE_VERB = re.compile(r"^defin\w*$")
_HOW_DEFINED = re.compile(r"\b(?:definerer|defineres|define[sd]?|definition af|definisjon av|definition of)\s+", re.I)
_DOCUMENT_WORD = re.compile(r"(?:lov|loven|lova|forskrift\w*|direktiv\w*|directive|act|regulation|"
                            r"bekendtgørelse\w*|vejledning\w*|veiledning\w*)$", re.I)


def _subject(question: str, concepts: tuple | None = None):
    """The terms a definition question asks about: "Hvad er [konkurrencepræget dialog]?",
    "Hvordan definerer anskaffelsesforskriften [innovasjon]?"."""
    m = _DEFINITION_CUE.match(question)
    if not m:
        how = _HOW_DEFINED.search(question)
        if not how:
            return {}
        rest = " ".join(w for w in re.findall(r"[\wæøåÆØÅ-]+", question[how.end():])
                        if not _DOCUMENT_WORD.search(w) and w.lower() not in {"the", "in", "i", "by", "af", "av"})
        return terms_of(rest, concepts)
    rest = re.split(r"\b(?:i|in|på|on|under|efter|etter|ifølge|according|og|and|for|of|af|av|mean|betyder|betyr)\b|[?,]",
                    question[m.end():], maxsplit=1)[0]
    return terms_of(rest, concepts)


def terms_of(text: str, concepts: tuple | list | None = None, *, language: str | None = None) -> dict:
    """The question's terms for scoring units: a hyphenated name ("BT-776", "mar-nov")
    counts once, as the whole with its parts' stems, not three times."""
    terms = question_terms(text, concepts, language=language)
    for name in [t for t in terms if "-" in t]:
        forms, weight = terms[name]
        for part in name.split("-"):
            if part in terms and part != name:
                part_forms, part_weight = terms.pop(part)
                forms = forms | part_forms
                weight = max(weight, part_weight)
        terms[name] = (forms, weight)
    return terms


def _window(text: str, scored: list[tuple[str, float]], query: Query, kind: str,
            has=None) -> tuple[str, tuple[str, ...]]:
    """The unit's text (a long paragraph cut to the answering sentences and their
    neighbours) and the sentences to highlight."""
    wanted = VALUE.get(query.kind)
    best = max(s for _, s in scored)
    has = has or _ValueMemo(query)

    def answers(sentence: str, score: float) -> bool:
        return score >= 0.6 * best and score > 0 and (wanted is None or has(sentence) or score == best)

    highlight = [s for s, score in scored if answers(s, score)]
    if wanted is not None and query.kind not in {"yesno", "definition"}:
        # The sentence that states the value asked for is highlighted (and so kept in the
        # window) even when another sentence repeats more of the question's words.
        valued = [(s, score) for s, score in scored if score > 0 and has(s)]
        with_value = [s for s in highlight if has(s)]
        if not with_value and valued:
            with_value = [max(valued, key=lambda p: p[1])[0]]
        highlight = with_value or highlight
    highlight = highlight[:3] or [max(scored, key=lambda p: p[1])[0]]
    if kind == "list" or kind == "row" or len(text.split()) <= LONG_UNIT_WORDS:
        return text, tuple(highlight)
    sentences = [s for s, _ in scored]
    marks = [i for i, s in enumerate(sentences) if s in highlight]
    lo, hi = max(0, marks[0] - 1), min(len(sentences), marks[-1] + 2)
    while hi - lo > 1 and sum(len(s.split()) for s in sentences[lo:hi]) > LONG_UNIT_WORDS:
        if hi - 1 > marks[-1]:
            hi -= 1
        elif lo < marks[0]:
            lo += 1
        else:
            break
    window = " ".join(sentences[lo:hi])
    if lo > 0:
        window = "… " + window
    if hi < len(sentences):
        window += " …"
    return window, tuple(highlight)


def _coverage(text: str, terms) -> float:
    tokens = sentence_tokens(text, True)
    total = sum(w for _, w in terms.values())
    found = sum(w for forms, w in terms.values() if forms.found_in(tokens))
    return found / total if total else 0.0


