"""Tell Danish, Norwegian (bokmål) and English apart.

Written by hand on purpose: the assistant only ever needs these three languages, and
general detectors either download models, load slowly or confuse Danish with Norwegian.
Function words and spellings that differ between the two Scandinavian languages carry
the decision.
"""

from __future__ import annotations

import re

Language = str  # "da" | "nb" | "en"

_MARKERS: dict[str, set[str]] = {
    "da": set(
        "af efter hvad hvornår hvilken hvilket nogle noget meget mellem gennem uden "
        "sådan nu også bliver blev mig dig sig kun ordregiver ordregiveren udbud udbuddet "
        "udbudsloven tilbudsgiver tilbudsgivere spørgsmål øvrigt mindst hvordan vejledning "
        "ansøgere ansøger kontrakten skal gælder vores jeres deres eller ikke hvis "
        "konkurrence kræver kræves indkøb ydelse ydelser leverandører dem".split()
    ),
    "nb": set(
        "av etter hva hvilken hvilket noen noe mye mellom gjennom uten slik nå også blir "
        "meg deg seg bare oppdragsgiver oppdragsgiveren anskaffelse anskaffelsen anskaffelser "
        "anskaffelsesloven anskaffelsesforskriften konkurranse konkurransen spørsmål minst "
        "hvordan veiledning kontrakten skal gjelder våre deres eller ikke hvis tilbyder "
        "kreves innkjøp ytelse leverandører dem kunngjøring forskriften ledd".split()
    ),
    "en": set(
        "the and of to is are what which when how can may must does do a an in for with "
        "we our should contract procurement tender authority buyer supplier suppliers "
        "requirements this that be by on at from".split()
    ),
}
# Words common to Danish and Norwegian count for both; these break the tie.
_STRONG = {
    "da": {"af", "efter", "hvad", "nogle", "noget", "meget", "mellem", "gennem", "uden",
           "sådan", "udbud", "udbuddet", "ordregiver", "ordregiveren", "tilbudsgiver",
           "hvornår", "bliver", "konkurrence", "kun", "udbudsloven", "indkøb", "indkøbet", "køb",
           "købe", "dage", "laver", "udvælge", "ansøgere", "vores", "jeres", "spørgsmål", "tage",
           "give", "ønsker", "kommune", "kommunen", "virksomhed", "virksomheder", "hjælp"},
    "nb": {"av", "etter", "hva", "noen", "noe", "mye", "mellom", "gjennom", "uten", "slik",
           "anskaffelse", "anskaffelsen", "oppdragsgiver", "oppdragsgiveren", "blir",
           "konkurranse", "konkurransen", "bare", "ikkje", "kunngjøring", "dager", "kjøp",
           "innkjøp", "anskaffelser", "velge", "søkere", "vår", "våre", "spørsmål", "bedrift",
           "virksomhet", "kommunen", "hjelp", "ønsker", "hvordan", "kommune", "ha", "gjøre"} - {"ønsker", "kommune",
           "kommunen", "hvordan"},
}
_WORD = re.compile(r"[a-zæøåäöü]+")


def detect_language(text: str, default: Language = "da") -> Language:
    words = _WORD.findall(text[:20000].lower())
    if not words:
        return default
    scores = {lang: sum(w in markers for w in words) for lang, markers in _MARKERS.items()}
    for lang, strong in _STRONG.items():
        scores[lang] += 2 * sum(w in strong for w in words)
    # Spelling: Danish -tion/-else vs Norwegian -sjon/-else; Danish "aa"-free both.
    joined = " ".join(words)
    scores["nb"] += 2 * len(re.findall(r"sjon(?:en|er|ene)?\b", joined))
    scores["da"] += len(re.findall(r"[a-zæøå]tion(?:en|er|erne)?\b", joined)) * (
        1 if re.search(r"[æøå]", joined) else 0
    )
    best = max(scores, key=lambda lang: scores[lang])
    return best if scores[best] > 0 else default
