"""The language-model calls: LCEL chains over ChatOpenAI (answer, condense, translate), each
run inside a wall-clock bound, and a short, secret-free description of any failure.

Bounds (issue 27 item 2): the HTTP client's timeout is per read, and a server that sends SSE
keep-alive pings while it processes the prompt resets it forever. So every call here runs in
a worker thread that feeds a queue, and the caller waits on the queue with what is left of
two deadlines: the first token (`first_token_s`) and the whole call (`total_s`). Pings never
reach the queue, so they extend nothing. A call past a deadline is cancelled: its socket is
shut down (the server sees the client go and frees its slot) and its stream closed.

A stream is complete only when the server says so: `finish_reason` "stop" (or "tool_calls",
"content_filter" are treated as failures too). No finish reason (a cut stream: a
single-slot server ends a running stream when a new request arrives) or "length" (the
`max_tokens` bound was hit) means the text is not an answer.

Retry policy, one for all calls: the openai client retries a request that failed before any
token (connection refused, 429, 5xx) once for answers and never for the condense and
translation steps; nothing is retried after a token has arrived, and no retry runs past the
call's total deadline (the caller stops waiting then, whatever the client does).
"""

from __future__ import annotations

import logging
import queue
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache

from assistant.answer.prompts import (
    CONDENSE_HUMAN_PROMPT,
    CONDENSE_SYSTEM_PROMPT,
    HUMAN_PROMPT,
    SYSTEM_PROMPT,
    TRANSLATE_HUMAN_PROMPT,
    TRANSLATE_SYSTEM_PROMPT,
)
from assistant.config import Settings

log = logging.getLogger(__name__)


class CallFailed(Exception):
    """A model call that gave no usable text; `reason` is short, secret-free, user-facing."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(kw_only=True)
class Cancel:
    """Cancels one in-flight HTTP call from another thread: the response's socket, recorded
    by an httpx event hook when its headers arrive, is shut down."""

    cancelled: threading.Event = field(default_factory=threading.Event)
    client: object = None  # the call's own HTTP client, closed with it
    _sockets: list = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, response) -> None:
        stream = response.extensions.get("network_stream")
        sock = stream.get_extra_info("socket") if stream is not None else None
        if sock is None:
            return
        with self._lock:
            self._sockets.append(sock)
            if self.cancelled.is_set():
                _shutdown(sock)

    def __call__(self) -> None:
        """End the call: a finished one's client is closed, an abandoned one's socket too."""
        self.cancelled.set()
        with self._lock:
            for sock in self._sockets:
                _shutdown(sock)
            client, self.client = self.client, None
        if client is not None:
            try:
                client.close()
            except Exception:  # closing races the worker's own close; either is enough
                pass


def _shutdown(sock) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass  # already closed


def openai_chat(settings: Settings, *, timeout: float, max_retries: int, max_tokens: int,
                streaming: bool = True, cancel: Cancel | None = None):
    """The configured OpenAI-compatible chat endpoint. `timeout` is the HTTP client's (per
    read); the wall-clock bound is `stream_bounded`'s. With `cancel`, the call's socket can be
    shut down from another thread."""
    import httpx
    from langchain_openai import ChatOpenAI

    http_client = (httpx.Client(timeout=timeout, verify=_tls(), event_hooks={"response": [cancel.record]})
                   if cancel else None)
    if cancel:
        cancel.client = http_client
    # langchain-openai sends the bound as `max_completion_tokens` (OpenAI's current name); local
    # servers (llama.cpp, llama-cpp-python, vLLM, Ollama) read the older `max_tokens`, so any
    # endpoint other than OpenAI's own gets that too.
    extra = {"max_tokens": max_tokens} if settings.openai_base_url else None
    return ChatOpenAI(model=settings.chat_model, api_key=settings.openai_api_key, base_url=settings.openai_base_url,
                      timeout=timeout, max_retries=max_retries, temperature=0, streaming=streaming,
                      max_tokens=max_tokens, extra_body=extra, http_client=http_client)


@lru_cache(maxsize=1)
def _tls():
    """One TLS context for every call's client: building one loads the CA bundle (~0.1 s)."""
    import httpx

    return httpx.create_ssl_context()


def _chain(chat_model, system: str, human: str):
    from langchain_core.prompts import ChatPromptTemplate

    # No output parser: the stream's chunks carry `finish_reason` in their metadata.
    return ChatPromptTemplate.from_messages([("system", system), ("human", human)]) | chat_model


def build_chain(chat_model):
    """The LCEL chain of the answer: prompt -> chat model (message chunks)."""
    return _chain(chat_model, SYSTEM_PROMPT, HUMAN_PROMPT)


def build_translate_chain(chat_model):
    """The LCEL chain of the translation step: prompt -> chat model."""
    return _chain(chat_model, TRANSLATE_SYSTEM_PROMPT, TRANSLATE_HUMAN_PROMPT)


def build_condense_chain(chat_model):
    """The LCEL chain that rewrites a follow-up as a standalone question."""
    return _chain(chat_model, CONDENSE_SYSTEM_PROMPT, CONDENSE_HUMAN_PROMPT)


_END = object()


def stream_bounded(chain, inputs: dict, *, first_token_s: float, total_s: float,
                   require_finish: bool = True, cancel: Cancel | None = None) -> Iterator[str]:
    """The chain's text pieces as they come, inside two wall-clock deadlines. Raises
    `CallFailed` ("timed out: no first token in N s", "timed out after N s", "cut off", "too long", or
    the client's error) and cancels the call when a deadline passes or the caller stops
    reading. `require_finish`: the stream must end with finish_reason "stop" (an injected
    test model without metadata passes False)."""
    cancel = cancel or Cancel()
    pieces: queue.Queue = queue.Queue()

    def work():
        stream = None
        try:
            stream = iter(chain.stream(inputs))
            for chunk in stream:
                if cancel.cancelled.is_set():
                    break
                text = chunk if isinstance(chunk, str) else str(getattr(chunk, "content", "") or "")
                meta = getattr(chunk, "response_metadata", None) or {}
                pieces.put((text, meta.get("finish_reason")))
        except BaseException as exc:  # handed to the caller
            pieces.put(exc)
        finally:
            if stream is not None and hasattr(stream, "close"):
                try:
                    stream.close()  # closes the HTTP response: the server sees the client go
                except Exception:
                    pass
            pieces.put(_END)

    started = time.monotonic()
    threading.Thread(target=work, daemon=True, name="llm-call").start()
    first_token_s = min(first_token_s, total_s)
    finish = None
    seen_token = False
    try:
        while True:
            now = time.monotonic() - started
            wait = (total_s if seen_token else first_token_s) - now
            try:
                item = pieces.get(timeout=max(wait, 0.0))
            except queue.Empty:
                if seen_token:
                    raise CallFailed(f"timed out after {total_s:g} s") from None
                raise CallFailed(f"timed out: no first token in {first_token_s:g} s") from None
            if item is _END:
                break
            if isinstance(item, BaseException):
                raise CallFailed(failure_reason(item)) from item
            text, reason = item
            finish = reason or finish
            if text:
                seen_token = True
                yield text
        if require_finish and finish != "stop":
            raise CallFailed("too long" if finish == "length" else "cut off" if finish is None
                             else f"stopped: {finish}")
    finally:
        cancel()  # a no-op for a finished call; ends an abandoned one


def run_bounded(chain, inputs: dict, **bounds) -> str:
    """The whole text of a bounded call (see `stream_bounded`)."""
    return "".join(stream_bounded(chain, inputs, **bounds))


def failure_reason(exc: BaseException) -> str:
    """A short, secret-free description of an LLM failure."""
    import openai

    if isinstance(exc, CallFailed):
        return exc.reason
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
