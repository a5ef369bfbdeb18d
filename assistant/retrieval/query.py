"""What a question asks for, read once: its language, the kind of answer it wants, whether it
refers back to the conversation, the years and countries it names, and the terms it hinges on.

Pure functions over the question text (and the earlier questions), shared by both answer modes,
so the offline composer, the LLM's condense step and the abstention rule decide alike.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Callable, Iterable, Literal

from assistant.retrieval.conversation import (  # noqa: F401  (re-exported: the follow-up rules)
    MAX_TURNS,
    PROCEDURES,
    ConversationState,
    definite_reference,
    refers_back,
    resolve,
    standalone_question,
    topic_words,
)
from assistant.retrieval.jurisdiction import Scope, scope_of
from assistant.text.lexicon import COUNTRY_WORDS, MONEY, MONTHS, SHARE, WEEKDAYS, mentions
from assistant.text.sentences import split_sentences
from assistant.text.words import content_words, query_stems, words

if TYPE_CHECKING:
    from assistant.text.glossary import Glossary

AnswerKind = Literal["deadline", "count", "amount", "share", "yesno", "definition", "procedure", "other"]

# Question cues per kind, in Danish, Norwegian and English (first match in this order wins,
# except that yes/no is only the kind when nothing more specific is asked).
_KIND_CUES: list[tuple[AnswerKind, re.Pattern]] = [
    ("deadline", re.compile(r"\b(\w*frist\w*|time limits?|(?:hvor mange|how many)\s+(?:år|years)|dage|dager|days?|uger|uker|weeks?|måneder|måneder|months?|"
                            r"hvor længe|hvor lenge|how long|hvor lang tid|hvor lang|hvor kort|how soon|deadline\w*|"
                            r"standstill\w*|karens\w*|senest|"
                            # "Hvornår skal …?" / "When must …?" asks for a time only with a time word
                            # after it ("hvornår skal tilbuddet senest afgives", "… inden for hvilken
                            # periode"); bare, it asks for the conditions ("hvornår skal en leverandør
                            # udelukkes?" is answered by the grounds, not a period).
                            r"(?:hvornår|når|when)\s+(?:skal|must|shall)\b(?=.*\b(?:tidspunkt\w*|tidspunkt|time|"
                            r"dato\w*|date|periode\w*|period)\b))\b", re.I)),
    ("share", re.compile(r"(\bpct\b|\bprocent\w*|\bprosent\w*|%|\bpercent\w*|\bvægt\w*|\bvekt\w*|\bweight\w*|"
                         r"\bandel\w*)", re.I)),
    ("amount", re.compile(r"\b(beløb\w*|beløp\w*|tærskelværdi\w*|terskelverdi\w*|threshold\w*|euro|eur|"
                          r"kroner|kr|dkk|nok|hvor meget|hvor mye|how much|værdi(?:en)?|verdi(?:en)?|"
                          # A "grænse" is a limit, but "grænseoverskridende" (cross-border, the term
                          # of art "klar grænseoverskridende interesse", udbudsloven § 11; directive
                          # "certain cross-border interest") names a border: no value is asked for.
                          r"grænse(?!overskrid)\w*|grense(?!overskrid)\w*|bagatel\w*|gebyr\w*|bøde\w*|fine\w*)\b",
                          re.I)),
    ("count", re.compile(r"\b(hvor mange|how many|mindst|minst|at least|antal\w*|number of|højst|maks\w*)\b",
                         re.I)),
    ("definition", re.compile(r"\b(hvordan defineres|hvordan definerer|how is \S+(?: \S+){0,3} defined|"
                              r"how does \S+(?: \S+){0,3} define|hva menes med|hvad menes med)\b|^\s*(hvad er|hva er|hvad betyder|hva betyr|what is|what are|what does|"
                              r"what's|define|definer|hvad forstås|hva menes)\b", re.I)),
    ("procedure", re.compile(r"\b(hvordan|how do|how can|how should|how to|hvilke trin|which steps|"
                             r"fremgangsmåde|steg for steg|step by step)\b", re.I)),
    ("yesno", re.compile(r"^\s*(må|kan|skal|bør|er det|gælder|gjelder|har|may|can|must|should|is it|"
                         r"are we|do we|does|is|er)\b", re.I)),
]
# What a value of each kind looks like in a passage ("35 dage", "mindst tre ansøgere",
# "5.404.000 euro", "30 pct."): the composer leads with a unit that has one, and retrieval
# prefers passages that have one.
VALUE = {
    "deadline": re.compile(r"\b(?:\d+|to|tre|fire|fem|seks|syv|sju|otte|åtte|ni|ti|tolv|two|three|four|five|"
                           r"six|seven|eight|nine|ten|twelve)\s*(?:kalender|arbejds|virke)?(?:dage|dager|days?|uger|uker|weeks?|"
                           r"måneder|months?|år|years?|timer|hours?)\b|\bsenest\b|\bno later than\b", re.I),
    # "indtil"/"inntil" is "up to" as well as "until": a maximum before a number not followed by
    # a month ("indtil de 3 seneste regnskabsår", "inntil fire år"; not "indtil 1. januar").
    "count": re.compile(r"\b(?:mindst|minst|at least|højst|høyst|maks\w*|op til|opp til|up to|"
                        r"no more than|ikke flere end|fewer than|flere end|mere end|færre end|flere enn|"
                        r"mer enn|færre enn|more than|indtil|inntil)\s+(?:(?:de|dei|the)\s+)?"
                        r"(?!\d+\.\s*(?:" + "|".join(MONTHS) + r")\b)(?:\d+|en|et|én|to|tre|fire|fem|seks|"
                        r"syv|sju|otte|åtte|ni|ti|one|two|three|four|five|six|ten)\b|\b(?:\d+|to|tre|fire|fem|"
                        r"two|three|four|five)\s+(?:ansøgere|kandidater|candidates|leverandører|"
                        r"suppliers|tilbudsgivere|deltakere|partners?|operatører)\b", re.I),
    "amount": MONEY,
    "share": SHARE,
    "yesno": re.compile(r"\b(?:må|kan|skal|bør|kræver|krever|tillad\w*|tillat\w*|forbud\w*|forbudt|"
                        r"may|must|shall|can|cannot|allowed|permitted|prohibited|required|"
                        r"lov til|ikke lov|er ikke|is not|ikke)\b", re.I),
    "definition": re.compile(r"\b(?:er en|er et|er den|er det|betyder|betegner|forstås|defineres|"
                             r"menes|betyr|is a|is an|is the|means|refers to|defined as)\b", re.I),
}

# A period counted back from a deadline ("senest 6 dage før udløbet af fristen", "seks dager før
# tilbudsfristen", "no later than six days before the time limit") is the deadline of another act
# (answering questions, giving more information), measured from the one asked about: not its value.
_COUNTED_BACK = re.compile(
    r"(?:\b(?:senest|no later than|mindst|minst|at least)\s+)?\b(?:\d+|to|tre|fire|fem|seks|syv|sju|otte|åtte|ni|"
    r"ti|tolv|two|three|four|five|six|seven|eight|nine|ten|twelve)\s*(?:kalender|arbejds|virke)?(?:dage|dager|"
    r"days?|uger|uker|weeks?|måneder|months?|timer|hours?)\s+(?:før|inden|forud for|before|prior to)\s+"
    r"(?:(?:udløbet|utløpet|the expiry|the end)\b|(?:den |the )?[\wæøå]*frist\w*|(?:the )?(?:time limits?|deadlines?))",
    re.I)
# A period of days, weeks or months ("30 kalenderdage", "fem dager", "10 days"), as the two rules
# below read it after their number.
_PERIOD_UNIT = r"(?:kalender|arbejds|virke)?(?:dage|dager|days?|uger|uker|weeks?|måneder|months?)\b"

# Likewise the period a deadline is extended by ("forlenge tilbudsfristen med fem dager", "forlænge
# fristen med 5 dage", "extend the time limit by five days") changes the deadline; it is not its length.
_EXTENDED_BY = re.compile(
    r"\b(?:forlæng\w*|forleng\w*|extend\w*)\s+(?:[\wæøå-]+\s+){0,3}(?:med|by)\s+(?:\d+|en|et|én|to|tre|fire|fem|"
    r"seks|syv|sju|otte|åtte|ni|ti|one|two|three|four|five|six|seven|eight|nine|ten)\s*" + _PERIOD_UNIT, re.I)

# "Hvor lang tid har en leverandør på å reise søksmål?", "how long do we have to object?": the
# time within which someone must act. A period after which something may happen at the earliest
# ("tidligst inngått kontrakten etter utløpet av ti dager") is a waiting period, not that limit.
_TIME_TO_ACT = re.compile(r"\b(?:hvor lang tid|hvor længe|hvor lenge|how long)\s+(?:har|have|has|do|does)\b"
                          r"(?=.*\b(?:på å|til at|til å|to)\s+\w+)", re.I)
_WAITING = re.compile(
    r"\b(?:efter udløbet af|etter utløpet av|after the expiry of|at the earliest after)\s+(?:en |et |a )?"
    r"(?:\w+\s+)?(?:\d+|to|tre|fire|fem|seks|syv|sju|otte|åtte|ni|ti|tolv|two|three|five|six|ten)\s*" + _PERIOD_UNIT,
    re.I)

_RISK = re.compile(r"\b(risiko\w*|risici|risk\w*|faldgrube\w*|fallgruv\w*|pitfall\w*|fejl\w*|feil\w*|"
                   r"mistake\w*|undgå|unngå|avoid|faren|farer|dangers?|gå galt|go wrong)\b", re.I)

# "the period before", "perioden før": the question asks for the earlier figures.
_EARLIER = re.compile(r"\b(perioden før|periode før|forrige periode|tidligere periode|sidste periode|"
                      r"tidligere beløb|tidligere tærskel\w*|tidligere terskel\w*|før det|"
                      r"previous period|period before|earlier period|last period|before that|"
                      r"hvad var|hva var|what was|what were)\b", re.I)
COUNTRIES = COUNTRY_WORDS  # words that name a jurisdiction (text.lexicon)
_YEAR = re.compile(r"\b(19[5-9]\d|20\d\d)\b")
_NEXT_YEAR = re.compile(r"\b(næste år|neste år|next year|til næste år)\b", re.I)
_LIVE = re.compile(
    r"\b(valutakurs\w*|vekselkurs\w*|exchange rates?|kurs(en)? på|aktiekurs\w*|share price|stock price|"
    r"vejret|weather|nyheder(ne)?|nyhetene|news today|breaking|live|realtid|real[- ]time|"
    r"lige nu|right now|akkurat nå|i øjeblikket|at the moment|euroen|dollaren|kronen|pundet|"
    # "hvad står kronen i?" asks a rate; "hvad står der i § 6?" (da) / "hva står det i § 6?" (nb)
    # is the idiom for what a text says, so the formal subject "der"/"det" is no rate.
    r"hvad står (?!der\b)\w+ i|hva står (?!det\b|der\b)\w+ i)\b", re.I)
# "været" is the weather in Norwegian but the participle "been" in Danish ("burde have været
# udelukket"): a live-data word only in a Norwegian question.
_LIVE_NB = re.compile(r"\bværet\b", re.I)


def asks_live(text: str, language: str) -> bool:
    """Whether the question asks for live data (rates, weather, news), which no source holds."""
    return bool(_LIVE.search(text) or (language == "nb" and _LIVE_NB.search(text)))
# Danish and Norwegian nouns take their definite article as a suffix ("mobilnummeret",
# "telefonnummeret", "hjemmeadressen"), so those nouns match with any ending.
_PERSONAL = re.compile(
    r"\b(telefonnummer\w*|telefonnr|mobilnummer\w*|phone number|mobile number|e-?mail-?adresse\w*|e-?mail address|"
    r"email|e-mail|cpr\w*|personnummer\w*|fødselsnummer\w*|privatadresse\w*|hjemmeadresse\w*|home address|"
    r"privat adresse|fødselsdag\w*|birthday|løn(nen)?|salary|lønnen)\b", re.I)
# The outcome of particular tenders, or statistics of them: who won, what it cost, how many
# bodies got a sanction. Guidance and law never hold these.
_OUTCOME = re.compile(
    r"\b(hvem vandt|hvem vant|who won|who was awarded|which (?:company|supplier|firm) won|"
    r"hvem fik (?:kontrakten|ordren|opgaven|aftalen)|hvem fikk (?:kontrakten|oppdraget|avtalen)|"
    r"hvad kostede|hva kostet|what did \w+(?: \w+)? cost|"
    r"(?:company|supplier|firm|leverandør\w*|virksomhed\w*|bedrift\w*|firma\w*)\s+(?:that|which|who|der|som)\s+"
    r"(?:won|vandt|vant|got|fik|fikk)|hvad var prisen|hva var prisen|what was the price|hvad betalte|hva betalte|how much did \w+(?: \w+)? pay|"
    r"hvor mange (?:kommuner|regioner|virksomheder|bedrifter|leverandører|ordregivere|oppdragsgivere|"
    r"sager|saker|klager)\s+(?:\w+\s+){0,2}(?:fik|fikk|har fået|har fått|vandt|vant|blev|ble|modtog|mottok)|"
    r"how many (?:municipalities|companies|suppliers|authorities|cases|complaints)\s+(?:\w+\s+){0,2}"
    r"(?:got|received|won|were|have))\b", re.I)
# A count or a share of things (not of days, years or per cent, which rules state) anchored in
# the recent past by a deictic time adverbial ("sidste år", "i fjor", "hittil", "so far", "last
# year"): it asks what happened, a statistic, which guidance and law never record. A rule is
# stated without reference to "last year" or "so far"; an earlier rule is asked for with
# "what was" or its period (`_EARLIER`, the years), not with a count of things.
_PAST_DEICTIC = re.compile(
    r"\b(sidste år|sidste måned|sidste kvartal|forrige år|i fjor|forrige måned|siste år|"
    r"hidtil|hittil|indtil nu|inntil nå|til dato|til nu|last year|last month|last quarter|so far|to date|"
    r"until now|up to now)\b", re.I)
_COUNTED = re.compile(r"\b(?:hvor mange|how many)\s+(?!dage\b|dager\b|days\b|år\b|years?\b|uger\b|uker\b|"
                      r"weeks?\b|måneder\b|months?\b|procent\b|prosent\b|per cent\b|percent\b)[\wæøå-]+|"
                      r"\b(?:andel\w*|share of|proportion|percentage of|hvor stor en del|hvor stor del)\b", re.I)


def asks_past_statistic(text: str) -> bool:
    """A count or share of things anchored in the recent past (`_PAST_DEICTIC`, `_COUNTED`)."""
    return bool(_PAST_DEICTIC.search(text) and _COUNTED.search(text))


_ASKS_REFERENCE = re.compile(
    r"\b(hvilken paragraf|hvilke paragraffer|hvilken bestemmelse|hvilke bestemmelser|hvilken artikel|"
    r"hvilken artikkel|which article|which section|which provision|which rule|hvor i (?:udbuds|anskaffelses)?lov\w*|"
    r"where in the (?:act|directive|law)|hjemmel\w*|retsgrundlag\w*|rettslig grunnlag|legal basis|"
    r"hvilken §|which §)", re.I)
_QUOTED = re.compile(r"[\"“”«»]([^\"“”«»]{2,60})[\"“”«»]")
# A name given as an example of the thing asked about is no hinge: the answer is the rule for
# the kind of thing, not a statement about that name ("et miljømærke som f.eks. Svanemærket",
# "Svanemerket eller et annet miljømerke", "a label such as the Nordic Swan"). Grammar: the
# example markers of the three languages before the name, and "or another / or similar" after it.
_EXAMPLE_BEFORE = r"(?:f\.\s?eks\.?|fx\.?|for eksempel|eksempelvis|såsom|e\.\s?g\.?|such as|for example|for instance)\s+(?:the\s+)?"
_EXAMPLE_AFTER = (r"\s+(?:eller|or)\s+(?:(?:et|en|ei|an?|some)\s+)?"
                  r"(?:andet|annet|anden|annen|anna|andre|another|other|lignende|liknende|tilsvarende|similar|equivalent)\b")


def _an_example(name: str, question: str) -> bool:
    named = re.escape(name)
    return bool(re.search(_EXAMPLE_BEFORE + named, question, re.I) or re.search(named + _EXAMPLE_AFTER, question, re.I))
_CAPITALISED = re.compile(r"\b([A-ZÆØÅ][\wæøåÆØÅ&'-]*(?:\s+[A-ZÆØÅ][\wæøåÆØÅ&'-]*)*)")
# Capitalised words that are no named entity (English capitalises these; Danish rarely).
_NOT_NAMES = {
    "i", "eu", "eøs", "eea", "danish", "norwegian", "english", "european", "denmark", "norway", "danmark",
    "norge", "dansk", "norsk", "stk", "nr", "ok", "hvad", "hva", "hvordan", "hvornår", "når", "what",
    "how", "when", "which", "who", "why", "may", "can", "must", "should", "is", "are", "do", "does",
    "må", "kan", "skal", "er", "og", "and", "the", "a", "an", "in", "under", "if", "for", "of",
    "mr", "mrs", "dr",
    # A text's divisions, capitalised in English before their number ("Part II", "Article 40",
    # "Annex XIV"): common nouns, the number is the reference, and the Danish and Norwegian
    # texts write them in lower case ("del II", "artikel 40").
    "part", "chapter", "section", "article", "annex", "paragraph",
} | set(MONTHS) | set(WEEKDAYS)


@dataclass(frozen=True, kw_only=True)
class Query:
    """A question, analysed once."""

    text: str  # as asked (cleaned)
    language: str
    kind: AnswerKind
    asks_risk: bool
    countries: frozenset[str]
    years: tuple[int, ...]
    hinges: tuple[str, ...] = ()  # named things the answer depends on
    live: bool = False  # asks for live data the corpus cannot hold
    personal: bool = False  # asks for personal data about someone
    wants_earlier: bool = False  # asks for an earlier period's figures ("og perioden før?")
    outcome: bool = False  # asks who won a tender, what it cost, or how often something happened
    asks_reference: bool = False  # asks which provision or article ("og hvilken paragraf?")
    asks_cost: bool = False  # asks what something cost: the gate wants a passage stating an amount
    extra: str = ""  # words taken from the conversation: its topic (follow-ups), the procedure in force
    state: ConversationState = field(default_factory=ConversationState)  # what the conversation established
    # The glossary concepts `search_text` names, matched once with `glossary` (the one search uses).
    concepts: tuple = ()
    glossary: "Glossary | None" = field(default=None, compare=False, repr=False)

    @property
    def scope(self) -> Scope:
        """The jurisdictions the question asks about (`retrieval.jurisdiction`)."""
        return scope_of(language=self.language, countries=self.countries, text=self.text,
                        context=self.state.jurisdiction)

    @property
    def search_text(self) -> str:
        return f"{self.text} {self.extra}".strip()


def asking_clause(question: str) -> str:
    """The sentence that asks: "Vi skal bruge 2 mio. kr. Hvor mange bud må vi hente?" asks
    for a count; the amount before it is only the situation."""
    sentences = split_sentences(question.strip())
    asking = [s for s in sentences if s.rstrip().endswith("?")]
    return asking[-1] if asking else question


_COST_QUESTION = re.compile(
    r"\b(?:koste[rt]?|kostede|betalte?|betalt|paid|pay|costs?|price|priced|fees?|gebyr(?:et)?|"
    r"pris(?:en)?|afgift(?:en)?|avgift(?:en)?)\b",
    re.I,
)


def asks_cost(question: str) -> bool:
    """Whether the question asks what something cost. Only its asking sentence counts: in
    "we'd rather pay for the outcome we need. Does the guide give an example?" the payment
    is the situation, not what is asked."""
    return bool(_COST_QUESTION.search(asking_clause(question)))


def answer_kind(question: str) -> AnswerKind:
    question = asking_clause(question)
    for kind, cue in _KIND_CUES:
        if kind == "yesno":
            continue
        if cue.search(question):
            # "Hvad er fristen?" is about a deadline, not a definition.
            return kind
    for kind, cue in _KIND_CUES:
        if kind == "yesno" and cue.search(question):
            return "yesno"
    return "other"


def hinge_terms(question: str) -> list[str]:
    """Named organisations, places, people, products (capitalised words that do not open the
    question, quoted names, acronyms) that an answer would have to be about."""
    found: list[str] = [m.group(1).strip() for m in _QUOTED.finditer(question)]
    # A colon opens a clause whose first word is capitalised like a sentence's.
    for sentence in (c for s in split_sentences(question) for c in re.split(r"(?<=:)\s+", s)):
        first = True
        for match in _CAPITALISED.finditer(sentence):
            name = match.group(1)
            parts = name.split()
            if first and match.start() == len(sentence) - len(sentence.lstrip()):
                parts = parts[1:]  # the question's first word is capitalised anyway
            first = False
            # "EU-rammebestemmelser" is an ordinary word behind a known prefix, not a name.
            parts = [p.split("-", 1)[1] if "-" in p and p.split("-", 1)[0].lower() in _NOT_NAMES
                     and p.split("-", 1)[1][:1].islower() else p for p in parts]
            parts = [p for p in parts if p[:1].isupper() or any(ch.isdigit() for ch in p)]
            parts = [p for p in parts if p.lower().strip("'s") not in _NOT_NAMES and len(p) > 1]
            if parts and not any(p.lower() in COUNTRIES for p in parts):
                found.append(" ".join(parts))
    found = [f for f in found if not _an_example(f, question)]
    found = [re.sub(r"(?:'s|’s|')$", "", f) for f in found]  # "DFØ's" is about DFØ
    return list(dict.fromkeys(f for f in found if f))


def analyse(question: str, *, earlier: list[str] | None = None, today: date | None = None,
            glossary: "Glossary | None" = None) -> Query:
    """The question analysed once per turn, with what the conversation has established
    (`conversation.resolve`) and the glossary concepts it names (matched once, with the
    glossary search uses: `glossary`, else the configured one)."""
    from assistant.text.glossary import default_glossary

    today = today or date.today()
    glossary = glossary or default_glossary()
    earlier = earlier or []
    text = question
    kind = answer_kind(text)
    resolved = resolve(question, earlier, kind=kind, glossary=glossary)
    extra = resolved.extra
    years = [int(y) for y in _YEAR.findall(text)]
    if _NEXT_YEAR.search(text):
        years.append(today.year + 1)
    if kind == "other" and resolved.refers_back and earlier:
        kind = answer_kind(earlier[-1])  # "og i Norge?" asks what the question before it asked
    # The country the question itself names wins over the one the conversation established.
    own_countries = {c for w, c in COUNTRIES.items() if w in set(words(text))}
    search_text = f"{text} {extra}".strip()
    return Query(
        text=text,
        language=resolved.language,  # its own, or the conversation's (`conversation.turn_language`)
        kind=kind,
        asks_risk=bool(_RISK.search(text)),
        # A follow-up keeps the countries of the conversation as named; a question that stands
        # alone is only scoped by them (`Query.scope`), as by the asker's own country.
        countries=frozenset(own_countries or (resolved.state.jurisdiction if resolved.refers_back else ())),
        years=tuple(dict.fromkeys(years)),
        hinges=tuple(hinge_terms(text)),
        live=asks_live(text, resolved.language),
        personal=bool(_PERSONAL.search(text)),
        wants_earlier=bool(_EARLIER.search(text)) and not years,
        outcome=bool(_OUTCOME.search(text)) or asks_past_statistic(text),
        asks_reference=bool(_ASKS_REFERENCE.search(text)),
        asks_cost=asks_cost(text),
        extra=extra,
        state=resolved.state,
        concepts=_concepts(glossary, search_text, earlier[-MAX_TURNS:] if extra else []),
        glossary=glossary,
    )


def _concepts(glossary: "Glossary", search_text: str, lenders: list[str]) -> tuple:
    """The glossary concepts the search text names, and those an earlier turn named in the
    words it lent (`extra`). A borrowed topic keeps only content words, so a term joined by a
    function word ("research and development services", "udbud med forhandling") no longer
    reads as the term in the search text; it is matched in the turn that said it, and kept
    when all its content words were borrowed. A procedure is not: the procedure in force has
    its one owner, the conversation state (`resolve` adds its terms for the questions it decides)."""
    found = {c.id: (c, set(by)) for c, by in glossary.match(search_text)}
    held = set(words(search_text))
    for turn in lenders:
        for concept, by in glossary.match(turn):
            content = set(content_words(" ".join(by)))
            if concept.id not in found and concept.id not in PROCEDURES and content and content <= held:
                found[concept.id] = (concept, content)
    return tuple(found.values())


@dataclass(frozen=True, kw_only=True)
class OutOfScope:
    """Why a question cannot be answered from the passages found (empty reason: it can)."""

    reason: Literal["", "named", "year", "live", "personal", "outcome"] = ""
    missing: list[str] = field(default_factory=list)


def out_of_scope(query: Query, passages: list[str], *,
                 aliases: Callable[[str], Iterable[str]] | None = None) -> OutOfScope:
    """The question hinges on something no retrieved passage mentions.

    `aliases` gives a name's other names (the glossary's: "Public Procurement Act" is also
    "udbudsloven"); a name of several words counts as mentioned under any of them, so an
    English question about a Danish law is not refused because the passages found are the
    law's own text."""
    if query.live:
        return OutOfScope(reason="live")
    joined = "\n".join(passages)
    if query.personal and (query.hinges or re.search(r"\b(hans|hendes|hennes|his|her|their|kollega\w*|colleague\w*|"
                                                      r"chef\w*|sjef\w*|boss)\b", query.text, re.I)):
        return OutOfScope(reason="personal")
    # Only a name of several words has other names: "Public Procurement Act" renders
    # "udbudsloven", but a one-word name is a proper name (Doffin, Leasi, Bergen) and must
    # itself be found, or the glossary's "national tender portal" would stand in for Doffin.
    missing = [h for h in query.hinges
               if not any(mentions(name, joined)
                          for name in [h, *(aliases(h) if aliases and len(h.split()) > 1 else ())])]
    if missing:
        return OutOfScope(reason="named", missing=missing)
    missing_years = [str(y) for y in query.years if str(y) not in joined]
    if missing_years:
        return OutOfScope(reason="year", missing=missing_years)
    if query.outcome:
        return OutOfScope(reason="outcome")
    return OutOfScope()


_NUMBER = (r"(?:\d+|en|et|én|to|tre|fire|fem|seks|syv|sju|otte|åtte|ni|ti|elleve|tolv|tyve|tjue|"
           r"one|two|three|four|five|six|seven|eight|nine|ten|twelve|twenty)")
_HOW_MUCH = re.compile(r"\b(?:hvor meget|hvor mye|how much|hvor højt?|hvor høyt?|how high|hvor stor\w*|how large)\b", re.I)
_MULTIPLE = re.compile(r"\b(?:\d+|to|tre|fire|fem|two|three|four|five)\s+gange\b|\b(?:dobbelt\w*|double|twice|"
                       r"\d+ times)\b", re.I)
_HOW_MANY = re.compile(r"\b(?:hvor mange|how many)\s+([\wæøå-]+)", re.I)


def has_value(query: Query, text: str) -> bool:
    """Whether a text carries a value of the kind the question wants. For "hvor mange
    partnere …" a number before the word counted ("29 partnere") is such a value too."""
    wanted = VALUE.get(query.kind)
    if wanted is None:
        return True
    if query.kind == "deadline" and ("før" in text or "before" in text or "inden" in text or "prior" in text):
        text = _COUNTED_BACK.sub(" ", text)  # a period counted back from the deadline is not its value
    if query.kind == "deadline" and ("forl" in text.lower() or "extend" in text.lower()):
        text = _EXTENDED_BY.sub(" ", text)  # nor is the period it is extended by
    if query.kind == "deadline" and _TIME_TO_ACT.search(query.text):
        text = _WAITING.sub(" ", text)  # a waiting period is not the time to act
    if wanted.search(text):
        return True
    if query.kind == "amount" and _HOW_MUCH.search(query.text) and (
            VALUE["share"].search(text) or _MULTIPLE.search(text)):
        return True  # "hvor meget må de udgøre?": a share or a multiple is the amount
    if query.kind == "count":
        m = _HOW_MANY.search(query.text)
        if m and m.group(1).lower() not in {"dage", "dager", "days", "år", "years", "procent", "prosent"}:
            stem = sorted(query_stems(m.group(1).lower()), key=len)[0]
            if len(stem) >= 4 and re.search(rf"\b{_NUMBER}\s+(?:[\wæøå-]+\s+)?{re.escape(stem)}", text, re.I):
                return True
    return False
