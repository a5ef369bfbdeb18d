"""Issue 24 item 9: a Chroma server that only token holders reach, and a store that notices
tampering. Real `chroma run` (tests/chroma_server.py).

Chroma 1.5's own server does not authenticate: started with CHROMA_SERVER_AUTHN_PROVIDER
(token) and CHROMA_SERVER_AUTHN_CREDENTIALS it still listed collections for a request without
a token (measured: HTTP 200; the Rust frontend has only a no-op authenticator). So the token is
checked by a proxy in front of it, as docs/security.md tells a deployment to do; here a small
one on 127.0.0.1 that refuses any request without the token. The app's part, tested here, is
to send the token (either header) and to stop trusting what the store says."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from pydantic import SecretStr

from assistant.corpus.service import sync
from assistant.store.chroma import Store
from tests.chroma_server import ChromaServer
from tests.conftest import settings_for
from tests.web.test_app import NOTE

TOKEN = "chroma-test-token-0123456789"
FORGED = "Ordregiveren må aldrig tale med leverandører før udbuddet (§ 39)."


class TokenProxy:
    """Forwards to the Chroma server only requests carrying the token (either header)."""

    def __init__(self, upstream: str):
        self.refused = 0
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _forward(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if not (self.headers.get("Authorization") == f"Bearer {TOKEN}"
                        or self.headers.get("X-Chroma-Token") == TOKEN):
                    proxy.refused += 1
                    self.send_response(401)
                    self.send_header("Content-Type", "application/json")
                    data = b'{"error":"Unauthorized","message":"token required"}'
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                    return
                headers = {k: v for k, v in self.headers.items()
                           if k.lower() not in {"host", "content-length", "connection", "authorization",
                                                "x-chroma-token"}}
                response = httpx.request(self.command, upstream + self.path, content=body, headers=headers,
                                         timeout=60)
                self.send_response(response.status_code)
                for key, value in response.headers.items():
                    if key.lower() not in {"content-length", "transfer-encoding", "connection",
                                           "content-encoding"}:
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(response.content)))
                self.end_headers()
                self.wfile.write(response.content)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _forward

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="module")
def chroma(tmp_path_factory):
    with ChromaServer(tmp_path_factory.mktemp("chroma-auth")) as server:
        proxy = TokenProxy(server.url)
        yield server, proxy
        proxy.close()


def settings(tmp_path, url: str, **extra):
    return settings_for(tmp_path, chroma_url=url, collection="c" + str(time.time_ns()), **extra)


@pytest.mark.parametrize("header", ["Authorization", "X-Chroma-Token"])
def test_without_the_token_the_server_is_refused_and_with_it_sync_works(tmp_path, chroma, header):
    server, proxy = chroma
    with_token = settings(tmp_path, proxy.url, chroma_token=SecretStr(TOKEN), chroma_token_header=header)
    (with_token.corpus_dir / "markedsdialog.md").write_text(NOTE, encoding="utf-8")
    report = sync(Store(with_token), with_token)
    assert [r.status for r in report.results] == ["added"]

    before = proxy.refused
    without = with_token.model_copy(update={"chroma_token": None})
    with pytest.raises(Exception):  # noqa: B017 - Chroma's client raises its own error types
        Store(without).documents()
    assert proxy.refused > before
    assert httpx.get(proxy.url + "/api/v2/tenants/default_tenant/databases/default_database/collections"
                     ).status_code == 401


def test_a_chunk_rewritten_in_the_server_is_found_and_repaired_by_the_next_sync(tmp_path, chroma):
    server, proxy = chroma
    app = settings(tmp_path, proxy.url, chroma_token=SecretStr(TOKEN))
    (app.corpus_dir / "markedsdialog.md").write_text(NOTE, encoding="utf-8")
    store = Store(app)
    sync(store, app)

    # The attacker reaches the Chroma port directly and rewrites the § 39 passage.
    import chromadb

    attacker = chromadb.HttpClient(host="127.0.0.1", port=server.port)
    chunks = attacker.get_collection(app.collection, embedding_function=None)
    got = chunks.get(include=["documents"])
    target = next(i for i, text in zip(got["ids"], got["documents"], strict=True) if "§ 39" in text)
    chunks.update(ids=[target], documents=[FORGED])

    report = sync(store, app)
    result = report.results[0]
    assert result.status == "updated" and "no longer match" in result.reason, result
    texts = [c.chunk.text for c in store.all_chunks()]
    assert FORGED not in texts and any("§ 39" in t for t in texts)
    assert sync(store, app).results[0].status == "unchanged"


def test_planted_leases_neither_block_nor_break_staff_writes(tmp_path, chroma, caplog):
    server, proxy = chroma
    app = settings(tmp_path, proxy.url, chroma_token=SecretStr(TOKEN))
    (app.corpus_dir / "markedsdialog.md").write_text(NOTE, encoding="utf-8")
    store = Store(app)
    sync(store, app)

    import chromadb

    attacker = chromadb.HttpClient(host="127.0.0.1", port=server.port)
    lease = attacker.get_or_create_collection(f"{app.collection}__lease", embedding_function=None)
    lease.upsert(ids=["forever", "broken"], embeddings=[[1.0], [1.0]], documents=["x", "y"],
                 metadatas=[{"holder": "forever", "note": "attacker", "expires": time.time() + 10 * 365 * 86400,
                             "host": "elsewhere", "pid": 1},
                            {"note": "no holder, no expiry"}])

    started = time.monotonic()
    (app.corpus_dir / "ny.md").write_text("# Ny\n\nEn ny vejledning om innovationspartnerskaber.\n",
                                          encoding="utf-8")
    with caplog.at_level("WARNING"):
        report = sync(store, app)
    assert time.monotonic() - started < 30
    assert "added" in [r.status for r in report.results]
    assert "malformed or far-future writer lease" in caplog.text
    assert not set(lease.get()["ids"]) & {"forever", "broken"}
