"""Automatic legal-reference check for the guidance notes in ``corpus/``.

Invariants:

- Import has no side effects; ``load_laws`` and ``check_*`` only read files, never write.
- A reference is checked only when the parser can attribute it to a law it knows
  (udbudsloven, anskaffelsesloven = LOA, anskaffelsesforskriften = FOA, directive 2014/24/EU
  or 2014/25/EU). References to other acts, or whose act is ambiguous, are skipped: the check
  prefers a missed reference to a false alarm.
- Attribution: the nearest act named before the § in the same sentence wins, then an act named
  right after it ("§ 22 of the ... Act"); otherwise a DK note means udbudsloven and a NO note
  means FOA (``§ N-M``) or LOA (``§ N``), unless the sentence names another act. EU notes use
  the nearest act named earlier in the same paragraph, else the reference is skipped.
- A law whose statute text is missing from the laws folder (``None`` in ``Laws``) is not checked.
  The laws are the statutes shipped in the corpus (found by their sidecar records), unless
  ``--laws`` names another folder.
- Every cross-reference inside a shipped statute must resolve (``check_statutes``), by the same
  attribution rules (``find_references``), which the reading page also uses to link them.
- Line numbers are 1-based lines of the note file (front matter included, checks run on the body).
- Results are deterministic: findings are de-duplicated and sorted by (note, line, ref, problem).
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import yaml

from assistant.text.sentences import sentence_spans


class Problem(StrEnum):
    UNKNOWN_PROVISION = "unknown_provision"
    WRONG_JURISDICTION = "wrong_jurisdiction"
    ARTICLE_OUT_OF_RANGE = "article_out_of_range"
    FIGURE_WITHOUT_PERIOD = "figure_without_period"
    UNRESOLVED_CROSS_REFERENCE = "unresolved_cross_reference"  # inside a shipped statute


@dataclass(frozen=True, kw_only=True)
class Finding:
    note: str
    line: int
    ref: str
    problem: Problem


@dataclass(frozen=True, kw_only=True)
class Laws:
    """Provision numbers per law, normalised ("39", "5a", "14-1", "8-12a"); None = not checked."""

    udbudsloven: frozenset[str] | None = None
    loa: frozenset[str] | None = None
    foa: frozenset[str] | None = None


@dataclass(frozen=True, kw_only=True)
class _Block:
    kind: str  # heading | item | para | row
    text: str
    line: int
    heading: str  # nearest heading above (the heading itself for a heading block)
    header: str = ""  # header row of a table


LAW_NAMES = {"DK": "udbudsloven", "LOA": "anskaffelsesloven", "FOA": "anskaffelsesforskriften"}
DIRECTIVE_ARTICLES = {"2014/24/EU": 94, "2014/25/EU": 110}

_DK_HEAD = re.compile(r"^\s*§§?\s*(\d+(?:\s?[a-z])?)(?:\s*[-–]\s*(\d+))?\s*\.", re.M)
_FOA_HEAD = re.compile(r"^\s*§\s*(\d+-\d+\s?[a-z]?)\s*\.", re.M)
# Act mentions for § attribution, in priority order (an earlier pattern claims its span).
_ACTS = [
    ("LOA", re.compile(r"\banskaffelseslov\w*|\bLOA\b|\blov(?:en)? om offentlige anskaffelser\b|LOV-2016-06-17-73"
                       r"|\bNorwegian (?:Public )?Procurement Act\b", re.I)),
    ("FOA", re.compile(r"\banskaffelsesforskrift\w*|-forskriften\b|\bFOA\b|\bforskrift(?:en)? om offentlige "
                       r"anskaffelser\b|FOR-2016-08-12-974|\bforskriften\b|\bNorwegian regulation\b"
                       r"|\bprocurement regulation\b", re.I)),
    ("DK", re.compile(r"\budbudslov\w*|\bLBK (?:nr|no)\. 116\b|\bPublic Procurement Act\b|\bDanish act\b", re.I)),
    ("OTHER", re.compile(r"\b[\wæøå-]+lov(?:a|en|ens|s)?\b|\blov(?:en)? om\b|\bforskrift(?:en)? om\b"
                         r"|\b[\wæøå]+forskrift\w*|\bbekendtgørelse(?:n|ns)?\s+(?:nr\.|§)|\bbekendtgørelsens\b"
                         r"|\bBEK\b|\bLOV-\d|\bFOR-\d|\bEØS-(?:avtalen|aftalen)\b", re.I)),
    ("OTHER", re.compile(r"\b[A-Z][a-z]+(?: [A-Z][a-z]+)* Act\b")),
    ("DKw", re.compile(r"\bDanish\b|\bDenmark\b|\bdansk\w*|\bDanmark\w*", re.I)),
    ("NOw", re.compile(r"\bNorwegian\b|\bNorway\b|\bnorsk\w*|\bNorge\w*", re.I)),
]
# Instrument mentions for directive-article attribution.
_INSTRUMENTS = [
    ("2014/25/EU", re.compile(r"2014/25|forsyningsvirksomhedsdirektiv\w*|forsyningsdirektiv\w*"
                              r"|utilities directive", re.I)),
    ("2014/24/EU", re.compile(r"2014/24", re.I)),
    ("OTHER", re.compile(r"\b\d{2,4}/\d+/(?:EU|EF|EC|EØF|EEC|EU)\b|koncessionsdirektiv\w*|konsesjonsdirektiv\w*"
                         r"|concessions? directive|\bTEUF\b|\bTFEU\b|traktat\w*|\bTreaty\b|\bEØS-\w+|\bEEA\b"
                         r"|forordning\w*|\bRegulation\b|\bGPA\b|konvention\w*|\bConvention\b|\bCharter\b"
                         r"|\bGDPR\b|\w+lov(?:en|ens|a)?\b|\bAct\b")),
    ("DIR", re.compile(r"\b\w*direktiv\w*|\bdirective\b", re.I)),
]
_SECTION = re.compile(r"§(§?)\s*")
_NUM = {"en": re.compile(r"\d+(?:-\d+)?(?:[a-h](?![\w]))?"),
        "xx": re.compile(r"\d+(?:-\d+)?(?:[ \u00a0]?[a-h](?![\wæøåÆØÅ]))?")}  # "§ 5 a"; never a list letter on the next line
_QUAL = re.compile(r"\s*\(\d+\)(?:\s*[-–]\s*\(\d+\))?|\s*\([a-z]\)"
                   r"|,?\s+(?:stk|nr|no|litra|pkt)\.?\s*(?:\d+[a-z]?|[a-z]\b)(?:\s*(?:og|and|[-–])\s*\d+)?"
                   r"|\s+(?:første|annet|andre|tredje|fjerde|femte|sjette|sju?ende|syvende|åttende|niende)\s+ledd")
_SEP = re.compile(r"\s*,\s*(?:og\s+|and\s+|or\s+|eller\s+)?|\s+(?:og|and|or|eller|samt|til|to)\s+|\s*[-–/]\s*")
_NOT_PROV = re.compile(r"\d+(?:[.,]\d+)?\s*(?:pct|procent|prosent|%|dage|dager|days|år|years|mio|mia|kr|euro|EUR)")
_ARTICLE = re.compile(r"\b(?:artikel|artikkel|artiklerne|artiklene|artikler|art\.|articles?)\s*(\d+)", re.I)
_ART_QUAL = re.compile(r"\s*\(\d+\)|\s*\([a-z]\)|,\s*(?:stk|nr|litra|no|point)\.?\s*(?:\d+|[a-z]\b)")
_ART_SEP = re.compile(r"\s*,\s*(?:og\s+|and\s+)?(?=\d)|\s+(?:og|and|or|eller|til|to)\s+(?=\d)|\s*[-–]\s*(?=\d)")
_NUMBER = r"(?<![\d.,])(?:\d{1,3}(?:[.,\u00a0\u202f ]\d{3})+(?:,\d+)?|\d+(?:,\d+)?)"
_AMOUNT = re.compile(rf"(?:\b(?:EUR|NOK|DKK)|€)\s?{_NUMBER}(?:\s?(?:mio\.|mia\.|mill\.|mrd\.|million|billion))?"
                     rf"|{_NUMBER}\s?(?:(?:mio|mia|mill|mrd)\.\s?|(?:millioner|milliarder|million|billion)\s)?"
                     r"(?:(?:norske|danske)\s)?(?:kr\.|kr\b|kroner|[Ee]uro\b|EUR\b|NOK\b|DKK\b)")
_PERIOD = re.compile(r"(?<![\w/-])(?:19|20)\d{2}(?![/\d])|fra 1\. januar|from 1 January|i perioden|in the period",
                     re.I)
_NORWAY = re.compile(r"norsk|norge|norway|norwegian", re.I)
_DENMARK = re.compile(r"dansk|danmark|denmark|danish", re.I)
_AFTER = re.compile(r"\s*(?:\([^()]*\))?\s*,?\s*(?:i|in|of|af|under)\s+(?:the\s+|den\s+|det\s+)?", re.I)


def _text(path: Path) -> str:
    raw = path.read_text(encoding="utf-8", errors="replace")
    if path.suffix.lower() in {".html", ".htm"}:
        from bs4 import BeautifulSoup

        return BeautifulSoup(raw, "html.parser").get_text("\n")
    return raw


def _provisions(path: Path | None, head: re.Pattern[str]) -> frozenset[str] | None:
    if path is None:
        return None
    found: set[str] = set()
    for m in head.finditer(_text(path)):
        found.add(_norm(m[1]))
        if m.lastindex == 2 and m[2]:  # "§§ 197-198. (Udelades)"
            found.update(str(n) for n in range(int(re.match(r"\d+", m[1])[0]), int(m[2]) + 1))
    return frozenset(found)


def statute_files(folder: Path) -> dict[str, Path]:
    """The statute text of each known act under ``folder``: a file whose sidecar record names
    the act (``act:``, the shipped corpus) wins; else the first file named after it (the
    eval corpus: ``udbudslov*``, ``anskaffelseslov*``, ``anskaffelsesforskrift*``)."""
    from assistant.ingest.loaders import SIDECAR_SUFFIX, LoadError, read_sidecar

    found: dict[str, Path] = {}
    for meta in sorted(folder.rglob(f"*{SIDECAR_SUFFIX}")):
        text = meta.with_name(meta.name[: -len(SIDECAR_SUFFIX)])
        try:
            act = read_sidecar(text).get("act", "") if text.is_file() else ""
        except LoadError:
            continue  # a broken record: sync reports it; here the name patterns may still find the law
        if act and act not in found:
            found[act] = text
    for act, pattern in (("udbudsloven", "udbudslov*"), ("anskaffelsesloven", "anskaffelseslov*"),
                         ("anskaffelsesforskriften", "anskaffelsesforskrift*")):
        if act not in found:
            match = next((p for p in sorted(folder.rglob(pattern)) if not p.name.endswith(SIDECAR_SUFFIX)), None)
            if match is not None:
                found[act] = match
    return found


def load_laws(docs: Path) -> Laws:
    """Read the statute texts under ``docs`` (see ``statute_files``); a missing text -> that law is None."""
    files = statute_files(docs)
    return Laws(udbudsloven=_provisions(files.get("udbudsloven"), _DK_HEAD),
                loa=_provisions(files.get("anskaffelsesloven"), _DK_HEAD),
                foa=_provisions(files.get("anskaffelsesforskriften"), _FOA_HEAD))


def check_statutes(folder: Path, laws: Laws) -> list[Finding]:
    """Every cross-reference inside a shipped statute (one with a sidecar record naming its act)
    resolves: "jf. § 93" in udbudsloven names a § the act has, "FOA § 13-2" in LOA one the
    regulation has. Read as the reading page shows it (the loader's sections), so a reference
    the check passes is one the page links. Reported as ``<file> (§ N)`` with line 0."""
    from assistant.ingest.loaders import SIDECAR_SUFFIX, LoadError, load_file

    known = {"udbudsloven": laws.udbudsloven, "anskaffelsesloven": laws.loa, "anskaffelsesforskriften": laws.foa}
    out: list[Finding] = []
    for meta in sorted(folder.rglob(f"*{SIDECAR_SUFFIX}")):
        path = meta.with_name(meta.name[: -len(SIDECAR_SUFFIX)])
        try:
            doc = load_file(path, folder, 50)
        except (LoadError, OSError):
            continue
        if doc.source_kind != "law" or not doc.act:
            continue
        for section in doc.sections:
            here = (section.headings or [""])[-1]
            for ref in find_references(section.text, jurisdiction=doc.jurisdiction, language=doc.language):
                numbers = known.get(ref.act)
                if numbers is None or ref.number in numbers:
                    continue
                head = section.text[:ref.sign]
                where = re.findall(r"(?m)^§\s*\d+(?:-\d+)?(?:\s?[a-z](?![a-zæøå]))?", head)
                label = where[-1] if where else (re.match(r"§\s*\d+(?:-\d+)?\s?[a-z]?", here) or [""])[0]
                out.append(Finding(note=f"{doc.source} ({label.strip() or '?'})", line=0,
                                   ref=f"{ref.act} § {ref.number}", problem=Problem.UNRESOLVED_CROSS_REFERENCE))
    return sorted(set(out), key=lambda f: (f.note, f.line, f.ref, f.problem))


def _norm(num: str) -> str:
    return re.sub(r"\s+", "", num).lower()


def _front_matter(raw: str) -> tuple[dict, list[str], int]:
    lines = raw.splitlines()
    if lines and lines[0].strip() == "---":
        for i in range(1, len(lines)):
            if lines[i].strip() == "---":
                meta = yaml.safe_load("\n".join(lines[1:i])) or {}
                return (meta if isinstance(meta, dict) else {}), lines[i + 1:], i + 2
    return {}, lines, 1


def _blocks(lines: list[str], first: int) -> list[_Block]:
    blocks: list[_Block] = []
    cur: list[str] = []
    kind, start, heading, header, fence, in_table = "para", 0, "", "", False, False

    def close() -> None:
        if cur:
            blocks.append(_Block(kind=kind, text="\n".join(cur), line=start, heading=heading))
            cur.clear()

    for i, line in enumerate(lines):
        s, n = line.strip(), first + i
        was_table, in_table = in_table, s.startswith("|")
        if s.startswith("```"):
            close()
            fence = not fence
        elif fence:
            continue
        elif not s:
            close()
        elif s.startswith("#"):
            close()
            heading = s.lstrip("#").strip()
            blocks.append(_Block(kind="heading", text=heading, line=n, heading=heading))
        elif in_table:
            close()
            header = header if was_table else s
            if not re.fullmatch(r"[|\s:-]+", s):
                blocks.append(_Block(kind="row", text=s, line=n, heading=heading, header=header))
        elif re.match(r"\s*(?:[-*+]|\d+[.)])\s+", line):
            close()
            kind, start = "item", n
            cur.append(line)
        else:
            if not cur:
                kind, start = "para", n
            cur.append(line)
    close()
    return blocks


def _sentences(text: str) -> list[tuple[int, int]]:
    return sentence_spans(text) or [(0, len(text))]


def _mentions(text: str, patterns: list[tuple[str, re.Pattern[str]]]) -> list[tuple[int, int, str]]:
    found: list[tuple[int, int, str]] = []
    for kind, pattern in patterns:
        for m in pattern.finditer(text):
            if not any(m.start() < e and s < m.end() for s, e, _ in found):
                found.append((m.start(), m.end(), kind))
    return sorted(found)


def _attribute(mentions: list[tuple[int, int, str]], sent: tuple[int, int], start: int, end: int,
               text: str, after: int = 25, bad: frozenset[str] = frozenset()) -> str | None:
    """The mention kind nearest before ``start`` in the sentence, else one right after ``end``.

    A mention of a kind in ``bad`` counts only when it is adjacent ("LOA § 7-9"); otherwise an
    earlier mention is tried ("Forskriften ... LOA § 5, og § 7-9" -> FOA for § 7-9)."""
    before = [(e, k) for s, e, k in mentions if sent[0] <= s and e <= start]
    for e, k in reversed(before):
        if k not in bad or re.fullmatch(r"[\s(),]*", text[e:start]):
            return k
    m = _AFTER.match(text, end)
    if m:
        near = [k for s, _, k in mentions if m.end() <= s <= m.end() + after and s < sent[1]]
        strong = [k for k in near if not k.endswith("w")]
        return (strong or near or [None])[0]
    return None


def _section_law(jur: str, mentions, sent, start, end, text, hyphen: bool, note_acts: set[str]) -> str | None:
    bad = frozenset({"DK", "DKw", "LOA"}) if hyphen else frozenset()  # "§ 7-9" is no DK/LOA number
    kind = _attribute(mentions, sent, start, end, text, bad=bad)
    in_sentence = {k for s, _, k in mentions if sent[0] <= s < sent[1]}
    if kind is None and jur == "DK":
        kind = None if in_sentence & {"OTHER", "LOA", "FOA", "NOw"} else "DK"
    elif kind is None and jur == "NO":
        kind = None if in_sentence & {"OTHER", "DK", "DKw"} else "NO"
    elif kind is None:  # EU note: the act named last before it in the paragraph, else the note's only one
        kind = next((k for s, e, k in reversed(mentions) if e <= start), None)
        if kind is None and "OTHER" not in in_sentence:
            kind = "FOA" if hyphen and "FOA" in note_acts else "DK" if {"DK"} == note_acts & {"DK", "LOA"} else None
    if kind == "DKw":
        return "DK"
    if kind == "NOw":
        return "NOF" if jur == "DK" else "NO"
    return None if kind == "OTHER" else kind


@dataclass(frozen=True, kw_only=True)
class Reference:
    """One provision a text refers to: `text[start:end]` is its number ("93", "13-2", "5 a")."""

    start: int
    end: int
    act: str  # udbudsloven | anskaffelsesloven | anskaffelsesforskriften (LAW_NAMES values)
    number: str  # normalised as in `Laws` ("93", "5a", "13-2")
    sign: int  # where its "§" starts (a link may cover "§ 93" for the first number)


def document_acts(text: str) -> set[str]:
    """The acts a whole document names (an EU note's bare "§" falls back on its only act)."""
    return {k for *_, k in _mentions(text, _ACTS)}


def find_references(text: str, *, jurisdiction: str, language: str = "",
                    note_acts: set[str] | None = None) -> list[Reference]:
    """Every § reference in `text` attributed to a known act, by the rules in the module
    docstring: the reference check and the reading page's cross-reference links share them.
    `jurisdiction` is the text's own (DK, NO, EU): a bare "§ 93" in a Danish text is
    udbudsloven, in a Norwegian one LOA (§ N) or FOA (§ N-M)."""
    refs: list[Reference] = []
    jur = jurisdiction.upper()
    if note_acts is None:
        note_acts = document_acts(text)
    bounds = [0] + [b for m in re.finditer(r"\n\s*\n", text) for b in (m.start(), m.end())] + [len(text)]
    for offset, end in zip(bounds[::2], bounds[1::2]):  # paragraph by paragraph, as the check reads notes
        _, found = _scan(text[offset:end], jur, language, note_acts)
        refs += [Reference(start=r.start + offset, end=r.end + offset, act=r.act, number=r.number,
                           sign=r.sign + offset) for r in found]
    return refs


def _scan(text: str, jur: str, lang: str, note_acts: set[str]) -> tuple[list[tuple[int, int, list[str], str | None, bool]], list[Reference]]:
    """(per § sign: its start, end of its numbers, the numbers, the law kind, multi) and the references."""
    mentions = _mentions(text, _ACTS)
    sents = _sentences(text)
    num_re = _NUM["en" if lang == "en" else "xx"]
    signs: list[tuple[int, int, list[str], str | None, bool]] = []
    refs: list[Reference] = []
    for m in _SECTION.finditer(text):
        multi, pos, nums, spans = bool(m[1]), m.end(), [], []
        while (n := num_re.match(text, pos)) is not None:
            nums.append(_norm(n[0]))
            spans.append((n.start(), n.end()))
            pos = n.end()
            while (q := _QUAL.match(text, pos)) is not None and q.end() > pos:
                pos = q.end()
            s = _SEP.match(text, pos) if multi else None
            if s is None or _NOT_PROV.match(text, s.end()) or not num_re.match(text, s.end()):
                break
            pos = s.end()
        if not nums:
            continue
        sent = next(sp for sp in sents if sp[0] <= m.start() <= sp[1])
        law = _section_law(jur, mentions, sent, m.start(), pos, text, not multi and "-" in nums[0], note_acts)
        signs.append((m.start(), pos, nums, law, multi))
        for num, (a, b) in zip(nums, spans):
            elem_law = {"NO": "FOA" if "-" in num else "LOA",
                        "NOF": "FOA" if "-" in num else None}.get(law or "", law)
            if elem_law in LAW_NAMES:
                first = re.match(r"\d+", num)[0] if elem_law != "FOA" and "-" in num else num
                if first != num:  # "§§ 95-100" in the Danish act or LOA: a range, linked at its start
                    b = a + len(first)
                refs.append(Reference(start=a, end=b, act=LAW_NAMES[elem_law], number=first, sign=m.start()))
    return signs, refs


def _section_refs(block: _Block, jur: str, lang: str, laws: Laws, note: str, note_acts: set[str]) -> list[Finding]:
    out: list[Finding] = []
    text = block.text
    signs, _ = _scan(text, jur, lang, note_acts)
    for start, _pos, nums, law, multi in signs:
        line = block.line + text.count("\n", 0, start)
        for num in nums:
            elem_law = {"NO": "FOA" if "-" in num else "LOA",
                        "NOF": "FOA" if "-" in num else None}.get(law or "", law)
            if elem_law is None:
                continue
            parts = [num]
            a, _, b = num.partition("-")
            if elem_law != "FOA" and multi and b.isdigit() and int(b) > int(re.match(r"\d+", a)[0]):
                parts = [a, b]  # "§§ 95-100": check both ends
            known = {"DK": laws.udbudsloven, "LOA": laws.loa, "FOA": laws.foa}[elem_law]
            for p in parts:
                ref = f"{LAW_NAMES[elem_law]} § {p}"
                if known is not None and p not in known:
                    out.append(Finding(note=note, line=line, ref=ref, problem=Problem.UNKNOWN_PROVISION))
            ref = f"{LAW_NAMES[elem_law]} § {num}"
            if jur == "DK" and elem_law in {"LOA", "FOA"} and not _NORWAY.search(text):
                out.append(Finding(note=note, line=line, ref=ref, problem=Problem.WRONG_JURISDICTION))
            if jur == "NO" and elem_law == "DK" and not _DENMARK.search(text):
                out.append(Finding(note=note, line=line, ref=ref, problem=Problem.WRONG_JURISDICTION))
    return out


def _article_refs(block: _Block, note: str, directive_note: bool) -> list[Finding]:
    out: list[Finding] = []
    text, mentions = block.text, _mentions(block.text, _INSTRUMENTS)
    sents = _sentences(text)
    for m in _ARTICLE.finditer(text):
        nums, pos = [int(m[1])], m.end(1)
        while True:
            while (q := _ART_QUAL.match(text, pos)) is not None:
                pos = q.end()
            s = _ART_SEP.match(text, pos)
            if s is None or not (n := re.match(r"\d+", text[s.end():])):
                break
            nums.append(int(n[0]))
            pos = s.end() + n.end()
        sent = next(sp for sp in sents if sp[0] <= m.start() <= sp[1])
        kind = _attribute(mentions, sent, m.start(), pos, text, after=40)
        if kind is None:
            kind = next((k for s, e, k in reversed(mentions) if e <= m.start()), None)
        if kind is None and directive_note and not any(k == "OTHER" for *_, k in mentions):
            kind = "DIR"
        if kind == "DIR":  # a bare "direktivet": the nearest numbered directive before it, else 2014/24
            kind = next((k for s, e, k in reversed(mentions) if e <= m.start() and "/" in k), "2014/24/EU")
        if kind not in DIRECTIVE_ARTICLES:
            continue
        line = block.line + text.count("\n", 0, m.start())
        for n in nums:
            if not 1 <= n <= DIRECTIVE_ARTICLES[kind]:
                out.append(Finding(note=note, line=line, ref=f"direktiv {kind} art. {n}",
                                   problem=Problem.ARTICLE_OUT_OF_RANGE))
    return out


def _figures(block: _Block, note: str) -> list[Finding]:
    out: list[Finding] = []
    spans = [(0, len(block.text))] if block.kind in {"item", "row"} else _sentences(block.text)
    for m in _AMOUNT.finditer(block.text):
        sent = next(sp for sp in spans if sp[0] <= m.start() <= sp[1])
        context = "\n".join([block.text[sent[0]:sent[1]], block.heading, block.header])
        if not _PERIOD.search(context):
            out.append(Finding(note=note, line=block.line + block.text.count("\n", 0, m.start()),
                               ref=m[0].strip(), problem=Problem.FIGURE_WITHOUT_PERIOD))
    return out


def check_note(path: Path, laws: Laws, *, name: str | None = None) -> list[Finding]:
    """Check one note; ``name`` is how the note is reported (default: the path as given)."""
    note = name or path.as_posix()
    meta, body, first = _front_matter(path.read_text(encoding="utf-8"))
    jur = meta.get("jurisdiction")
    jur = "NO" if jur is False else str(jur or "").upper()  # YAML 1.1 reads a bare NO as False
    lang = str(meta.get("language") or "").lower()
    topics = " ".join(map(str, meta.get("topics") or [])).lower().replace("æ", "ae")
    threshold = any(w in f"{topics} {path.name.lower()}" for w in ("taerskel", "terskel", "threshold"))
    directive_note = bool(re.search(r"2014/2[45]|direktiv|directive", "\n".join(body), re.I))
    note_acts = {k for *_, k in _mentions("\n".join(body), _ACTS)}
    findings: list[Finding] = []
    for block in _blocks(body, first):
        findings += _section_refs(block, jur, lang, laws, note, note_acts)
        findings += _article_refs(block, note, directive_note)
        if threshold:
            findings += _figures(block, note)
    return sorted(set(findings), key=lambda f: (f.note, f.line, f.ref, f.problem))


def check_corpus(corpus: Path, laws: Laws) -> list[Finding]:
    """Check every ``*.md`` note under ``corpus``; notes are named relative to it."""
    from assistant.ingest.loaders import is_folder_note

    return [f for p in sorted(corpus.rglob("*.md")) if not is_folder_note(p.name)
            for f in check_note(p, laws, name=p.relative_to(corpus).as_posix())]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m assistant.corpus.refcheck", description=__doc__.splitlines()[0])
    parser.add_argument("corpus", nargs="?", type=Path, default=Path("corpus"), help="notes folder (corpus/)")
    parser.add_argument("--laws", type=Path, default=None,
                        help="folder with the statute texts (default: the corpus folder, whose shipped statutes "
                             "carry sidecar records; else files named udbudslov*, anskaffelseslov*, "
                             "anskaffelsesforskrift*)")
    args = parser.parse_args(argv)
    args.laws = args.laws or args.corpus
    for label, folder in (("corpus", args.corpus), ("laws", args.laws)):
        if not folder.is_dir():
            print(f"refcheck: {label} folder not found: {folder.resolve()}", file=sys.stderr)
            return 2
    laws = load_laws(args.laws)
    for field, text in (("udbudsloven", "udbudslov*"), ("loa", "anskaffelseslov*"), ("foa", "anskaffelsesforskrift*")):
        if getattr(laws, field) is None:
            print(f"refcheck: no {text} file in {args.laws}; {field} references are not checked", file=sys.stderr)
    findings = check_corpus(args.corpus, laws) + check_statutes(args.corpus, laws)
    if findings and sys.stdout.isatty():
        from rich.console import Console
        from rich.table import Table

        table = Table("note", "line", "ref", "problem", title=f"{len(findings)} legal-reference findings")
        for f in findings:
            table.add_row(f.note, str(f.line), f.ref, str(f.problem))
        Console().print(table)
    elif findings:  # plain, greppable lines when piped
        print("\n".join(f"{f.note}:{f.line}: {f.problem}: {f.ref}" for f in findings))
    if findings:
        return 1
    print(f"refcheck: no findings in {args.corpus}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
