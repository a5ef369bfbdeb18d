"""Answers: retrieval, then either a language model or the extractive fallback, always with
citations checked against what was retrieved. This module orchestrates one turn; the parts
live beside it: `types` (Answer, Citation), `messages`, `history`, `prompts`, `chain` (the
model calls), `translation`, `citations`, `render`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import date
from typing import Literal

from assistant.answer.chain import (
    Cancel,
    build_chain,
    build_condense_chain,
    build_translate_chain,
    failure_reason,
    openai_chat,
    run_bounded,
    stream_bounded,
)
from assistant.answer.citations import (
    check_citations,
    check_claims,
    citation,
    declines,
    first_sentence,
    label,
    normalise_output,
)
from assistant.answer.compose import compose
from assistant.answer.extractive import best_sentences
from assistant.answer.history import (
    MAX_QUESTION_CHARS,
    bound_history,
    clean,
    combine_with_history,
    previous_questions,
)
from assistant.answer.prompts import (
    LANGUAGE_NAMES,
    SYSTEM_PROMPT,
    TRANSLATE_SYSTEM_PROMPT,
    condense_inputs,
    format_sources,
    prompt_inputs,
    translate_inputs,
)
from assistant.answer.render import format_baseline, format_composition, with_notice
from assistant.answer.translation import parse_translations
from assistant.answer.types import (
    AbstainReason,
    Answer,
    Citation,
    Composer,
    Mode,
    Progress,
    Status,
    Turn,
)
from assistant.config import Settings
from assistant.i18n import MESSAGES, message
from assistant.retrieval import jurisdiction
from assistant.retrieval.conversation import PROCEDURE_KINDS, departs_from, read_turn
from assistant.retrieval.query import Query, analyse, out_of_scope
from assistant.retrieval.search import Retriever
from assistant.store.chroma import StoreUnavailable
from assistant.text.language import detect_language
from assistant.text.words import query_stems, words

# The public names, importable from here as before the split.
__all__ = ["AbstainReason", "Answer", "Assistant", "Citation", "Composer", "LANGUAGE_NAMES", "MESSAGES",
           "Mode", "Status", "SYSTEM_PROMPT", "TRANSLATE_SYSTEM_PROMPT", "bound_history", "build_chain",
           "build_translate_chain", "check_citations", "combine_with_history", "format_composition",
           "format_sources", "message", "parse_translations", "previous_questions", "prompt_inputs",
           "translate_inputs"]

log = logging.getLogger(__name__)

SOURCES_FOR_LLM = 5
SOURCES_FOR_EXTRACT = 4


class Assistant:
    """Question in, grounded `Answer` out (streamed or whole)."""

    def __init__(self, retriever: Retriever, settings: Settings, chat_model=None, translator=None):
        self.retriever = retriever
        self.settings = settings
        self._chat_model = chat_model
        # The model for the translation step (see `translate_enabled`); injectable for tests.
        self._translator = translator

    @property
    def llm_enabled(self) -> bool:
        return self._chat_model is not None or self.settings.llm_enabled

    @property
    def translate_enabled(self) -> bool:
        """Whether the translation step runs: `ASSISTANT_TRANSLATE_QUERY` on and a model for it
        (the configured endpoint, or an injected `translator`). An injected `chat_model`
        answers only: without an endpoint in the settings there is no translation."""
        return self.settings.translate_query and (self._translator is not None or self.settings.llm_enabled)

    def _call(self, step: Step) -> _Call:
        """A model for one call of a step, with its bounds. The configured endpoint gets a
        fresh client per call, so an abandoned call's socket can be shut down (`Cancel`);
        an injected model (tests) is used as it is."""
        s = self.settings
        total, first, max_tokens, retries = {
            "answer": (s.llm_timeout, s.llm_first_token_timeout, s.llm_max_tokens, 1),
            "condense": (min(s.condense_timeout, s.llm_timeout),) * 2 + (s.condense_max_tokens, 0),
            "translate": (min(s.translate_timeout, s.llm_timeout),) * 2 + (s.translate_max_tokens, 0),
        }[step]
        injected = self._translator if step == "translate" else self._chat_model
        if injected is not None:
            return _Call(model=injected, cancel=Cancel(), first_token_s=first, total_s=total, require_finish=False)
        cancel = Cancel()
        # Every call streams: a server notices a client that has gone only while it streams.
        # llama-cpp-python finished a non-streamed condense call 8 s after its 60 s deadline had
        # cancelled it, and the answer waited behind it (make test-llm, 7 Dec 2026).
        model = openai_chat(s, timeout=total, max_retries=retries, max_tokens=max_tokens,
                            streaming=True, cancel=cancel)
        return _Call(model=model, cancel=cancel, first_token_s=first, total_s=total, require_finish=True)

    def ask(self, question: str, history: list[dict] | None = None, composer: Composer = "units") -> Answer:
        *_, final = self.stream(question, history, composer=composer)
        return final

    def today(self) -> date:
        return self.settings.today or date.today()

    def stream(self, question: str, history: list[dict] | None = None,
               composer: Composer = "units") -> Iterator[Answer]:
        """Partial answers while the text grows; the last one carries checked citations.

        `composer="baseline"` is the first release's sentence picker with its merge-every-short-
        question follow-up rule, kept callable so evaluations measure the gain beside it."""
        started = time.perf_counter()
        question = clean(question)
        history = bound_history(history)
        if not question:
            language = detect_language(question)  # no words: the default
            yield Answer(question=question, answer=message(language, "empty"), abstained=True,
                         mode=self._mode(), language=language, status="error", error="empty_question")
            return
        # The question is analysed once per turn, with the conversation's state; search, the
        # gate, the boosts and the composer all read this one `Query`.
        query = analyse(question, earlier=previous_questions(history), today=self.today(),
                        glossary=self.retriever.glossary)
        language = query.language  # read once in `analyse`: its own, or the conversation's
        standalone = (combine_with_history(question, history) if composer == "baseline"
                      else self._standalone(question, query, history))
        timings: dict[str, float] = {}
        translations: dict[str, str] = {}
        try:
            if composer != "baseline":
                translations = self._translate(standalone, query, timings)
            result = self.retriever.search(standalone, k=max(SOURCES_FOR_LLM, self.settings.top_k),
                                           translations=translations,
                                           asked=query if composer != "baseline" else None)
        except StoreUnavailable as exc:
            log.warning("store unavailable: %s", exc)
            yield Answer(question=question, answer=message(language, "store"), abstained=True,
                         mode=self._mode(), language=language, standalone_question=standalone,
                         error="store_unavailable", status="error")
            return
        timings["retrieval_ms"] = round(result.timings.get("total_ms", 0.0), 2)
        turn = Turn(question=question, standalone=standalone, language=language, result=result, query=query,
                    started=started, timings=timings)
        for answer in self._answers(turn, composer):
            # Keyword search only (the embedding endpoint is down): every answer says so.
            answer = with_notice(answer, result.notice(language)) if result.degraded else answer
            # What the conversation established, shown beside `standalone_question`.
            answer = replace(answer, conversation=query.state.to_dict())
            yield replace(answer, translations=dict(translations)) if translations else answer

    def _answers(self, turn: Turn, composer: Composer) -> Iterator[Answer]:
        result = turn.result
        if composer == "baseline":
            if result.abstain:
                yield self._abstention(turn, reason="gate")
            else:
                yield self._extractive_baseline(turn, notice=message(turn.language, "offline"))
            return
        # The specific reason first: "who won …", live data or a name no source mentions tells the
        # buyer where to look instead, which the gate's "the sources do not cover it" does not.
        scope = self.retriever.out_of_scope(turn.query, result.hits[:SOURCES_FOR_LLM])
        if scope.reason:
            yield self._abstention(turn, reason=scope.reason, missing=scope.missing)
            return
        if result.abstain:
            yield self._abstention(turn, reason="gate")
            return
        if self.llm_enabled:
            yield from self._llm_answer(turn)
        else:
            yield self._extractive(turn, notice=message(turn.language, "offline"))

    # --- modes ---------------------------------------------------------------------------------

    def _mode(self) -> Mode:
        return "llm" if self.llm_enabled else "extractive"

    def _standalone(self, question: str, query: Query, history: list[dict] | None) -> str:
        """The question to search with: a follow-up borrows the conversation's topic, a
        self-contained question (however short) stands alone. Same rule in both modes."""
        if not query.extra:
            return question
        if self.llm_enabled:  # a follow-up (query.extra is set): the model may phrase it better
            try:
                return self._condense(question, query, history) or query.search_text
            except Exception as exc:  # condensing is a nicety; never fail the answer for it
                log.warning("condensing failed: %s", failure_reason(exc))
        return query.search_text

    def _condense(self, question: str, query: Query, history: list[dict]) -> str:
        """The model's standalone question, given the conversation state in force (the same
        state and override rule as offline: `conversation.resolve`). A rewrite that names a
        country or procedure not in force is not used (""); one that leaves out the procedure
        in force for a deadline or a count gets its words added, as offline."""
        call = self._call("condense")
        state = query.state
        reply = run_bounded(build_condense_chain(call.model), condense_inputs(question, history, state),
                            **call.bounds())
        text = clean(normalise_output(reply))[:MAX_QUESTION_CHARS]
        glossary = self.retriever.glossary
        departs = departs_from(text, state, glossary)
        if departs:
            log.warning("condensed question names a %s not in force: searching with the offline rule",
                        " and a ".join(departs))
            return ""
        if (text and state.procedure and state.procedure_terms and query.kind in PROCEDURE_KINDS
                and not read_turn(text, glossary).procedure):
            text = f"{text} {state.procedure_terms}"
        return text

    def _translate(self, text: str, query: Query, timings: dict) -> dict[str, str]:
        """The question in the corpus's other languages, from one bounded model call, for
        search ({} when off, not needed, or failed: then search uses glossary terms only).
        Its time goes into `timings["translate_ms"]` whenever the call is made."""
        if not self.translate_enabled:
            return {}
        index = self.retriever.index()
        targets = [lang for lang in index.languages if lang != query.language and lang in LANGUAGE_NAMES]
        if not targets:
            return {}
        skip = _refused_whatever_found(query, index.vocab)
        if skip:
            log.info("no translation: %s", skip)
            return {}
        started = time.perf_counter()
        try:
            call = self._call("translate")
            reply = normalise_output(run_bounded(build_translate_chain(call.model), translate_inputs(text, targets),
                                                 **call.bounds()))
            translations = parse_translations(reply, targets)
            why = "" if translations else f"unparsable reply of {len(str(reply))} characters"
        except Exception as exc:  # search runs without it; the buyer sees no error
            translations, why = {}, failure_reason(exc)
        timings["translate_ms"] = round((time.perf_counter() - started) * 1000, 2)
        if why:
            log.warning("query translation failed (%s, %.0f ms): searching with glossary terms only",
                        why, timings["translate_ms"])
        else:
            # The texts go with the answer (its `translations`), not into the log.
            log.info("searching with translations into %s (%.0f ms)", ", ".join(translations),
                     timings["translate_ms"])
        return translations

    def _abstention(self, turn: Turn, *, reason: AbstainReason, missing: list[str] | None = None) -> Answer:
        language = turn.language
        nearest = [h for h in turn.result.hits if h.role != "sources"][:3]
        if reason in {"named", "year"}:
            lines = [message(language, reason, missing=", ".join(missing or []))]
        elif reason in {"live", "personal", "outcome"}:
            lines = [message(language, reason)]
        else:
            lines = [message(language, "abstain")]
        if nearest and reason != "personal":
            lines.append("")
            lines.append(message(language, "nearest") + ":")
            lines += [f"- {label(h)}" for h in nearest]
        else:
            nearest = []
        citations = [citation(n, h, first_sentence(h.text), language) for n, h in enumerate(nearest, start=1)]
        return Answer(question=turn.question, answer="\n".join(lines), abstained=True, mode=self._mode(),
                      citations=citations, language=language, standalone_question=turn.standalone,
                      timings=turn.elapsed(), status="abstained", reason=reason)

    def _extractive(self, turn: Turn, *, notice: str = "", error: str = "") -> Answer:
        hits = turn.result.hits[:10]
        composition = compose(turn.query, hits, today=self.today())
        if not composition.units:
            return self._abstention(turn, reason="gate")
        weak = composition.support == "partial"
        text, citations = format_composition(composition, hits, turn.language, notice, weak)
        return Answer(question=turn.question, answer=text, abstained=False, mode="extractive",
                      citations=citations, language=turn.language, standalone_question=turn.standalone,
                      notice=notice, error=error, timings=turn.elapsed(),
                      status="weak" if weak else "answered")

    def _extractive_baseline(self, turn: Turn, *, notice: str = "") -> Answer:
        hits = turn.result.hits[:SOURCES_FOR_EXTRACT]
        text, citations = format_baseline(best_sentences(turn.standalone, hits), hits, notice)
        return Answer(question=turn.question, answer=text, abstained=False,
                      mode="extractive", citations=citations, language=turn.language,
                      standalone_question=turn.standalone, notice=notice, timings=turn.elapsed())

    def _llm_answer(self, turn: Turn) -> Iterator[Answer]:
        """Progress while the model writes and while its claims are checked, then the checked
        answer: no unchecked model text is ever yielded as the answer."""
        language = turn.language
        # Another country's law is never given to the model as a source for this question.
        scope = turn.query.scope
        hits = [h for h in turn.result.hits if h.role != "sources"
                and jurisdiction.allowed(scope, jurisdiction.of_passage(h.jurisdiction, h.language),
                                         label=jurisdiction.hit_label(h), hinges=turn.query.hinges)][:self.settings.top_k]
        yield self._progress(turn, "writing")
        llm_started = time.perf_counter()
        call = self._call("answer")
        try:
            text = "".join(stream_bounded(build_chain(call.model),
                                          prompt_inputs(turn.standalone, hits, language, turn.query, self.today()),
                                          **call.bounds()))
        except Exception as exc:  # CallFailed, or anything the client raised
            reason = failure_reason(exc)
            log.warning("LLM call failed: %s", reason)
            turn.timings["llm_ms"] = round((time.perf_counter() - llm_started) * 1000, 2)
            yield self._extractive(turn, notice=message(language, "llm_error", reason=reason), error=reason)
            return
        turn.timings["llm_ms"] = round((time.perf_counter() - llm_started) * 1000, 2)
        yield self._progress(turn, "checking")
        if declines(text):  # the whole answer says the sources do not cover it
            # The gate let these passages through, so the model's "not covered" is not the last
            # word: a buyer who is only told "not in the sources" while the extracts hold the
            # fact loses it (a small local model declined a covered 35-day question this way in
            # make test-llm). The extracts are shown with a notice; only when the composer finds
            # no answering unit either is it an abstention.
            fallback = self._extractive(turn, notice=message(language, "declined"), error="declined")
            yield self._abstention(turn, reason="model") if fallback.abstained else fallback
            return
        checked = check_claims(text, hits, language=language)
        if checked.claims or checked.uncited:
            log.info("claim check: %d of %d cited sentences supported, %d uncited",
                     checked.supported, len(checked.claims), checked.uncited)
        counts = checked.counts()
        if not checked.text:
            error = "unsupported" if checked.claims else "no_citations"
            key = "unsupported" if checked.claims else "ungrounded"
            yield replace(self._extractive(turn, notice=message(language, key), error=error), claims=counts)
            return
        if checked.language and checked.language != language:
            log.warning("model answered in %s to a question in %s", checked.language, language)
            yield replace(self._extractive(turn, notice=message(language, "wrong_language"), error="wrong_language"),
                          claims=counts)
            return
        # The shown text checked again: every cited sentence in it must pass (0 unless broken).
        counts["shown_unsupported"] = check_claims(checked.text, hits, language=language).unsupported
        notice = message(language, "trimmed") if checked.unsupported or checked.uncited > _lead_ins(checked) else ""
        answer = Answer(question=turn.question, answer=checked.text, abstained=False, mode="llm",
                        citations=checked.citations, language=language, standalone_question=turn.standalone,
                        timings=turn.elapsed(), claims=counts)
        yield with_notice(answer, notice)

    def _progress(self, turn: Turn, state: Progress) -> Answer:
        return Answer(question=turn.question, answer=f"*{message(turn.language, state)}*", abstained=False,
                      mode="llm", language=turn.language, standalone_question=turn.standalone, progress=state)


Step = Literal["answer", "condense", "translate"]


@dataclass(kw_only=True)
class _Call:
    model: object
    cancel: Cancel
    first_token_s: float
    total_s: float
    require_finish: bool

    def bounds(self) -> dict:
        return {"first_token_s": self.first_token_s, "total_s": self.total_s,
                "require_finish": self.require_finish, "cancel": self.cancel}


def _lead_ins(checked) -> int:
    """Uncited sentences that were kept: fact-free lead-ins ("The conditions are:")."""
    return sum(line.endswith(":") for line in checked.text.split("\n"))


def _refused_whatever_found(query: Query, vocabulary) -> str:
    """Why the question is refused whatever search finds ("" when it is not), decided
    before search, so it is not sent to the model for translation: live data, personal
    data, outcomes of tenders, or a named thing the corpus never mentions."""
    if query.live:
        return "it asks for live data"
    if query.outcome:
        return "it asks for a tender's outcome"
    if out_of_scope(query, []).reason == "personal":
        return "it asks about a person"
    for hinge in query.hinges:
        if any(not (query_stems(w) & vocabulary.keys()) for w in words(hinge)):
            return f"the corpus never mentions {hinge!r}"
    return ""
