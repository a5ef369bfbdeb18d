"""The app in a real browser (Playwright + Debian's Chromium): chat, sources, staff page."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.web.test_app import NEW_DOC, STAFF, RunningApp

CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
# Screenshots go to a temporary folder; `make screenshots` sets ASSISTANT_SCREENSHOTS to
# docs/screenshots to refresh README's on purpose (tests write only to temp folders).
SCREENSHOTS = Path(os.environ.get("ASSISTANT_SCREENSHOTS") or tempfile.mkdtemp(prefix="screenshots-"))
SCREENSHOTS.mkdir(parents=True, exist_ok=True)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="no Chromium found (install Debian's `chromium`)"),
]


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    guide = ("---\ntitle: Life-cycle costing guide\nlanguage: en\n---\n# Life-cycle costing\n\n"
             "## What it covers\nLife-cycle costing adds energy use, maintenance and disposal costs to the purchase price.\n")
    running = RunningApp(tmp_path_factory.mktemp("browser"), files={"guide.md": guide})
    yield running
    running.stop()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        )
        yield browser
        browser.close()


def test_chat_streams_an_answer_with_sources_and_opens_the_source(app, browser):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(app.url + "/")
    page.get_by_label("Dit spørgsmål").fill("Må vi holde markedsdialog med leverandører før udbuddet?")
    page.keyboard.press("Enter")
    page.locator("#chat").get_by_text("Ingen sprogmodel er konfigureret").wait_for(timeout=30_000)
    card = page.locator("#sources .source-card").first
    card.wait_for(timeout=30_000)
    assert "Markedsdialog før udbud" in card.inner_text()
    assert page.locator("#mode").inner_text().startswith("Uden sprogmodel")
    with page.expect_popup() as popup:
        card.locator("a.source-link").click()
    source = popup.value
    source.wait_for_load_state()
    assert "/read/markedsdialog" in source.url and "Markedsdialog før udbud" in source.locator("h1").inner_text()
    assert "title:" not in source.content()  # the front matter is a header, not raw YAML
    assert source.locator("#cited").count() == 1
    page.close()


def test_abstention_looks_different_and_html_is_inert(app, browser):
    page = browser.new_page()
    page.goto(app.url + "/")
    alerts = []
    page.on("dialog", lambda d: (alerts.append(d.message), d.dismiss()))
    page.get_by_label("Dit spørgsmål").fill("<img src=x onerror=alert(1)> Hvad koster en barselsorlov?")
    page.get_by_role("button", name="Send", exact=True).click()
    page.locator("#sources .sources-nearest").wait_for(timeout=30_000)
    assert "Ikke i kilderne" in page.locator("#chat").inner_text()
    assert alerts == []
    page.close()


def test_english_interface_and_keyboard_use_on_a_phone(app, browser):
    page = browser.new_page(viewport={"width": 390, "height": 844})
    page.goto(app.url + "/")
    page.get_by_label("English").check()
    page.get_by_label("Your question").wait_for(timeout=10_000)
    page.get_by_label("Your question").fill("What does life-cycle costing cover?")
    page.keyboard.press("Enter")
    page.locator("#sources .source-card").first.wait_for(timeout=30_000)
    assert "No language model is configured" in page.locator("#chat").inner_text()
    # Switching back keeps the sources panel (in Danish now).
    page.get_by_label("Dansk").check()
    expect(page.locator("#sources .source-card").first).to_contain_text("Åbn kilden", timeout=10_000)
    page.get_by_role("button", name="Ny samtale").click()
    page.locator("#sources .sources-empty").wait_for(timeout=10_000)
    page.close()


def test_staff_logs_in_uploads_sees_and_deletes_a_document(app, browser, tmp_path):
    doc = tmp_path / "droner.md"
    doc.write_text(NEW_DOC, encoding="utf-8")
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(app.url + "/staff/")
    page.locator("input").first.fill(STAFF[0])
    page.locator("input[type=password]").fill(STAFF[1])
    page.keyboard.press("Enter")
    page.get_by_role("tab", name="Upload").click()
    page.locator("#upload-files input[type=file]").set_input_files(str(doc))
    page.locator("#upload").click()
    expect(page.locator("#upload-result")).to_contain_text("tilføjet", timeout=60_000)
    page.get_by_role("tab", name="Dokumenter").click()
    page.locator("#refresh").click()
    expect(page.locator("#inventory")).to_contain_text("droner.md", timeout=20_000)
    page.locator("#delete-choice input").click()
    page.get_by_role("option", name="Indkøb af droner til havneinspektion (droner.md)").click()
    page.locator("#delete-confirm input").check()
    page.locator("#delete").click()
    expect(page.get_by_text("fjernet").first).to_be_attached(timeout=20_000)
    assert not (app.corpus / "droner.md").exists()
    page.close()


def test_deadline_answer_highlights_the_fact_and_the_card_shows_its_date_and_link(tmp_path, browser):
    from tests.answer.test_compose import NOTE

    app = RunningApp(tmp_path, files={"frister.md": NOTE}, name="deadline")
    try:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(app.url + "/")
        page.get_by_label("Dit spørgsmål").fill("Hvad er fristen for tilbud ved offentligt udbud?")
        page.keyboard.press("Enter")
        strong = page.locator("#chat strong", has_text="mindst 35 dage")
        strong.first.wait_for(timeout=30_000)
        card = page.locator("#sources .source-card").first
        card.wait_for(timeout=30_000)
        assert "Gælder pr. 2026-12-01" in card.inner_text()
        official = card.locator("a.official-link")
        assert official.first.get_attribute("href") == "https://www.retsinformation.dk/eli/lta/2025/116"
        page.screenshot(path=str(SCREENSHOTS / "deadline-answer.png"), full_page=True)
        card.screenshot(path=str(SCREENSHOTS / "source-card.png"))
        page.close()
    finally:
        app.stop()


def test_on_a_phone_the_answer_and_its_sources_are_in_view_after_sending(app, browser):
    page = browser.new_page(viewport={"width": 375, "height": 740})
    page.goto(app.url + "/")
    question = page.get_by_label("Dit spørgsmål")
    question.fill("Må vi holde markedsdialog med leverandører før udbuddet?")
    question.press("Enter")
    page.locator("#sources .source-card").first.wait_for(timeout=30_000)
    page.locator("#status", has_text="Svaret er klar").wait_for(timeout=30_000)
    page.wait_for_timeout(400)
    answer = page.locator("#chat .message-row.bot-row").last.bounding_box()
    assert 0 <= answer["y"] < 740 * 0.6, f"the answer starts at y={answer['y']:.0f}, not in view"
    # The cited sources follow the answer directly: after the chat, before the examples.
    chat = page.locator("#chat").bounding_box()
    card = page.locator("#sources .source-card").first.bounding_box()
    examples = page.locator("#examples").bounding_box()
    assert chat["y"] + chat["height"] <= card["y"] < examples["y"], (chat, card, examples)
    assert card["y"] - (chat["y"] + chat["height"]) < 200
    # The answer is not squeezed into a box that scrolls on its own.
    assert page.evaluate("() => { const b = document.querySelector('#chat .bubble-wrap');"
                         " return b.scrollHeight <= b.clientHeight + 2; }")
    page.screenshot(path=str(SCREENSHOTS / "phone-answer-375.png"))
    page.close()


def test_footer_names_no_setting_and_examples_follow_the_interface_language(app, browser):
    from assistant.i18n import EXAMPLES

    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(app.url + "/")
    page.get_by_label("Dit spørgsmål").wait_for(timeout=20_000)
    assert "ASSISTANT_" not in page.locator("body").inner_text()
    examples = page.locator("#examples")
    assert all(e in examples.inner_text() for e in EXAMPLES["da"])
    page.get_by_label("English").check()
    expect(examples).to_contain_text(EXAMPLES["en"][0], timeout=10_000)
    assert not any(e in examples.inner_text() for e in EXAMPLES["da"])
    assert "ASSISTANT_" not in page.locator("body").inner_text()
    page.close()


def docx_as_html(path: Path) -> str:
    """The Word file's paragraphs as python-docx reads them, drawn with their Word styles
    (headings, lists, Quote, bold, italic, hyperlinks) on a page: what the case file holds,
    shown in the browser (no Word or LibreOffice on a build machine). Text is escaped."""
    import html

    import docx
    from docx.text.hyperlink import Hyperlink

    tags = {"Title": "h1", "Heading 1": "h1", "Heading 2": "h2", "Heading 3": "h3", "Heading 4": "h4"}
    out = []
    for paragraph in docx.Document(str(path)).paragraphs:
        runs = []
        for item in paragraph.iter_inner_content():
            if isinstance(item, Hyperlink):
                runs.append(f'<a href="{html.escape(item.address)}">{html.escape(item.text)}</a>')
                continue
            text = html.escape(item.text)
            text = f"<b>{text}</b>" if item.bold else text
            runs.append(f"<i>{text}</i>" if item.italic else text)
        body, style = "".join(runs), paragraph.style.name
        if style.startswith("List Bullet"):
            out.append(f"<ul><li>{body}</li></ul>")
        elif style.startswith("List Number"):
            out.append(f"<ol><li>{body}</li></ol>")
        elif style == "Quote":
            out.append(f"<blockquote>{body}</blockquote>")
        else:
            out.append(f"<{tags.get(style, 'p')}>{body}</{tags.get(style, 'p')}>")
    page = ("body{background:#e5e7eb;margin:0;padding:24px;font:11pt Calibri,Carlito,'DejaVu Sans',sans-serif;color:#111}"
            ".page{background:#fff;max-width:760px;margin:auto;padding:56px 72px;box-shadow:0 1px 4px #0003}"
            "h1,h2,h3,h4{color:#1f3864;font-weight:600}h1{font-size:20pt}h2{font-size:15pt}h3{font-size:12.5pt}"
            "blockquote{font-style:italic;color:#404040;margin:8px 32px}ul,ol{margin:2px 0}a{color:#0b5cad}")
    return (f"<!doctype html><html lang='da'><head><meta charset='utf-8'><style>{page}</style></head>"
            f"<body><div class='page'>{''.join(out)}</div></body></html>")


def test_the_saved_word_note_reads_as_a_document_naming_each_sources_version(tmp_path, browser):
    """The buyer's "Gem som notat" in the browser: the Word file downloaded from the page holds
    no Markdown, Danish local time with its zone, and per cited source the version relied on
    (here the shipped statute: its consolidation, date and content hash)."""
    import re

    import docx

    from assistant.i18n import NOTE_TEXT, TEXT
    from tests.records.test_casenote import MARKDOWN_SYNTAX
    from tests.web.test_app import NOTE

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "markedsdialog.md").write_text(NOTE, encoding="utf-8")
    for name in ("udbudsloven_LBK-2025-116.txt", "udbudsloven_LBK-2025-116.txt.meta.yaml"):
        shutil.copy(Path(__file__).resolve().parents[2] / "corpus" / "law" / name, corpus / name)
    running = RunningApp(tmp_path, corpus=corpus, name="note")
    try:
        page = browser.new_page(viewport={"width": 1280, "height": 900}, accept_downloads=True)
        page.goto(running.url + "/")
        page.get_by_label("Dit spørgsmål").fill("Hvad siger udbudslovens § 39 om markedsundersøgelser?")
        page.keyboard.press("Enter")
        page.locator("#sources .source-card").first.wait_for(timeout=60_000)
        page.locator("#save-note").click()
        link = page.locator("#note-area a", has_text=TEXT["da"]["note_docx"])
        link.wait_for(timeout=30_000)
        with page.expect_download() as download:
            link.click()
        saved = tmp_path / download.value.suggested_filename
        download.value.save_as(saved)
        page.close()
    finally:
        running.stop()
    assert saved.suffix == ".docx"
    text = "\n".join(p.text for p in docx.Document(str(saved)).paragraphs)
    assert not MARKDOWN_SYNTAX.search(text), MARKDOWN_SYNTAX.search(text)
    assert re.search(r"\d{4}-\d\d-\d\d kl\. \d\d:\d\d \(CES?T, dansk tid\)", text)
    versions = [line for line in text.split("\n") if line.startswith(NOTE_TEXT["da"]["version"] + ":")]
    assert any("LBK nr. 116 af 3. februar 2025 · gælder pr. 2025-02-03 · indhold " in v for v in versions), versions
    view = browser.new_page(viewport={"width": 900, "height": 1100})
    view.set_content(docx_as_html(saved))
    view.screenshot(path=str(SCREENSHOTS / "case-note-docx.png"), full_page=True)
    view.close()
