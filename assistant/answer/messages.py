"""The assistant's own user-facing sentences, in the three answer languages (one owner)."""

from __future__ import annotations

MESSAGES = {
    "da": {
        "abstain": "Det kan jeg ikke finde i kilderne.",
        "nearest": "De nærmeste kilder er",
        "offline": "Ingen sprogmodel er konfigureret: her er de mest relevante passager fra kilderne, ordret.",
        "llm_error": "Sprogmodellen kunne ikke svare lige nu ({reason}). Her er i stedet de mest relevante passager fra kilderne.",
        "ungrounded": "Sprogmodellens svar havde ingen kontrollerbare kildehenvisninger, så her er passagerne fra kilderne i stedet.",
        "unsupported": "Kilderne understøttede ikke sprogmodellens svar, så her er passagerne fra kilderne i stedet.",
        "wrong_language": "Sprogmodellen svarede på et andet sprog end spørgsmålets, så her er passagerne fra kilderne i stedet.",
        "trimmed": "Sætninger fra sprogmodellen, som kilderne ikke understøttede, er fjernet.",
        "writing": "Sprogmodellen skriver et svar … derefter kontrolleres hver påstand mod kilderne.",
        "checking": "Kilderne kontrolleres …",
        "store": "Dokumentlageret er ikke tilgængeligt lige nu. Prøv igen om lidt.",
        "empty": "Skriv et spørgsmål om offentlige indkøb.",
        "partial": "Kilderne dækker det kun delvist: passagerne nedenfor er det nærmeste, de siger.",
        "missing": "De nævner ikke: {missing}.",
        "named": "Kilderne nævner ikke {missing}, så det kan jeg ikke svare på.",
        "year": "Kilderne har ingen oplysninger for {missing}.",
        "live": "Kilderne indeholder ikke aktuelle data som kurser, priser eller nyheder.",
        "personal": "Jeg giver ikke oplysninger om enkeltpersoner, og kilderne indeholder dem ikke.",
        "outcome": "Kilderne er vejledning og regler: de siger ikke, hvem der vandt et bestemt udbud, hvad "
                   "det kostede, eller hvor ofte noget er sket. Se bekendtgørelsen eller tildelingen på "
                   "udbud.dk eller TED.",
        "pitfall": "Typisk faldgrube",
        "earlier": "Tidligere periode",
        "text_as_of": "lovtekst pr.",  # a statute's date, beside its label
        "from_language": "fra en kilde på {language}",
        "languages": {"da": "dansk", "nb": "norsk", "en": "engelsk"},
    },
    "nb": {
        "abstain": "Det finner jeg ikke i kildene.",
        "nearest": "De nærmeste kildene er",
        "offline": "Ingen språkmodell er konfigurert: her er de mest relevante passasjene fra kildene, ordrett.",
        "llm_error": "Språkmodellen kunne ikke svare nå ({reason}). Her er i stedet de mest relevante passasjene fra kildene.",
        "ungrounded": "Språkmodellens svar hadde ingen kontrollerbare kildehenvisninger, så her er passasjene fra kildene i stedet.",
        "unsupported": "Kildene støttet ikke språkmodellens svar, så her er passasjene fra kildene i stedet.",
        "wrong_language": "Språkmodellen svarte på et annet språk enn spørsmålet, så her er passasjene fra kildene i stedet.",
        "trimmed": "Setninger fra språkmodellen som kildene ikke støttet, er fjernet.",
        "writing": "Språkmodellen skriver et svar … deretter kontrolleres hver påstand mot kildene.",
        "checking": "Kildene kontrolleres …",
        "store": "Dokumentlageret er ikke tilgjengelig nå. Prøv igjen om litt.",
        "empty": "Skriv et spørsmål om offentlige anskaffelser.",
        "partial": "Kildene dekker dette bare delvis: passasjene nedenfor er det nærmeste de sier.",
        "missing": "De nevner ikke: {missing}.",
        "named": "Kildene nevner ikke {missing}, så det kan jeg ikke svare på.",
        "year": "Kildene har ingen opplysninger for {missing}.",
        "live": "Kildene inneholder ikke aktuelle data som kurser, priser eller nyheter.",
        "personal": "Jeg gir ikke opplysninger om enkeltpersoner, og kildene inneholder dem ikke.",
        "outcome": "Kildene er veiledning og regler: de sier ikke hvem som vant en bestemt konkurranse, hva "
                   "den kostet, eller hvor ofte noe har skjedd. Se kunngjøringen på Doffin eller TED.",
        "pitfall": "Typisk fallgruve",
        "earlier": "Tidligere periode",
        "text_as_of": "lovtekst per",  # a statute's date, beside its label
        "from_language": "fra en kilde på {language}",
        "languages": {"da": "dansk", "nb": "norsk", "en": "engelsk"},
    },
    "en": {
        "abstain": "I can't find that in the sources.",
        "nearest": "The nearest sources are",
        "offline": "No language model is configured: these are the most relevant passages from the sources, verbatim.",
        "llm_error": "The language model could not answer just now ({reason}). Here are the most relevant passages from the sources instead.",
        "ungrounded": "The language model's answer had no checkable citations, so here are the passages from the sources instead.",
        "unsupported": "The sources did not support the language model's answer, so here are the passages from the sources instead.",
        "wrong_language": "The language model answered in another language than the question's, so here are the passages from the sources instead.",
        "trimmed": "Sentences from the language model that the sources did not support have been removed.",
        "writing": "The language model is writing an answer … then every claim is checked against the sources.",
        "checking": "The sources are being checked …",
        "store": "The document store is unavailable right now. Please try again shortly.",
        "empty": "Please ask a question about public procurement.",
        "partial": "The sources only partly cover this: the passages below are the closest they come.",
        "missing": "They do not mention: {missing}.",
        "named": "The sources do not mention {missing}, so I cannot answer that.",
        "year": "The sources have no information for {missing}.",
        "live": "The sources hold no live data such as exchange rates, prices or news.",
        "personal": "I do not give out information about individuals, and the sources hold none.",
        "outcome": "The sources are guidance and rules: they do not say who won a particular tender, what "
                   "it cost, or how often something has happened. See the award notice on TED or the "
                   "national portal.",
        "pitfall": "Common pitfall",
        "earlier": "Earlier period",
        "text_as_of": "statute text as of",  # a statute's date, beside its label
        "from_language": "from a source in {language}",
        "languages": {"da": "Danish", "nb": "Norwegian", "en": "English"},
    },
}
LANGUAGE_NAMES = {"da": "Danish", "nb": "Norwegian (bokmål)", "en": "English"}



def message(language: str, key: str, **kwargs) -> str:
    return MESSAGES.get(language, MESSAGES["en"])[key].format(**kwargs)
