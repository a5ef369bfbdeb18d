"""What the conversation has established, resolved once per turn, in bounded time.

A buyer often states the situation first ("Vi gennemfører et begrænset udbud af et nyt
journalsystem.") and asks briefly after ("Hvor lang er tilbudsfristen?"). The state keeps what
the turns so far have set, by statements as well as questions:

- jurisdiction: the countries named ("Vi er en norsk kommune");
- procedure: the award procedure named (a glossary concept of `PROCEDURES`);
- document: the law named by its short name (`boosts.LAW_ALIASES`' names);
- period: the years named;
- object: what is being bought (the object of a purchase verb);
- topic: the content words of the last turn with a topic of its own;
- language: the language the conversation is held in (`turn_language`).

A new turn overrides only the slots it names itself. The current question then uses the
state: it borrows the topic only when it refers back (an ellipsis, a pointer, a definite
noun introduced before), the jurisdiction whenever it names none, the procedure when it asks
for a figure that depends on the procedure (a deadline or a minimum number) or refers back,
and the period when it asks for an amount (thresholds are set per period).

Resolution runs forward over at most `MAX_TURNS` earlier turns, each turn analysed once: the
cost grows linearly with the history (the recursive resolution it replaces re-resolved every
earlier turn for each one before it, exponential in crafted back-referring histories).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field, replace
from typing import TYPE_CHECKING

from assistant.text.language import detect, detect_language
from assistant.text.lexicon import COUNTRY_WORDS
from assistant.text.words import content_words, query_stems, words

if TYPE_CHECKING:
    from assistant.text.glossary import Glossary

MAX_TURNS = 6  # the last six user turns: as far back as a follow-up can refer (MAX_HISTORY_MESSAGES / 2)

# The award procedures (Directive 2014/24/EU arts. 26-32 and their Danish and Norwegian
# counterparts, pre-commercial procurement, design contests, the light regime, purchases below
# the thresholds): each has its own deadlines and minimum numbers of candidates.
PROCEDURES = frozenset({
    "open_procedure", "restricted_procedure", "competitive_procedure_with_negotiation",
    "negotiated_procedure_without_publication", "competitive_dialogue", "innovation_partnership",
    "pre_commercial_procurement", "design_contest", "light_regime", "below_threshold_procurement",
    "direct_purchase",
})
# Kinds of question whose answer depends on the procedure: its deadlines and minimum numbers.
PROCEDURE_KINDS = frozenset({"deadline", "count"})
# The object of a purchase verb ("vi køber et nyt journalsystem", "we are buying a ferry"):
# the verbs of buying in the three languages, an optional article or adjective, then the noun.
_PURCHASE = re.compile(
    r"\b(?:køb\w*|indkøb\w*|anskaff\w*|kjøp\w*|innkjøp\w*|buy\w*|bought|purchas\w*|procur\w*)\s+"
    r"(?:(?:en|et|ei|nogle|noen|a|an|the|some|nye?|nyt|new)\s+){0,2}([\wæøåÆØÅ-]{3,}(?:\s+[\wæøåÆØÅ-]{3,})?)",
    re.I)
# The object named as the complement of a contract noun ("en kontrakt om rengøringsydelser",
# "indkøb af skoleborde", "a contract for cleaning services"): what the contract is about.
_CONTRACT_FOR = re.compile(
    r"\b(?:kontrakt\w*|aftale\w*|avtale\w*|rammeaftale\w*|rammeavtale\w*|contracts?|agreements?|"
    r"udbud\w*|indkøb\w*|innkjøp\w*|anskaffelse\w*|levering\w*|purchases?|tenders?)\s+(?:om|af|av|for|of|på)\s+"
    r"(?:(?:en|et|ei|nogle|noen|a|an|the|some|nye?|nyt|new)\s+){0,2}([\wæøåÆØÅ-]{3,})", re.I)
_YEAR = re.compile(r"\b(19[5-9]\d|20\d\d)\b")
# Short names of the laws (the same names `boosts.LAW_ALIASES` maps to files).
_LAWS = ("udbudsloven", "udbl", "tilbudsloven", "anskaffelsesloven", "loa", "anskaffelsesforskriften", "foa",
         "forsyningsforskriften", "direktivet", "directive")

# A question that refers back: it opens with a conjunction or "what about", or it points at
# something with a pronoun and names no topic of its own.
# "Og hvis vi …?", "And what if …?": a condition added to the question before.
_OPENS_CONDITION = re.compile(r"^\s*(og|men|and|but|or|eller)\s+(hvis|om|når|if|when|what if)\b|"
                              r"^\s*(hvad hvis|hva om|hva hvis|what if)\b", re.I)
_OPENS_ELLIPSIS = re.compile(
    r"^\s*(og|samt|men|også|så|and|but|also|then|what about|how about|and what|hvad med|hva med|"
    r"hvordan med|hvordan er det med|hvad så med|hva så med|gjelder det|gælder det)\b", re.I)
_POINTER = re.compile(
    r"\b(den|det|dem|dette|denne|disse|de|der|dér|her|it|its|they|them|this|that|these|those|there|"
    r"samme|same|sådan\w*|slik\w*|such)\b\s*[?.!]*$|"
    r"\b(for|om|til|af|av|ved|med|of|about|for|in|i|on|på)\s+(den|det|dem|dette|denne|disse|it|them|this|"
    r"that|these|those)\b", re.I)
# "Hvad skal vi så gøre?", "What should we then include?": a step on from the last answer.
_THEN = re.compile(r"(?<!^)\b(så|da|then|i så fald|in that case|i det tilfælde)\b", re.I)
# After an opening "og"/"and", an object pronoun anywhere points back ("og hvis de ikke får
# dem ud?"), as does "det … også" ("Gælder det også, når …?").
_OBJECT_POINTER = re.compile(r"\b(dem|them|it|its|disse|these|those|dens|dets)\b", re.I)
_ALSO_IT = re.compile(r"^\s*\S+\s+(det|it|that|dette|den)\s+(også|too|also|as well)\b", re.I)
# Anaphoric determiners: "such contracts", "sådanne kontrakter", "slike kontrakter" name a
# kind of thing only by pointing at one introduced before (grammar: the determiner
# presupposes an antecedent), however many content words the question has of its own.
# The plural and neuter forms only: Danish "sådan" alone is also "like this" ("gør man sådan").
_SUCH = re.compile(r"\b(such|sådanne|sådant|slike|slikt)\s+[\wæøåÆØÅ-]{3,}", re.I)
# A turn that opens with a question word or asks with a question mark: anything else is a
# statement ("Vi holder en projektkonkurrence.") or a request ("Tell me about Ghent.").
_ASKS = re.compile(r"\?|^\s*(hvad|hva|hvem|hvor\w*|hvilk\w*|hvorfor|hvornår|når|kan|må|skal|er|gælder|gjelder|"
                   r"what|who|which|where|when|why|how|can|may|must|is|are|does|do)\b", re.I)
# An indefinite article before a noun: the question introduces a new thing ("en rammeaftale",
# "et innovationspartnerskap", "a framework agreement").
_INDEFINITE = re.compile(r"\b(en|et|ei|a|an)\s+[\wæøåÆØÅ-]{4,}", re.I)
# Definite endings: "ændringen" after "ændre", "kontrakten" after "kontrakt".
_DEFINITE = re.compile(r"(?:en|et|n|t|ene|erne|ne|a)$")

# Words that ask about something but are no topic of their own.
_GENERIC = {
    "frist", "fristen", "fristerne", "fristene", "dage", "dager", "days", "deadline", "lang", "lange",
    "long", "mange", "many", "mindst", "minst", "least", "regler", "reglerne", "reglene", "rules", "krav",
    "kravene", "requirements", "gælder", "gjelder", "apply", "applies", "invitere", "invite", "udvælge",
    "velge", "select", "beløb", "beløp", "amount", "kan", "må", "skal", "may", "must", "can", "should",
    "hvornår", "når", "when", "hvorfor", "why", "hvordan", "how", "vi", "we", "man", "også", "also",
    "norge", "danmark", "norway", "denmark", "eu", "sverige", "norsk", "dansk", "english", "engelsk",
    "the", "og", "and", "værdi", "verdi", "value", "pris", "price", "prisen", "tid", "time", "lov", "law",
    "loven", "procedure", "proceduren", "prosedyre", "prosedyren", "eksempel", "example", "eksempler",
    "examples", "hvilke", "which", "hvad", "hva", "what", "tre", "three", "fem", "five", "to", "two",
}

def topic_words(question: str) -> list[str]:
    """The question's own topic: content words that are not generic question words."""
    return [w for w in content_words(question) if w not in _GENERIC and not w.isdigit() and len(w) > 2]


def refers_back(question: str) -> bool:
    """True when a question cannot stand alone: an ellipsis ("og i Norge?"), or a pointer
    ("den", "that") with no topic of its own. A short question with its own topic stands alone."""
    text = question.strip()
    own = topic_words(text)
    pointer = bool(_POINTER.search(text))
    if _OPENS_CONDITION.match(text):
        return True
    if _OPENS_ELLIPSIS.match(text):
        return len(own) <= 2 or pointer or bool(_OBJECT_POINTER.search(text)) or bool(_ALSO_IT.match(text))
    if _ALSO_IT.match(text) or _SUCH.search(text):
        return True
    if pointer:
        return len(own) <= 2
    if _THEN.search(text):
        return len(own) <= 3
    return not own


def definite_reference(question: str, previous: str) -> bool:
    """A short question naming, in its definite form, something the previous question
    introduced ("Hvor mange procent må ændringen højst udgøre?" after "Kan vi ændre …?"):
    the definite article presupposes the referent is known."""
    own = topic_words(question)
    if not own or len(own) > 4:
        return False
    before = {stem for w in content_words(previous) for stem in query_stems(w) if len(stem) >= 4}
    for w in own:
        m = _DEFINITE.search(w)
        if not m or len(w) - len(m.group(0)) < 4:
            continue
        for stem in (st for st in query_stems(w) if len(st) >= 4):
            if any(stem.startswith(p) or p.startswith(stem) for p in before):
                return True
    return False


@dataclass(frozen=True, kw_only=True)
class ConversationState:
    """What the turns so far have established (empty slots: not established)."""

    jurisdiction: frozenset[str] = frozenset()
    procedure: str = ""  # a glossary concept id of `PROCEDURES`
    procedure_terms: str = ""  # the words that named it, to search with
    document: str = ""
    period: tuple[int, ...] = ()
    object: str = ""
    topic: str = ""  # content words of the last turn with a topic of its own
    language: str = ""  # the language of the last turn: da, nb or en
    turns: int = 0  # earlier turns read

    def to_dict(self) -> dict:
        out = asdict(self)
        out["jurisdiction"] = sorted(self.jurisdiction)
        out["period"] = list(self.period)
        return out


@dataclass(frozen=True, kw_only=True)
class Turn:
    """The slots one turn names itself (empty: it does not name that slot)."""

    jurisdiction: frozenset[str] = frozenset()
    procedure: str = ""
    procedure_terms: str = ""
    document: str = ""
    period: tuple[int, ...] = ()
    object: str = ""


def read_turn(text: str, glossary: "Glossary | None" = None) -> Turn:
    """The slots a turn (statement or question) names."""
    ws = words(text)
    wordset = set(ws)
    procedure, terms = "", ""
    if glossary is not None:
        for concept, named_by in glossary.match(text):
            if concept.id in PROCEDURES:
                procedure = concept.id
                terms = " ".join(w for w in ws if w in named_by)
    purchase = _PURCHASE.search(text)
    return Turn(
        jurisdiction=frozenset(c for w, c in COUNTRY_WORDS.items() if w in wordset),
        procedure=procedure, procedure_terms=terms,
        document=next((w for w in ws if w in _LAWS), ""),
        period=tuple(dict.fromkeys(int(y) for y in _YEAR.findall(text))),
        object=purchase.group(1).lower() if purchase else "",
    )


def purchase_objects(text: str) -> set[str]:
    """The words naming what is bought: the object of a purchase verb (`_PURCHASE`) or the
    complement of a contract noun (`_CONTRACT_FOR`), lower-cased."""
    found = {m.group(1).split()[0].lower() for m in _PURCHASE.finditer(text)}
    return found | {m.group(1).lower() for m in _CONTRACT_FOR.finditer(text)}


def _update(state: ConversationState, turn: Turn) -> ConversationState:
    """The state after a turn: it overrides only the slots it names."""
    changes: dict = {}
    if turn.jurisdiction:
        changes["jurisdiction"] = turn.jurisdiction
    if turn.procedure:
        changes.update(procedure=turn.procedure, procedure_terms=turn.procedure_terms)
    if turn.document:
        changes["document"] = turn.document
    if turn.period:
        changes["period"] = turn.period
    if turn.object:
        changes["object"] = turn.object
    return replace(state, **changes) if changes else state


def turn_language(text: str, before: list[str] = ()) -> str:
    """The language of a turn, the one rule for it. Its own when the detector is confident
    (`language.DECISIVE_ODDS`); else the turn is read together with the turns `before` it (back
    to the last one the detector was sure of, `language_context`). A short follow-up ("Og i
    Norge?", "Hva med fristen?") carries too little evidence to tell Danish from Norwegian,
    and a buyer who writes Danish asks the next question in Danish: the answer keeps the
    language the conversation is held in, unless the turn itself is clearly in another."""
    found = detect(text)
    if found.confident or not before:
        return found.language
    return detect_language(" ".join([*before, text]), default=found.language)


def language_context(before: list[str], text: str) -> list[str]:
    """The turns a turn after `before` and `text` is read with: back to the last turn whose
    own language the detector is sure of (a buyer who switched language clearly keeps it)."""
    return [text] if detect(text).confident else [*before, text]


def is_statement(text: str) -> bool:
    """A turn that asks nothing: no question mark and no question word first ("Vi holder en
    projektkonkurrence om et nyt bibliotek.", "We are a Danish regional authority.")."""
    return bool(text.strip()) and not _ASKS.search(text)


def follows_on(question: str, previous: str) -> bool:
    """Whether a turn cannot stand alone after `previous`: it refers back or names, in its
    definite form, something `previous` introduced, or it follows a statement without
    introducing a new thing of its own. A statement asks nothing, so it has no answer of its
    own: a buyer says it as the premise of the question after it (the situation, the procedure
    chosen, the thing bought; issue 22: follow-ups lost a context given as a statement). A
    question that introduces its subject with an indefinite article ("Hvad er en
    rammeaftale?") opens a new referent (grammar: the indefinite article introduces, the
    definite presupposes) and stands alone."""
    if refers_back(question) or definite_reference(question, previous):
        return True
    return is_statement(previous) and not _INDEFINITE.search(question)


def _borrowed(question: str, topic: str) -> str:
    own = set(content_words(question))
    return " ".join(w for w in dict.fromkeys(content_words(topic)) if w not in own)


@dataclass(frozen=True, kw_only=True)
class Resolved:
    """The current question with what it takes from the conversation."""

    state: ConversationState = field(default_factory=ConversationState)
    extra: str = ""  # words added to the search text: the borrowed topic, the procedure in force
    refers_back: bool = False
    language: str = "da"  # the question's language (`turn_language`)


def resolve(question: str, earlier: list[str], *, kind: str = "other",
            glossary: "Glossary | None" = None) -> Resolved:
    """The conversation state before `question` and what `question` takes from it.

    Forward over the last `MAX_TURNS` earlier turns: each turn is read once; its topic is its
    own content words when it has a topic of its own, else (a follow-up) its words with the
    topic before it."""
    state = ConversationState()
    previous = ""
    context: list[str] = []  # the turns a turn's language is read with (`turn_language`)
    for turn in earlier[-MAX_TURNS:]:
        state = _update(state, read_turn(turn, glossary))
        state = replace(state, language=turn_language(turn, context))
        context = language_context(context, turn)
        if previous and follows_on(turn, previous) and state.topic:
            topic = f"{turn} {_borrowed(turn, state.topic)}"
        else:
            topic = turn
        if topic_words(topic):
            state = replace(state, topic=" ".join(dict.fromkeys(content_words(topic))))
        previous = turn
    state = replace(state, turns=min(len(earlier), MAX_TURNS))
    own = read_turn(question, glossary)
    follows = bool(earlier) and follows_on(question, earlier[-1])
    extra: list[str] = []
    if follows and state.topic:
        # A procedure the question names itself overrides the one in force: its words are not
        # borrowed with the topic ("Vi bruger begrænset udbud." -> "… ved offentligt udbud?").
        overridden = state.procedure_terms if own.procedure and own.procedure != state.procedure else ""
        extra.append(_borrowed(question + " " + overridden, state.topic))
    # The procedure in force decides a deadline or a minimum number even when the question
    # does not name it again ("Vi bruger begrænset udbud." -> "Hvor lang er tilbudsfristen?").
    if state.procedure and not own.procedure and (kind in PROCEDURE_KINDS or follows):
        missing = _borrowed(question + " " + " ".join(extra), state.procedure_terms)
        if missing:
            extra.append(missing)
    language = turn_language(question, context)
    return Resolved(state=replace(_update(state, own), language=language),
                    extra=" ".join(e for e in extra if e).strip(), refers_back=follows, language=language)


def standalone_question(question: str, earlier: list[str]) -> tuple[str, str]:
    """(question, borrowed topic): earlier turns lend their topic only to a follow-up."""
    resolved = resolve(question, earlier)
    return question, resolved.extra if resolved.refers_back else ""


def departs_from(text: str, state: ConversationState, glossary: "Glossary | None" = None) -> list[str]:
    """The slots a rewritten question (the LLM's condensed one) names with a value the state
    in force does not hold: a country or procedure the buyer never set. A rewrite may add what
    is in force, never change it: the question's own words already overrode the state."""
    turn = read_turn(text, glossary)
    out = []
    if turn.jurisdiction - state.jurisdiction:
        out.append("jurisdiction")
    if turn.procedure and turn.procedure != state.procedure:
        out.append("procedure")
    return out
