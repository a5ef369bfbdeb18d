"""A tiny OpenAI-compatible HTTP server on 127.0.0.1, so the real `openai` client runs in tests,
and misbehaves the way real models and servers do (issue 27).

The model name picks the transport: "ok" answers, "error-500" / "error-401" / "error-429"
answer with that status, "stall" sleeps past any timeout before sending headers.

What the model writes (`mode`, for answer requests):
- "reply": `FakeOpenAI.reply` (a string, or a function of the request body);
- "faithful": the first sentence of source 1, cited [1];
- "no_citations": the same sentence, no marker;
- "wrong_source": the first sentence of source 1, cited to source 2;
- "invented": "the deadline is 99 days [1]" and "a guarantee of DKK 7.5 m under § 999 [2]";
- "other_language": a sourced sentence translated into English, cited (for a Danish question).

How the server behaves:
- `prompt_seconds` with `ping_every`: slow prompt processing, an SSE comment (": ping") every
  `ping_every` s before the first token (llama.cpp's keep-alive);
- `token_delay`: seconds between tokens;
- `finish`: the last chunk's finish_reason ("stop"; "length"; None sends no finish chunk: a
  cut stream that still ends with [DONE]);
- `single_slot`: one request at a time: a new request ends the running stream at once (no
  finish_reason), as llama.cpp's single-slot server does; `interrupted` counts them;
- `disconnected`: streams whose client went away before the end (a cancelled call).
The condense step's requests (recognised by their system prompt) get `condensed` when it is
set (a string, or a function of the request body), and are listed in `condense_requests`.
The translation step's requests (recognised by their system prompt) get `translation` when it
is set (fenced, garbled or chatty JSON are strings like any other), and `translation_fault`
("error-500", "stall") makes only them fail. Every request body is kept in `requests`.
"""

from __future__ import annotations

import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from assistant.answer.prompts import CONDENSE_SYSTEM_PROMPT, TRANSLATE_SYSTEM_PROMPT

TRANSLATE_OPENING = TRANSLATE_SYSTEM_PROMPT[:40]
CONDENSE_OPENING = CONDENSE_SYSTEM_PROMPT[:40]
INVENTED = "The deadline is 99 days [1]. The supplier must provide a guarantee of DKK 7.5 m under § 999 [2]."
_SOURCE = re.compile(r'<source n="(\d+)"[^\n]*\n(.*?)\n</source>', re.S)


def is_translation(body: dict) -> bool:
    messages = body.get("messages") or [{}]
    return str(messages[0].get("content", "")).startswith(TRANSLATE_OPENING)


def is_condense(body: dict) -> bool:
    messages = body.get("messages") or [{}]
    return str(messages[0].get("content", "")).startswith(CONDENSE_OPENING)


def sources_of(body: dict) -> dict[int, str]:
    """The numbered sources an answer request was given."""
    human = str((body.get("messages") or [{}, {}])[-1].get("content", ""))
    return {int(n): text for n, text in _SOURCE.findall(human)}


def cite(body: dict, text: str) -> int:
    """The number of the source that holds `text` (0 when none does)."""
    return next((n for n, source in sources_of(body).items() if text in source), 0)


def first_sentence(text: str) -> str:
    text = re.sub(r"^\[[^\]]*\]\s*", "", text.strip())  # a unit label
    sentence = re.split(r"(?<=[.!?])\s+", text.replace("\n", " "))[0]
    return sentence.rstrip(".!? ")


class FakeOpenAI:
    def __init__(self):
        self.reply = "Svar [1]."
        self.mode = "reply"
        self.translation: str | None = None
        self.condensed = None  # str | Callable[[dict], str] | None: the condense step's reply
        self.translation_fault = ""
        self.prompt_seconds = 0.0
        self.ping_every = 1.0
        self.token_delay = 0.0
        self.finish: str | None = "stop"
        self.single_slot = False
        self.interrupted = 0
        self.disconnected = 0
        self.requests: list[dict] = []
        self.embedding_dim = 8
        self._generation = 0
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                server.requests.append({"path": self.path, "body": body})
                if self.path.endswith("/embeddings"):
                    return self._embeddings(body)
                with server._lock:  # a new request ends the running one (single slot)
                    server._generation += 1
                    generation = server._generation
                model = body.get("model", "ok")
                reply = server.answer(body)
                if is_translation(body):
                    model = server.translation_fault or model
                    reply = reply if server.translation is None else server.translation
                if is_condense(body) and server.condensed is not None:
                    reply = server.condensed(body) if callable(server.condensed) else server.condensed
                if model.startswith("error-"):
                    return self._json(int(model.split("-")[1]), {"error": {"message": "fake failure", "type": "server_error"}})
                if model == "stall":
                    time.sleep(5)  # the client has given up by now
                    return None
                if body.get("stream"):
                    try:
                        return self._stream(reply, model, generation)
                    except (BrokenPipeError, ConnectionResetError):
                        server.disconnected += 1
                        return None
                return self._json(200, {
                    "id": "x", "object": "chat.completion", "created": 0, "model": model,
                    "choices": [{"index": 0, "finish_reason": server.finish,
                                 "message": {"role": "assistant", "content": reply}}],
                    "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
                })

            def _embeddings(self, body):
                inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
                data = []
                for i, text in enumerate(inputs):
                    text = text if isinstance(text, str) else " ".join(map(str, text))
                    vec = [float((hash(text) >> (4 * k)) % 7 + 1) for k in range(server.embedding_dim)]
                    data.append({"object": "embedding", "index": i, "embedding": vec})
                return self._json(200, {"object": "list", "data": data, "model": body.get("model"),
                                        "usage": {"prompt_tokens": 1, "total_tokens": 1}})

            def _superseded(self, generation: int) -> bool:
                return server.single_slot and generation != server._generation

            def _stream(self, text, model, generation):
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.end_headers()
                self.wfile.flush()
                started, next_ping = time.monotonic(), server.ping_every
                while (waited := time.monotonic() - started) < server.prompt_seconds:  # prompt processing
                    time.sleep(min(0.05, server.prompt_seconds - waited))
                    if self._superseded(generation):
                        return self._end(model, None, generation)
                    if time.monotonic() - started >= next_ping:  # only pings, like llama.cpp
                        self.wfile.write(b": ping\n\n")
                        self.wfile.flush()
                        next_ping += server.ping_every
                for piece in re.findall(r"\s*\S+\s*", text) or [text]:  # a token: a word and its spaces
                    if self._superseded(generation):
                        return self._end(model, None, generation)
                    chunk = {"id": "x", "object": "chat.completion.chunk", "created": 0, "model": model,
                             "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}]}
                    self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                    self.wfile.flush()
                    if server.token_delay:
                        time.sleep(server.token_delay)
                self._end(model, server.finish, generation)

            def _end(self, model, finish, generation):
                if finish is None and self._superseded(generation):
                    server.interrupted += 1
                if finish is not None:
                    end = {"id": "x", "object": "chat.completion.chunk", "created": 0, "model": model,
                           "choices": [{"index": 0, "delta": {}, "finish_reason": finish}]}
                    self.wfile.write(f"data: {json.dumps(end)}\n\n".encode())
                self.wfile.write(b"data: [DONE]\n\n")
                self.wfile.flush()

            def _json(self, status, payload):
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def answer(self, body: dict) -> str:
        """What the model writes for this request (see the module's docstring)."""
        if self.mode == "reply":
            return self.reply(body) if callable(self.reply) else self.reply
        if self.mode == "invented":
            return INVENTED
        sources = sources_of(body)
        first = first_sentence(sources.get(1, "")) if sources else "Ingen kilder"
        if self.mode == "faithful":
            return f"{first} [1]."
        if self.mode == "no_citations":
            return f"{first}."
        if self.mode == "wrong_source":
            return f"{first} [2]."
        if self.mode == "other_language":
            return ("The contracting authority may hold a market dialogue with suppliers before the "
                    "tender, as long as it does not distort competition [1].")
        raise ValueError(f"unknown mode {self.mode!r}")

    @property
    def translation_requests(self) -> list[dict]:
        return [r["body"] for r in self.requests if r["path"].endswith("/chat/completions") and is_translation(r["body"])]

    @property
    def condense_requests(self) -> list[dict]:
        return [r["body"] for r in self.requests if r["path"].endswith("/chat/completions") and is_condense(r["body"])]

    @property
    def answer_requests(self) -> list[dict]:
        return [r["body"] for r in self.requests if r["path"].endswith("/chat/completions")
                and not is_translation(r["body"]) and not is_condense(r["body"])]

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()
