"""The one sentence splitter: where a sentence of a legal or guidance text (or of a question)
ends, in Danish, Norwegian and English.

A full stop ends a sentence only when the next word opens one (a capital, a digit, "§", a
quotation mark or bracket) and the word before it is no abbreviation. Legal texts are full
of abbreviations followed by a capital or a number ("jf. Prop. 51 L", "stk. 2", "§ 39. Stk.
2"): splitting there cut quotes and started bold mid-sentence. Everything that splits
sentences (the composer, the sentence picker, the question's asking clause, the citation
check, the reference check) uses this module.
"""

from __future__ import annotations

import re

# Abbreviations after which a full stop does not end the sentence, each with its reason.
# Keys are lower case, without the final stop ("bl.a." -> "bl.a").
ABBREVIATIONS: dict[str, str] = {
    # Legal references (da/nb): a provision's parts are numbered after an abbreviation.
    "stk": "da 'stykke', sub-section of a §: 'stk. 2'",
    "nr": "da/nb 'nummer': 'nr. 3', 'lov nr. 1564'",
    "pkt": "da/nb 'punkt': 'pkt. 2'",
    "jf": "da/nb 'jævnfør/jamfør' (cf.), followed by the reference it points to",
    "jfr": "nb 'jamfør', older spelling of jf.",
    "art": "da/nb/en 'artikel/artikkel/article': 'art. 32'",
    "prop": "nb/da 'proposisjon/proposition', a bill: 'Prop. 51 L (2015-2016)', 'L 19'",
    "ot.prp": "nb 'Odelstingsproposisjon', older bill: 'Ot.prp. nr. 71'",
    "st.prp": "nb 'Stortingsproposisjon': 'St.prp. nr. 1'",
    "innst": "nb 'innstilling', committee report: 'Innst. 358 L'",
    "bet": "da 'betænkning', committee report: 'bet. nr. 1564'",
    "lbk": "da 'lovbekendtgørelse', consolidated act: 'lbk. nr. 1564'",
    "bek": "da 'bekendtgørelse', executive order: 'bek. nr. 1572'",
    "kap": "da/nb 'kapitel/kapittel': 'kap. 5'",
    "afsn": "da 'afsnit', section of a text",
    "para": "en 'paragraph': 'para. 4'",
    "sec": "en 'section': 'sec. 3'",
    "no": "en 'number': 'No. 5', 'Directive 2014/24/EU, No. 1'",
    "vol": "en 'volume'",
    "fig": "da/nb/en 'figure': 'fig. 2'",
    "s": "da/nb 'side' (page): 's. 12'",
    "p": "en 'page': 'p. 12'",
    "pp": "en 'pages': 'pp. 12-14'",
    # Ordinary abbreviations of running text, each followed by a word that may be capitalised
    # (a name, a law, a number).
    "f.eks": "da/nb 'for eksempel' (e.g.)",
    "fx": "da 'for eksempel' (e.g.)",
    "bl.a": "da/nb 'blandt andet/blant annet' (among others)",
    "m.v": "da 'med videre' (etc.)",
    "mv": "da 'med videre' (etc.), without inner stop",
    "m.m": "nb 'med mer' (etc.)",
    "o.l": "da/nb 'og lignende/liknende' (and the like)",
    "osv": "da/nb 'og så videre' (etc.)",
    "etc": "en/da 'et cetera'",
    "dvs": "da/nb 'det vil sige/si' (i.e.)",
    "evt": "da/nb 'eventuelt' (possibly)",
    "inkl": "da/nb 'inklusive'",
    "ekskl": "da/nb 'eksklusive'",
    "ca": "da/nb/en 'cirka'",
    "e.g": "en 'for example'",
    "i.e": "en 'that is'",
    "cf": "en 'compare', followed by a reference",
    "vs": "en/da 'versus'",
    "kr": "da/nb 'kroner': 'kr. 500.000' (after a number it may end the sentence: UNITS)",
    "mio": "da 'millioner': '2 mio. kr.'",
    "mia": "da 'milliarder'",
    "pct": "da 'procent': '25 pct. af'",
    "jan": "month abbreviation",
    "feb": "month abbreviation",
    "aug": "month abbreviation",
    "sep": "month abbreviation",
    "sept": "month abbreviation",
    "okt": "da/nb month abbreviation",
    "oct": "en month abbreviation",
    "nov": "month abbreviation",
    "dec": "month abbreviation",
    "des": "nb month abbreviation",
    "mr": "en title before a name",
    "mrs": "en title before a name",
    "dr": "title before a name",
}

# Units written after a number ("500.000 kr.", "25 pct."): the number phrase often ends the
# sentence, so before a capitalised word their stop ends it ("… 2 mio. kr. Hvor mange …?");
# before a number or a lower-case word it does not ("kr. 500.000", "2 mio. kr. om året").
UNITS = frozenset({"kr", "mio", "mia", "pct"})

# The marker that opens a list item: a bullet, a number or a letter in brackets.
LIST_ITEM = re.compile(r"^\s*(?:[-•·*]|\d+[.)]|\([0-9a-z]\))\s+")

# A candidate end: a stop before a word that opens a sentence, a blank line, or a line break
# before a list item ("- ", "1. ", "(a) ").
_END = re.compile(r"[.!?](?=\s+[\"'(«“*]?[A-ZÆØÅÀ-ÖØ-Þ§0-9])|\n{2,}|\n(?=[-•·*]\s|\d+[.)]\s|\([0-9a-z]\)\s)")
# "§ 39.", "stk. 2.", "artikel 31." before a capital: the number belongs to the reference,
# and what follows ("Stk. 2", a heading) is handled by the sub-section rule below.
_REFERENCE_BEFORE = re.compile(r"(?:§§?|stk\.|nr\.|artikel|article|artikkel)\s*\d+[a-z]?$", re.I)


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence of `text`, whitespace around it excluded."""
    spans: list[tuple[int, int]] = []
    start = 0
    for match in _END.finditer(text):
        stop = match.group(0) in ".!?"
        end = match.end() if stop else match.start()
        if match.group(0) == "." and not _opens_subsection(text, match.end()) and _no_end(
                text[start:end], after=text[match.end():match.end() + 3].lstrip()[:1]):
            continue
        _add(spans, text, start, end)
        start = match.end()
    _add(spans, text, start, len(text))
    return spans


def split_sentences(text: str, *, min_words: int = 1) -> list[str]:
    """The sentences of `text`, inner whitespace collapsed; those shorter than `min_words`
    (a lone heading word, a page number) dropped."""
    out = [re.sub(r"\s+", " ", text[a:b]) for a, b in sentence_spans(text)]
    return [s for s in out if len(s.split()) >= min_words]


def _opens_subsection(text: str, at: int) -> bool:
    # "… tilbud. Stk. 2. …": a new sub-section always starts a new sentence.
    return text[at:].lstrip().startswith(("Stk.", "("))


def _no_end(before: str, after: str = "") -> bool:
    """Whether the stop that ends `before` is no sentence end: an abbreviation (a unit after a
    number only before a number), a reference number ("§ 39."), or a bare number (an ordinal:
    "1. januar", "2. Ledd"). `after`: the first character after the stop."""
    before = before.rstrip(".!? ")
    last = before.rsplit(None, 1)[-1].lower() if before.split() else ""
    last = last.lstrip("(\"'«“")
    word = last.rstrip(".")
    if word in UNITS and after.isalpha() and re.search(r"\d[\d.,]*\s*(?:\w+\.?\s+)?" + re.escape(word) + r"$", before, re.I):
        return False  # "… 500.000 kr. Det svarer …": the amount ended the sentence
    if word in ABBREVIATIONS:
        return True
    if _REFERENCE_BEFORE.search(before):  # "§ 9." is a reference, not an ordinal
        return _heading_reference(before)
    return bool(re.fullmatch(r"\d+", last))


def _heading_reference(before: str) -> bool:
    """A reference number whose stop opens a provision ("§ 39. Ordregiveren …", "Stk. 2. …")
    is no sentence end: the reference is all the line holds. In running text the stop after a
    reference ends the sentence ("… jf. § 9. Se også …")."""
    match = _REFERENCE_BEFORE.search(before)
    if not match:
        return False
    line_start = before.rfind("\n", 0, match.start()) + 1
    return not before[line_start:match.start()].strip()


def _add(spans: list[tuple[int, int]], text: str, start: int, end: int) -> None:
    piece = text[start:end]
    if not piece.strip():
        return
    lead = len(piece) - len(piece.lstrip())
    trail = len(piece) - len(piece.rstrip())
    spans.append((start + lead, end - trail))
