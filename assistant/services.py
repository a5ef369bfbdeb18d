"""The composition root: builds store, retriever, assistant, corpus service and feedback
once per process, for the CLI and the web app alike.

Wiring lives here only: the corpus service notifies this retriever after every write
(`on_change=retriever.refresh`), so no front end has to remember to.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from assistant.config import Settings
from assistant.corpus.service import Corpus, Role
from assistant.store.chroma import Store

if TYPE_CHECKING:
    from assistant.answer.assistant import Assistant
    from assistant.records.feedback import FeedbackStore
    from assistant.retrieval.search import Retriever

log = logging.getLogger(__name__)


@dataclass(kw_only=True)
class Services:
    """Everything a front end needs, built once per process.

    The retriever and the assistant are built on first use: a CLI ingest never pays for the
    search and answer stack's imports, and the corpus service refreshes the retriever only
    once one exists.
    """

    settings: Settings
    store: Store
    corpus: Corpus
    feedback: FeedbackStore | _NoFeedback | None = None
    chat_model: object = field(default=None, repr=False)

    @classmethod
    def build(cls, settings: Settings, chat_model=None, *, role: Role = "app",
              feedback: bool = True) -> Services:
        kind, why = settings.embedding_choice
        log.info("Embedding for the store: %s (%s)", kind, why)
        if role == "app":  # the language models load while the app starts, not on the first question
            import threading

            from assistant.text.language import warm_up

            threading.Thread(target=warm_up, name="language-warm-up", daemon=True).start()
        store = Store(settings)
        services = cls(settings=settings, store=store, corpus=Corpus(store=store, settings=settings, role=role),
                       feedback=_feedback(settings) if feedback else None, chat_model=chat_model)
        services.corpus.on_change = services._refresh
        return services

    @cached_property
    def retriever(self) -> Retriever:
        from assistant.retrieval.search import Retriever
        from assistant.text.glossary import Glossary

        glossary = Glossary.load(self.settings.glossary) if self.settings.glossary else None  # else the shared one
        return Retriever(self.store, self.settings, glossary)

    @cached_property
    def assistant(self) -> Assistant:
        from assistant.answer.assistant import Assistant

        return Assistant(self.retriever, self.settings, self.chat_model)

    def _refresh(self) -> None:
        """The corpus changed: the next search rechecks the store (if anything searched yet)."""
        if "retriever" in self.__dict__:
            self.retriever.refresh()


def _feedback(settings: Settings) -> FeedbackStore | _NoFeedback:
    from assistant.records.feedback import FeedbackStore, FeedbackUnavailable

    try:
        return FeedbackStore(Path(settings.data_dir) / "feedback.sqlite3",
                             retention_days=settings.feedback_retention_days)
    except FeedbackUnavailable as exc:
        # Answering never depends on logging: run on, and say why nothing is saved.
        log.error("%s", exc)
        return _NoFeedback(str(exc))


class _NoFeedback:
    """Stands in for the feedback store when the data folder cannot be written."""

    healthy = False

    def __init__(self, reason: str):
        self.reason = reason

    def last_error(self) -> str:
        return self.reason

    def record_answer(self, answer):
        return None

    def vote(self, *args, **kwargs):
        return None

    def comment(self, *args, **kwargs):
        return None

    def latest_feedback(self, limit: int = 100):
        return []

    def gaps(self, limit: int = 100):
        return []

    def purge_old(self) -> int:
        return 0

    def export_csv(self, folder):
        raise OSError(self.reason)
