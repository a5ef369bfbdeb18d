"""Shared words and patterns about text, each defined once, keyed by language where words are.

Every entry says why it is there (a grammar rule, a legal term of art, a format), never which
question needed it. Modules import these instead of writing their own copy: one citation
marker for the answer and the page, one "official link" rule for ingest and the page, one
money pattern for the question analysis and the gate, one month table, one language ->
jurisdiction map.
"""

from __future__ import annotations

import re
from typing import Literal

Jurisdiction = Literal["DK", "NO", "EU", ""]

# --- languages and jurisdictions -------------------------------------------------------------

# A text in Danish is Danish law or guidance, one in Norwegian Norwegian (the two countries'
# official languages); English is the EU's and the international guides' working language,
# so it names no country by itself.
LANGUAGE_JURISDICTION: dict[str, Jurisdiction] = {"da": "DK", "nb": "NO"}
JURISDICTION_LANGUAGE: dict[str, str] = {j: lang for lang, j in LANGUAGE_JURISDICTION.items()}

# Words that name a jurisdiction: the country's name, its adjective and genitive in the three
# languages; "direktivet"/"directive" name the EU procurement directive, the one EU act the
# corpus holds.
COUNTRY_WORDS: dict[str, Jurisdiction] = {
    "denmark": "DK", "danish": "DK", "danmark": "DK", "dansk": "DK", "danske": "DK", "danmarks": "DK",
    "norway": "NO", "norwegian": "NO", "norge": "NO", "norsk": "NO", "norske": "NO", "norges": "NO",
    "eu": "EU", "eu's": "EU", "eus": "EU", "europe": "EU", "european": "EU", "europæisk": "EU",
    "europeisk": "EU", "direktivet": "EU", "directive": "EU",
}

# --- dates ------------------------------------------------------------------------------------

# Month names in Danish, Norwegian and English (validity periods: "fra 1. januar 2026").
MONTHS: dict[str, int] = {
    "januar": 1, "january": 1, "februar": 2, "february": 2, "marts": 3, "mars": 3, "march": 3,
    "april": 4, "maj": 5, "mai": 5, "may": 5, "juni": 6, "june": 6, "juli": 7, "july": 7,
    "august": 8, "september": 9, "oktober": 10, "october": 10, "november": 11, "december": 12,
    "desember": 12,
}
# Weekdays: capitalised in English, so never a name a question hinges on.
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday",
            "mandag", "tirsdag", "onsdag", "torsdag", "fredag", "lørdag", "søndag")

# --- figures ----------------------------------------------------------------------------------

# A sum of money: a number with a currency or a magnitude word ("2 mio. kr.", "5.404.000
# euro", "NOK 1,3 millioner"), or a currency before the number ("EUR 140 000").
MONEY = re.compile(
    r"\d[\d.,\s]*\d?\s*(?:kr\b|kr\.|kroner|dkk|nok|eur\b|euro|€|mio\.?|mia\.?|mill\.|"
    r"million\w*|milliard\w*|billion\w*)|(?:dkk|nok|eur|€|kr\.?)\s*\d", re.I)
# A share: "30 pct.", "25 %", "10 prosent".
SHARE = re.compile(r"\d+(?:[.,]\d+)?\s*(?:%|pct\b|procent|prosent|percent)", re.I)

# --- citations and links ----------------------------------------------------------------------

# A citation marker in an answer: "[3]" names source 3 (up to three digits: the answer may
# draw on many sources); "[3](#source-3)" is already a link and no marker.
CITATION_NUMBER = r"\d{1,3}"
CITATION_MARKER = re.compile(rf"\[({CITATION_NUMBER})\](?!\()")

# A link shown as a document's official source: https only (a page served over http can be
# altered on the way) and only the characters a URL needs, so it can be put in an href as is.
OFFICIAL_URL_BODY = r"https://[\w.-]+(?:/[\w./%#?=&+~:-]*)?"
OFFICIAL_URL = re.compile(OFFICIAL_URL_BODY + "$")


def is_official_url(url: str | None) -> bool:
    return bool(OFFICIAL_URL.match((url or "").strip()))


# --- names ------------------------------------------------------------------------------------


def _fold(text: str) -> str:
    """Lower case, with æ/ø/å folded ("DFØ" is "dfo" in a file name)."""
    return text.lower().replace("æ", "ae").replace("ø", "o").replace("å", "a")


def mentions(term: str, text: str) -> bool:
    """Whether a passage mentions a named thing, allowing inflection ("Aarhus Kommunes")."""
    low = _fold(text)
    parts = [p for p in re.split(r"[\s-]+", term) if p]
    # "BT-776-kode": the name is "BT-776"; a lower-case tail is an ordinary word.
    named = [p for p in parts if not p.islower()] or parts
    for part in (_fold(p) for p in named):
        stem = part[: max(4, len(part) - 3)] if len(part) > 5 else part
        if not re.search(rf"(?<![\wæøå]){re.escape(stem)}", low):
            return False
    return True


# --- tables of contents --------------------------------------------------------------------

# A table of contents ("1. INNOVATING THROUGH ... ......... 5" three times) names every topic
# and answers none: retrieval lets it fall back behind the passages it points to. The BM25
# snapshot records the test once per chunk (`Bm25Index.contents`).
LEADER = re.compile(r"\.{5,}|(?:\. ){4,}|…{3,}")


def is_contents(text: str) -> bool:
    """A table of contents: three or more dot leaders. Every LEADER match holds one of the
    substrings tested first: a test in C spares most texts the regex scan."""
    return ("....." in text or ". . . . " in text or "………" in text) and len(LEADER.findall(text)) >= 3
