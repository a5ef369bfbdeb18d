"""Conversation state (`retrieval.conversation`): what the turns so far established, set by
statements as well as questions, overridden only by what a new turn names, in bounded time."""

from __future__ import annotations

import time

from assistant.retrieval.query import analyse


def test_a_statement_sets_the_procedure_a_short_deadline_question_then_uses():
    q = analyse("Hvor lang er tilbudsfristen?",
                earlier=["Vi gennemfører et begrænset udbud af et nyt journalsystem."])
    assert q.state.procedure == "restricted_procedure"
    assert "begrænset" in q.search_text and "udbud" in q.search_text


def test_a_statement_sets_the_jurisdiction_and_the_object_bought():
    q = analyse("Hvad er tærskelværdien?", earlier=["Vi er en norsk kommune og køber en ny ferje."])
    assert q.scope.wanted == {"NO"}  # scoped by the conversation, though the question names no country
    assert q.state.object == "ferje"


def test_a_new_question_overrides_only_what_it_names():
    earlier = ["Vi er en norsk kommune.", "Vi bruger begrænset udbud."]
    q = analyse("Hvor lang er fristen ved offentligt udbud?", earlier=earlier)
    assert q.state.procedure == "open_procedure"  # named now: it overrides the restricted procedure
    assert q.scope.wanted == {"NO"}  # not named now: the conversation's stays
    assert "begrænset" not in q.search_text
    q = analyse("Og i Danmark?", earlier=earlier)
    assert q.countries == {"DK"} and q.state.procedure == "restricted_procedure"


def test_a_self_contained_question_borrows_no_topic():
    q = analyse("Hvad er en rammeaftale?", earlier=["Vi gennemfører et begrænset udbud af et journalsystem."])
    assert "journalsystem" not in q.search_text


def test_the_state_is_shown_in_the_answer_dict():
    state = analyse("Hvad med fristen?", earlier=["Vi bruger konkurrencepræget dialog i Norge."]).state.to_dict()
    assert state["procedure"] == "competitive_dialogue" and state["jurisdiction"] == ["NO"]


def test_twelve_crafted_back_referring_messages_resolve_fast():
    """The security review: follow-up resolution was exponential in the history (twelve
    crafted back-referring messages cost seconds). It is linear now."""
    analyse("og det?", earlier=["x"])  # load the glossary and the word lists first
    earlier = [f"Og hvad så med det, den og dem der{'?' * (i + 1)}" for i in range(12)]
    started = time.perf_counter()
    analyse("Og hvad så med det?", earlier=earlier)
    assert time.perf_counter() - started < 0.05


def test_a_rewrite_may_add_what_is_in_force_but_never_change_it():
    from assistant.answer.prompts import describe_state
    from assistant.retrieval.conversation import departs_from

    q = analyse("Hvad er fristen i Norge?", earlier=["Vi er en dansk kommune og kører et udbud med forhandling."])
    state = q.state
    assert describe_state(state) == "- country: Norway (NO)\n- procedure: udbud med forhandling"
    assert departs_from("Hvad er fristen ved udbud med forhandling i Norge?", state, q.glossary) == []
    assert departs_from("Hvad er fristen ved udbud med forhandling i Danmark?", state, q.glossary) == ["jurisdiction"]
    assert departs_from("Hvad er fristen ved et begrænset udbud i Norge?", state, q.glossary) == ["procedure"]
    assert describe_state(analyse("Hvad er et innovationspartnerskab?").state) == "- procedure: innovationspartnerskab"


def test_a_short_follow_up_keeps_the_conversations_language():
    # "Og i Norge?" read alone came out Norwegian (lingua reads the country's name as Norwegian).
    q = analyse("Og i Norge?", earlier=["Hvor mange ansøgere skal vi mindst udvælge til en konkurrencepræget dialog?"])
    assert q.language == "da" and q.state.language == "da" and q.countries == {"NO"}
    q = analyse("Hva med fristen?", earlier=["Hvor lang er tilbudsfristen ved offentligt udbud?"])
    assert q.language == "da"  # three words both languages could write: the conversation's
    q = analyse("Og i Danmark?", earlier=["Hvor lang er tilbudsfristen ved åpen anbudskonkurranse?"])
    assert q.language == "nb"


def test_a_turn_clearly_in_another_language_switches_it():
    q = analyse("What about the time limit for tenders in Norway?",
                earlier=["Hvor lang er tilbudsfristen ved offentligt udbud?"])
    assert q.language == "en"
    q = analyse("And in Denmark?", earlier=["Hvor lang er tilbudsfristen ved offentligt udbud?",
                                            "What about the time limit for tenders in Norway?"])
    assert q.language == "en"  # the conversation is in English since the buyer switched


def test_an_unsure_first_turn_is_read_with_the_follow_up():
    # "Hva er LUP?" alone leans Danish; with the Norwegian follow-up both read as Norwegian.
    q = analyse("Hvem er kontaktpersonen for LUP hos NHO, og hva er mobilnummeret hennes?", earlier=["Hva er LUP?"])
    assert q.language == "nb"
