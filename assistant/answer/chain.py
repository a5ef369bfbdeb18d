"""The language-model calls: LCEL chains over ChatOpenAI (answer, condense, translate) and
a short, secret-free description of any failure."""

from __future__ import annotations

from assistant.answer.prompts import (
    CONDENSE_HUMAN_PROMPT,
    CONDENSE_SYSTEM_PROMPT,
    HUMAN_PROMPT,
    SYSTEM_PROMPT,
    TRANSLATE_HUMAN_PROMPT,
    TRANSLATE_SYSTEM_PROMPT,
)
from assistant.config import Settings


def openai_chat(settings: Settings, *, timeout: float, max_retries: int, streaming: bool = False):
    """The configured OpenAI-compatible chat endpoint (answers and the translation step)."""
    from langchain_openai import ChatOpenAI

    return ChatOpenAI(model=settings.chat_model, api_key=settings.openai_api_key, base_url=settings.openai_base_url,
                      timeout=timeout, max_retries=max_retries, temperature=0, streaming=streaming)


def _chain(chat_model, system: str, human: str):
    from langchain_core.output_parsers import StrOutputParser
    from langchain_core.prompts import ChatPromptTemplate

    prompt = ChatPromptTemplate.from_messages([("system", system), ("human", human)])
    return prompt | chat_model | StrOutputParser()


def build_chain(chat_model):
    """The LCEL chain of the answer: prompt -> chat model -> text."""
    return _chain(chat_model, SYSTEM_PROMPT, HUMAN_PROMPT)


def build_translate_chain(chat_model):
    """The LCEL chain of the translation step: prompt -> chat model -> text."""
    return _chain(chat_model, TRANSLATE_SYSTEM_PROMPT, TRANSLATE_HUMAN_PROMPT)


def build_condense_chain(chat_model):
    """The LCEL chain that rewrites a follow-up as a standalone question."""
    return _chain(chat_model, CONDENSE_SYSTEM_PROMPT, CONDENSE_HUMAN_PROMPT)


def failure_reason(exc: Exception) -> str:
    """A short, secret-free description of an LLM failure."""
    import openai

    # langchain-openai wraps openai's errors in subclasses; match on openai's classes.
    for cls, text in (
        (openai.AuthenticationError, "invalid API key"),
        (openai.PermissionDeniedError, "access denied"),
        (openai.RateLimitError, "rate limit reached"),
        (openai.APITimeoutError, "timed out"),
        (openai.APIConnectionError, "connection failed"),
        (openai.InternalServerError, "server error"),
        (openai.NotFoundError, "model not found"),
        (openai.BadRequestError, "request rejected"),
    ):
        if isinstance(exc, cls):
            return text
    name = type(exc).__name__
    status = getattr(exc, "status_code", None)
    if status:
        return f"HTTP {status}"
    if "timeout" in name.lower() or "timed out" in str(exc).lower():
        return "timed out"
    return name
