"""Tell Danish, Norwegian (bokmål) and English apart, down to a five-word question.

Written by hand on purpose: the assistant only ever needs these three languages, and
general detectors either download models, load slowly or confuse Danish with Norwegian.
Two kinds of evidence carry the decision, each weighted by how reliably it separates the
languages:

- words: function words and common words spelt differently in the two Scandinavian
  languages (af/av, mig/meg, vandt/vant, fik/fikk), and English function words;
- spelling patterns: Norwegian kj-/gj-/sj-, øy, -het, -anse, -ene, double final
  consonants, the infinitive "å"; Danish øj, -hed, -ence, -erne, -ede, soft d.

Words shared by Danish and Norwegian ("hvor", "vi", "må", "på") are evidence against
English only. A tie between Danish and Norwegian goes to the default (Danish).
"""

from __future__ import annotations

import re

Language = str  # "da" | "nb" | "en"

_SCANDINAVIAN = set(
    "hvor hvem hvis vi må på er det og jeg du har med som til om kan ikke eller skal "
    "når hvordan hvilke mange lang lange tid år kommune kommuner leverandør leverandører "
    "kontrakt kontrakten krav tilbud også fra".split()
)

# Weight 1: usually one language; weight 3: (almost) never the other Scandinavian one.
_WORDS: dict[str, dict[str, int]] = {
    "da": {
        **dict.fromkeys(
            "hvad nogle noget meget mellem gennem uden sådan nu kun bliver blev mig dig sig "
            "ordregiver ordregiveren ordregivere udbud udbuddet udbudsloven udbudsloven tilbudsgiver "
            "tilbudsgivere mindst ansøgere ansøger vores jeres gælder kræver kræves indkøb "
            "indkøbet ydelse ydelser dage laver udvælge spørgsmål tage give ønsker virksomhed "
            "virksomheder hjælp tilbage bede købe køb hvornår efter vandt fik mod sag sæson "
            "næste penge forældre båd sit mit dit også når".split(), 1),
        **dict.fromkeys(
            "af efter hvad nogle noget meget gennem sådan udbud udbuddet ordregiver ordregiveren "
            "tilbudsgiver tilbudsgivere udbudsloven mig dig sig blev bliver vandt fik mod "
            "nogen tilbage købe hvornår".split(), 3),
    },
    "nb": {
        **dict.fromkeys(
            "hva noen noe mye mellom gjennom uten slik nå bare blir ble meg deg seg "
            "oppdragsgiver oppdragsgiveren anskaffelse anskaffelsen anskaffelser "
            "anskaffelsesloven anskaffelsesforskriften konkurranse konkurransen minst "
            "veiledning gjelder våre vår tilbyder tilbydere kreves innkjøp ytelse kunngjøring "
            "forskriften ledd dager søkere velge bedrift virksomhet hjelp gjøre ha gi ta "
            "vant fikk mot sak sesong neste penger foreldre båt sitt mitt ditt anbud lager "
            "kjøpe kjøp etter".split(), 1),
        **dict.fromkeys(
            "av etter hva noen mye slik oppdragsgiver oppdragsgiveren anskaffelse anskaffelsen "
            "anskaffelser anskaffelsesloven anskaffelsesforskriften konkurranse konkurransen "
            "meg deg seg blir ble vant fikk mot ikkje kunngjøring dager søkere gjøre innkjøp "
            "bare sitt anbud".split(), 3),
    },
    "en": {
        **dict.fromkeys(
            "the and of to is are what which when how can may must does do a an in for with "
            "we our should contract procurement tender authority buyer supplier suppliers "
            "requirements this that be by on at from you your me my it its there their who "
            "could would will have has get good give about under over into than or if yes no not "
            "any all also only after before between without".split(), 1),
        **dict.fromkeys("the is are what which does you your of and with should".split(), 2),
    },
}

# Word stems that differ between the two (Danish æ where Norwegian has e, d/g where
# Norwegian has t/k, ud-/op- against ut-/opp-); a word counts once per stem it contains,
# so compounds such as "konkurransevridende" or "tærskelværdierne" count too.
_STEMS: dict[str, tuple[str, ...]] = {
    "da": ("udbud", "ordregiv", "tilbudsgiv", "bekendtgør", "tærskel", "værdi", "ændr",
           "grænse", "væsentlig", "beløb", "søgsmål", "vejled", "udvikl", "ydelse", "indkøb",
           "klagenævn", "konkurrence", "forældre", "mængde", "næste", "afgør", "oplys",
           "ejer", "ejend", "vedtog", "overtræd", "indgå", "aftal"),
    "nb": ("konkurranse", "anskaff", "oppdragsgiv", "kunngjør", "terskel", "verdi", "endring",
           "endre", "grense", "vesentlig", "beløp", "søksmål", "veiled", "utvikl", "ytelse",
           "innkjøp", "klagenemnd", "foreldre", "mengde", "sjon", "opplys", "eier", "eiend",
           "vedtok", "overtred", "utslipp", "uttal", "plass", "tjenester", "ferje", "sesong", "inngå", "avtal"),
}
# (pattern on the joined lower-case words, language, weight)
_SPELLING: list[tuple[re.Pattern[str], str, int]] = [
    # Danish keeps gj only in gjort/gjorde/gjaldt and kj in kjole; skj is shared (skjule).
    (re.compile(r"(?<!s)kj(?!ol)[aeiouyæøå]|gj(?!ort|orde|aldt)[aeiouyæøå]"), "nb", 3),
    (re.compile(r"skj[aeiouyæøå]"), "nb", 1),
    (re.compile(r"øy"), "nb", 3),
    (re.compile(r"øj"), "da", 3),
    (re.compile(r"[a-zæøå]{2}het(?:en|er|ene)?\b"), "nb", 2),
    (re.compile(r"[a-zæøå]{2}hed(?:en|er|erne)?\b"), "da", 2),
    (re.compile(r"[a-zæøå]anse(?:n|r|ne)?\b"), "nb", 2),
    (re.compile(r"[a-zæøå]{2}erne\b"), "da", 2),
    (re.compile(r"[a-zæøå]{2}ede\b"), "da", 1),
    (re.compile(r"[a-zæøå]{3}eret\b"), "da", 2),   # kontrolleret / kontrollert
    (re.compile(r"[a-zæøå]{3}[^e ]ert\b"), "nb", 2),
    (re.compile(r"[aeiouyæøå](?:kk|tt|pp)\b"), "nb", 1),
    (re.compile(r"\bå\b"), "nb", 3),
    (re.compile(r"\binn(?!ova)[a-zæøå]{3}|\but[a-zæøå]{3}|\bopp[a-zæøå]{2}"), "nb", 1),
    (re.compile(r"\bind[a-zæøå]{3}|\bud[a-zæøå]{3}"), "da", 1),
    (re.compile(r"[a-zæøå]ei[a-zæøå]|\bei[a-zæøå]"), "nb", 1),   # eier, veiledning / ejer, vejledning
    (re.compile(r"[a-zæøå]ej[a-zæøå]|\bej[a-zæøå]"), "da", 1),
    # English spellings Danish and Norwegian do not use.
    (re.compile(r"th|wh|sh|[a-z]{2}(?:ly|ies|ings|tions)\b|[a-z]{3}(?:ed|ing)\b"), "en", 1),
    (re.compile(r"[æøå]"), "en", -3),             # never English
]
_WORD = re.compile(r"[a-zæøåäöü]+")


def language_scores(text: str) -> dict[Language, int]:
    """Evidence for each language; exposed so tests and the calibration can show it."""
    words = _WORD.findall(text[:20000].lower())
    scores = {"da": 0, "nb": 0, "en": 0}
    for w in words:
        for lang, table in _WORDS.items():
            scores[lang] += table.get(w, 0)
        if w in _SCANDINAVIAN:
            scores["en"] -= 1
    for w in words:
        for lang, stems in _STEMS.items():
            scores[lang] += sum(2 for stem in stems if stem in w)
    joined = " ".join(words)
    for pattern, lang, weight in _SPELLING:
        scores[lang] += weight * len(pattern.findall(joined))
    # Danish -tion only counts in text that is Scandinavian anyway (English has -tion too).
    if re.search(r"[æøå]", joined) or scores["da"] > scores["en"]:
        scores["da"] += len(re.findall(r"[a-zæøå]tion(?:en|er|erne)?\b", joined))
    return scores


def detect_language(text: str, default: Language = "da") -> Language:
    scores = language_scores(text)
    best = max(scores.values())
    if best <= 0:
        return default
    leaders = [lang for lang, score in scores.items() if score == best]
    return default if default in leaders else leaders[0]
