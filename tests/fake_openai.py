"""A tiny OpenAI-compatible HTTP server on 127.0.0.1, so the real `openai` client runs in tests.

The model name picks the behaviour: "ok" streams `FakeOpenAI.reply`, "error-500" /
"error-401" / "error-429" answer with that status, "stall" sleeps past any timeout.
The translation step's requests (recognised by their system prompt) are answered with
`FakeOpenAI.translation` when it is set, and `translation_fault` ("error-500", "stall")
makes only them fail. Every request body is kept in `requests` for assertions.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from assistant.answer.assistant import TRANSLATE_SYSTEM_PROMPT

TRANSLATE_OPENING = TRANSLATE_SYSTEM_PROMPT[:40]


def is_translation(body: dict) -> bool:
    messages = body.get("messages") or [{}]
    return str(messages[0].get("content", "")).startswith(TRANSLATE_OPENING)


class FakeOpenAI:
    def __init__(self):
        self.reply = "Svar [1]."
        self.translation: str | None = None
        self.translation_fault = ""
        self.requests: list[dict] = []
        self.embedding_dim = 8
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                server.requests.append({"path": self.path, "body": body})
                if self.path.endswith("/embeddings"):
                    return self._embeddings(body)
                model = body.get("model", "ok")
                reply = server.reply
                if is_translation(body):
                    model = server.translation_fault or model
                    reply = server.reply if server.translation is None else server.translation
                if model.startswith("error-"):
                    return self._json(int(model.split("-")[1]), {"error": {"message": "fake failure", "type": "server_error"}})
                if model == "stall":
                    time.sleep(5)  # the client has given up by now
                    return None
                if body.get("stream"):
                    return self._stream(reply, model)
                return self._json(200, {
                    "id": "x", "object": "chat.completion", "created": 0, "model": model,
                    "choices": [{"index": 0, "finish_reason": "stop",
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

            def _stream(self, text, model):
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.end_headers()
                words = text.split(" ")
                for i, word in enumerate(words):
                    piece = word + (" " if i < len(words) - 1 else "")
                    chunk = {"id": "x", "object": "chat.completion.chunk", "created": 0, "model": model,
                             "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}]}
                    self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                    self.wfile.flush()
                end = {"id": "x", "object": "chat.completion.chunk", "created": 0, "model": model,
                       "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
                self.wfile.write(f"data: {json.dumps(end)}\n\ndata: [DONE]\n\n".encode())

            def _json(self, status, payload):
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def translation_requests(self) -> list[dict]:
        return [r["body"] for r in self.requests if r["path"].endswith("/chat/completions") and is_translation(r["body"])]

    @property
    def answer_requests(self) -> list[dict]:
        return [r["body"] for r in self.requests
                if r["path"].endswith("/chat/completions") and not is_translation(r["body"])]

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()
