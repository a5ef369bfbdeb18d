"""The real web app on 127.0.0.1: chat API, staff login, upload -> cited -> deleted."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from gradio_client import Client, handle_file

from tests.conftest import MARKEDSDIALOG_NOTE, ROOT, store_env
from tests.fake_openai import FakeOpenAI
from tests.helpers import free_port

STAFF = ("staff", "pw-staff-Secret-42")

NOTE = MARKEDSDIALOG_NOTE

NEW_DOC = """---
title: Indkøb af droner til havneinspektion
language: da
jurisdiction: DK
sources: ["Eksempel"]
---
# Droner til havneinspektion

## Krav til dronerne
Havneinspektionsdroner skal kunne flyve i vindstyrke op til 15 meter per sekund og sende video i realtid til havnefogeden.
"""


class RunningApp:
    def __init__(self, tmp: Path, extra_env: dict | None = None, files: dict | None = None,
                 corpus: Path | None = None, name: str = "app"):
        self.tmp = tmp
        self.corpus = corpus or tmp / "corpus"
        self.corpus.mkdir(parents=True, exist_ok=True)
        if corpus is None:
            for file, text in {"markedsdialog.md": NOTE, **(files or {})}.items():
                (self.corpus / file).write_text(text, encoding="utf-8")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = tmp / f"{name}.log"
        self.env = {**os.environ, "ASSISTANT_DATA_DIR": str(tmp / f"{name}-data"),
                    "ASSISTANT_CORPUS_DIR": str(self.corpus), "ASSISTANT_PORT": str(self.port),
                    "ASSISTANT_EMBEDDINGS": "local", "ASSISTANT_STAFF_USER": STAFF[0],
                    "ASSISTANT_STAFF_PASSWORD": STAFF[1], "GRADIO_ANALYTICS_ENABLED": "False",
                    # a test's open client connections need not hold a stop for the default 5 s
                    "ASSISTANT_SHUTDOWN_TIMEOUT_S": "1",
                    **store_env(), **(extra_env or {})}
        self.start()

    def start(self):
        self.proc = subprocess.Popen([sys.executable, str(ROOT / "app.py")], env=self.env, cwd=ROOT,
                                     stdout=open(self.log, "a"), stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.url + "/", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if self.proc.poll() is not None:
                break
            time.sleep(0.3)
        raise RuntimeError(f"app did not start:\n{self.log.read_text()}")

    def kill(self):
        self.proc.kill()
        self.proc.wait(timeout=10)

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    running = RunningApp(tmp_path_factory.mktemp("app"))
    yield running
    running.stop()


def ask(app, question: str) -> dict:
    return Client(app.url + "/", verbose=False).predict(message=question, api_name="/chat")


def test_chat_api_answers_with_sources(app):
    answer = ask(app, "Må vi holde markedsdialog med leverandører før udbuddet?")
    assert answer["mode"] == "extractive" and not answer["abstained"]
    assert answer["citations"][0]["source"] == "markedsdialog.md" and answer["citations"][0]["quote"]
    assert "[1]" in answer["answer"]
    # The source link in the panel opens the stored document.
    page = httpx.get(app.url + "/files/markedsdialog.md")
    assert page.status_code == 200 and "Markedsdialog før udbud" in page.text
    assert httpx.get(app.url + "/files/../../etc/passwd").status_code == 404


def test_follow_up_through_the_api_uses_the_history(app):
    first = "Hvad må ordregiveren under markedsdialog?"
    answer = Client(app.url + "/", verbose=False).predict(
        message="og høring?", history=[{"role": "user", "content": first}, {"role": "assistant", "content": "…"}],
        api_name="/chat")
    assert answer["standalone_question"].startswith("og høring?")
    assert "markedsdialog" in answer["standalone_question"]
    standalone = Client(app.url + "/", verbose=False).predict(
        message="Hvad er en rammeaftale?", history=[{"role": "user", "content": first},
                                                   {"role": "assistant", "content": "…"}], api_name="/chat")
    assert standalone["standalone_question"] == "Hvad er en rammeaftale?"  # self-contained: not merged


STAFF_ENDPOINTS = ["upload", "delete", "resync", "inventory", "feedback", "feedback_export"]


def test_staff_actions_are_refused_without_the_login(app):
    chat_api = httpx.get(app.url + "/gradio_api/info").json()
    assert set(chat_api["named_endpoints"]) == {"/chat", "/note"}  # no staff function in the public app
    for name in STAFF_ENDPOINTS:
        response = httpx.post(f"{app.url}/staff/gradio_api/call/{name}", json={"data": []})
        assert response.status_code in (401, 403), name
        assert httpx.post(f"{app.url}/gradio_api/call/{name}", json={"data": []}).status_code >= 400
    assert httpx.get(app.url + "/staff/gradio_api/info").status_code == 401
    with pytest.raises(Exception, match="(?i)login|credentials|auth"):
        Client(app.url + "/staff/", verbose=False)
    with pytest.raises(ValueError, match="(?i)could not login"):
        Client(app.url + "/staff/", auth=("staff", "wrong"), verbose=False)


def test_staff_upload_is_cited_then_delete_removes_it(app, tmp_path):
    staff = Client(app.url + "/staff/", auth=STAFF, verbose=False)
    doc = tmp_path / "droner.md"
    doc.write_text(NEW_DOC, encoding="utf-8")
    rows = staff.predict(uploaded=[handle_file(str(doc))], replace_existing=False, api_name="/upload")[0]
    assert rows["data"][0][:2] == ["droner.md", "tilføjet"]  # the page's language (Danish)
    assert (app.corpus / "droner.md").is_file()

    answer = ask(app, "Hvilken vindstyrke skal havneinspektionsdroner kunne flyve i?")
    assert answer["citations"][0]["source"] == "droner.md"

    again = staff.predict(uploaded=[handle_file(str(doc))], replace_existing=False, api_name="/upload")[0]
    assert again["data"][0][1] == "sprunget over" and "Ny version af" in again["data"][0][3]

    inventory = staff.predict(api_name="/inventory")[0]
    assert "droner.md" in [row[1] for row in inventory["data"]]

    removed = staff.predict(source="droner.md", confirmed=True, api_name="/delete")[0]
    assert removed["data"][0][1] == "fjernet" and not (app.corpus / "droner.md").exists()
    after = ask(app, "Hvilken vindstyrke skal havneinspektionsdroner kunne flyve i?")
    assert all(c["source"] != "droner.md" for c in after["citations"])


def test_upload_names_are_sanitised_and_types_limited(app, tmp_path):
    staff = Client(app.url + "/staff/", auth=STAFF, verbose=False)
    sneaky = tmp_path / "..evil name!.md"
    sneaky.write_text(NEW_DOC.replace("droner", "både"), encoding="utf-8")
    script = tmp_path / "run.sh"
    script.write_text("echo hi", encoding="utf-8")
    rows = staff.predict(uploaded=[handle_file(str(sneaky))], replace_existing=True, api_name="/upload")[0]["data"]
    name = rows[0][0]
    assert rows[0][1] == "tilføjet" and not name.startswith(".") and "!" not in name and "/" not in name
    assert (app.corpus / name).is_file()
    refused = staff.predict(uploaded=[handle_file(str(script))], replace_existing=True, api_name="/upload")[0]
    assert refused["data"][0][1] == "fejlet" and "filtypen er ikke tilladt" in refused["data"][0][3]
    assert sorted(p.name for p in app.corpus.iterdir()) == sorted([name, "markedsdialog.md"])
    staff.predict(source=name, confirmed=True, api_name="/delete")


def test_feedback_export_lists_abstained_questions(app):
    ask(app, "Hvor mange ugers barselsorlov har kommunens medarbejdere?")
    staff = Client(app.url + "/staff/", auth=STAFF, verbose=False)
    votes, gaps = staff.predict(api_name="/feedback")
    assert gaps["data"][0][1] == "Hvor mange ugers barselsorlov har kommunens medarbejdere?"
    path = staff.predict(api_name="/feedback_export")
    assert "barselsorlov" in Path(path).read_text(encoding="utf-8-sig")


def test_no_secret_in_page_api_info_or_log(tmp_path):
    with FakeOpenAI() as server:
        server.reply = "Markedsdialog er tilladt [1]."
        running = RunningApp(tmp_path, {"OPENAI_API_KEY": "sk-super-secret-key", "OPENAI_BASE_URL": server.url,
                                        "ASSISTANT_CHAT_MODEL": "ok"})
        try:
            answer = ask(running, "Må vi holde markedsdialog?")
            assert answer["mode"] == "llm" and answer["citations"]
            texts = [httpx.get(running.url + path).text for path in ("/", "/config", "/gradio_api/info", "/staff/")]
        finally:
            running.stop()
    texts.append(running.log.read_text())
    for text in texts:
        assert "sk-super-secret-key" not in text and STAFF[1] not in text


def test_staff_page_explains_how_to_enable_when_unconfigured(tmp_path):
    running = RunningApp(tmp_path, {"ASSISTANT_STAFF_USER": "", "ASSISTANT_STAFF_PASSWORD": ""})
    try:
        config = httpx.get(running.url + "/staff/config").text
        assert "ASSISTANT_STAFF_PASSWORD" in config
        assert set(httpx.get(running.url + "/staff/gradio_api/info").json()["named_endpoints"]) == set()
    finally:
        running.stop()


def test_the_app_stops_promptly_while_a_client_is_still_connected(tmp_path):
    # An operator's SIGTERM (systemd, docker stop) must not wait for every open browser tab:
    # uvicorn's graceful shutdown is bounded by ASSISTANT_SHUTDOWN_TIMEOUT_S (1 s in RunningApp).
    running = RunningApp(tmp_path)
    client = Client(running.url + "/", verbose=False)
    assert "markedsdialog" in str(client.predict(message="Må vi tale med leverandører?", api_name="/chat")).lower()
    started = time.monotonic()
    running.proc.terminate()
    try:
        running.proc.wait(timeout=6)
    except subprocess.TimeoutExpired:
        running.proc.kill()
        pytest.fail("the app was still running 6 s after SIGTERM with a client connected")
    assert time.monotonic() - started < 6
