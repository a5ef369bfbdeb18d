"""The composition root: builds store, retriever, assistant, corpus service and feedback
once per process, for the CLI and the web app alike.

Wiring lives here only: the corpus service notifies this retriever after every write
(`on_change=retriever.refresh`), so no front end has to remember to.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from .answer import Assistant
from .config import Settings
from .corpus import Corpus, Role
from .feedback import FeedbackStore, FeedbackUnavailable
from .glossary import Glossary
from .retrieval import Retriever
from .store import Store

log = logging.getLogger(__name__)


@dataclass(kw_only=True)
class Services:
    """Everything a front end needs, built once per process."""

    settings: Settings
    store: Store
    retriever: Retriever
    assistant: Assistant
    corpus: Corpus
    feedback: FeedbackStore | _NoFeedback | None

    @classmethod
    def build(cls, settings: Settings, chat_model=None, *, role: Role = "app",
              feedback: bool = True) -> Services:
        store = Store(settings)
        glossary = Glossary.load(settings.glossary) if settings.glossary else None  # else the shared one
        retriever = Retriever(store, settings, glossary)
        corpus = Corpus(store=store, settings=settings, on_change=retriever.refresh, role=role)
        return cls(settings=settings, store=store, retriever=retriever,
                   assistant=Assistant(retriever, settings, chat_model), corpus=corpus,
                   feedback=_feedback(settings) if feedback else None)


def _feedback(settings: Settings) -> FeedbackStore | _NoFeedback:
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
