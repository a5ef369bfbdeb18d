"""Accessibility in a real browser: axe-core (npm) on every page state, reflow at 320 px,
`lang`, Danish Gradio controls, live regions, [n] -> card, keyboard-only use, the readable
source page and the case-file note. Screenshots for the README come from here."""

from __future__ import annotations

import base64
import io
import os
from pathlib import Path

import docx
import httpx
import pytest
from gradio_client import Client

from tests.conftest import LAW_TEXT, ROOT
from tests.web.test_app import NEW_DOC, STAFF, RunningApp
from tests.web.test_browser import CHROMIUM, SCREENSHOTS, browser  # noqa: F401 - the shared browser fixture

AXE = Path(os.environ.get("AXE_CORE_PATH") or ROOT / ".ci" / "node" / "node_modules" / "axe-core" / "axe.min.js")
WIDTHS = [1280, 390, 320]
A11Y_URL = "https://www.was.digst.dk/app-example-dk"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="no Chromium found (install Debian's `chromium`)"),
]

QUESTION = "Må vi holde markedsdialog med leverandører før udbuddet?"
OFF_TOPIC = "Hvad koster en barselsorlov?"


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    running = RunningApp(tmp_path_factory.mktemp("a11y"), files={"testlov.txt": LAW_TEXT, "droner.md": NEW_DOC},
                         extra_env={"ASSISTANT_A11Y_STATEMENT_URL": A11Y_URL}, name="a11y")
    yield running
    running.stop()


def axe_problems(page) -> list[str]:
    """Violations of impact serious or critical (WCAG 2.0/2.1 A and AA rules)."""
    if not AXE.exists():
        pytest.skip(f"axe-core not found at {AXE} (.ci/run installs it with npm)")
    page.wait_for_timeout(600)  # Gradio fades updated blocks in; measure the settled page
    if not page.evaluate("() => !!window.axe"):
        page.add_script_tag(path=str(AXE))
    result = page.evaluate("""async () => {
        const r = await axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']},
                                           resultTypes: ['violations']});
        return r.violations.filter(v => v.impact === 'serious' || v.impact === 'critical')
            .map(v => v.id + ' (' + v.impact + '): ' + v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(' | '));
    }""")
    return result


def no_horizontal_scroll(page) -> bool:
    return page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth + 1")


def ask(page, question: str, wait_for: str) -> None:
    page.get_by_label("Dit spørgsmål").fill(question)
    page.keyboard.press("Enter")
    page.locator(wait_for).first.wait_for(timeout=30_000)
    page.locator("#status", has_text="Svaret er klar").wait_for(timeout=30_000)


@pytest.mark.parametrize("width", WIDTHS)
def test_chat_empty_answer_and_abstention_pass_axe_and_reflow(app, browser, width):  # noqa: F811
    page = browser.new_page(viewport={"width": width, "height": 900})
    page.goto(app.url + "/")
    page.get_by_label("Dit spørgsmål").wait_for(timeout=20_000)
    page.wait_for_function("() => document.documentElement.lang === 'da'", timeout=10_000)
    notice = page.locator("#ai-notice")
    assert "AI-assistent" in notice.inner_text() and "uden sprogmodel" in notice.inner_text()
    footer_link = page.locator(".app-footer a")
    assert footer_link.get_attribute("href") == A11Y_URL
    problems = {"empty": axe_problems(page)}
    assert no_horizontal_scroll(page), f"horizontal scrolling at {width} px (empty chat)"
    if width == 320:
        # The question box is reachable without scrolling through pages of layout.
        top = page.get_by_label("Dit spørgsmål").bounding_box()["y"]
        assert top < 1600, f"question box starts {top:.0f} px down at 320 px"

    ask(page, QUESTION, "#sources .source-card")
    assert page.locator("#sources").get_attribute("aria-live") == "polite"
    problems["answer"] = axe_problems(page)
    assert no_horizontal_scroll(page), f"horizontal scrolling at {width} px (answer)"
    if width in (1280, 320):
        page.screenshot(path=str(SCREENSHOTS / f"chat-answer-{width}.png"), full_page=True)

    page.get_by_role("button", name="Ny samtale").click()
    page.locator("#sources .sources-empty").wait_for(timeout=10_000)
    ask(page, OFF_TOPIC, "#sources .sources-nearest, #chat :text('Ikke i kilderne')")
    problems["abstention"] = axe_problems(page)
    page.close()
    assert problems == {"empty": [], "answer": [], "abstention": []}


def test_danish_gradio_controls_english_switch_and_links_to_cards(app, browser):  # noqa: F811
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(app.url + "/")
    ask(page, QUESTION, "#sources .source-card")
    # Gradio's own controls speak Danish: the copy button of the answer.
    page.locator("#chat [aria-label='Kopiér svaret']").first.wait_for(timeout=10_000)
    # [1] in the answer goes to source card 1 and gives it focus.
    page.locator("#chat a[href='#source-1']").first.click()
    assert page.evaluate("() => document.activeElement && document.activeElement.id") == "source-1"
    # English UI: lang, labels and the sources panel (kept, in English) follow.
    page.get_by_label("English").check()
    page.get_by_label("Your question").wait_for(timeout=10_000)
    page.wait_for_function("() => document.documentElement.lang === 'en'", timeout=10_000)
    assert "Open the source" in page.locator("#sources .source-card").first.inner_text()
    assert page.locator("#examples").get_by_text("Examples").count() >= 1
    assert "AI assistant" in page.locator("#ai-notice").inner_text()
    # Gradio's own buttons on the answer already shown are redrawn in English too.
    page.locator("#chat [aria-label='Copy message']").first.wait_for(timeout=10_000)
    assert page.locator("#chat [aria-label='Kopiér svaret']").count() == 0
    page.close()


def test_trash_icon_clears_history_sources_and_feedback_target(app, browser):  # noqa: F811
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(app.url + "/")
    ask(page, QUESTION, "#sources .source-card")
    page.locator("#chat button[aria-label='Ryd samtalen'], #chat button[title='Ryd samtalen']").first.click()
    page.locator("#sources .sources-empty").wait_for(timeout=10_000)
    page.locator("#status", has_text="Samtalen er ryddet").wait_for(timeout=10_000)
    # A comment now has no answer to land on, and "Gem som notat" has nothing to save.
    page.locator("#save-note").click()
    page.locator("#note-area", has_text="Stil et spørgsmål først").wait_for(timeout=10_000)
    page.close()


def test_keyboard_only_chat_and_visible_focus(app, browser):  # noqa: F811
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(app.url + "/")
    page.get_by_label("Dit spørgsmål").wait_for(timeout=20_000)
    page.locator("body").focus()
    # Tab from the top of the page until the question box has focus.
    for _ in range(30):
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement && document.activeElement.closest('#question') !== null"):
            break
    else:
        pytest.fail("the question box cannot be reached with Tab")
    outline = page.evaluate("() => getComputedStyle(document.activeElement).outlineWidth")
    assert outline not in ("0px", ""), "no visible focus indicator on the question box"
    page.keyboard.type(QUESTION)
    page.keyboard.press("Enter")
    page.locator("#sources .source-card").first.wait_for(timeout=30_000)
    # Save the note with the keyboard only: Tab to the button, press Enter, then the link.
    page.locator("#status", has_text="Svaret er klar").wait_for(timeout=30_000)
    page.locator("#save-note").focus()
    page.keyboard.press("Enter")
    page.locator("#note-area a.note-download").first.wait_for(timeout=20_000)
    with page.expect_download() as download:
        page.keyboard.press("Enter")  # the first link has focus
    path = download.value.path()
    import docx

    text = "\n".join(p.text for p in docx.Document(io.BytesIO(Path(path).read_bytes())).paragraphs)
    assert QUESTION in text and "Markedsdialog før udbud" in text
    assert "dialogmøder" in text or "markedsdialog" in text.lower()  # the quote is in the note
    page.close()


def test_source_page_goes_to_the_cited_provision_and_runs_no_script(app, browser):  # noqa: F811
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(app.url + "/")
    ask(page, "Hvad skal ordregiveren dokumentere ifølge prøveindkøbsloven?", "#sources .source-card")
    card = page.locator("#sources .source-card", has_text="testlov.txt").first
    with page.expect_popup() as popup:
        card.locator("a.source-link").click()
    source = popup.value
    source.wait_for_load_state()
    assert "/read/testlov.txt" in source.url and source.url.endswith("#cited")
    assert source.locator("h1").inner_text() == "Lov om prøveindkøb (testlov)"
    assert source.locator("#p-2").count() == 1 and source.locator("#p-artikel-31").count() == 1
    assert source.locator("mark").count() >= 1
    url = source.url
    source.close()
    # axe is a script, and the page forbids every script: measure it with CSP bypassed.
    context = browser.new_context(bypass_csp=True, viewport={"width": 1280, "height": 900})
    source = context.new_page()
    response = source.goto(url)
    assert "script-src 'none'" in response.headers["content-security-policy"]
    assert axe_problems(source) == []
    source.screenshot(path=str(SCREENSHOTS / "source-page-1280.png"), full_page=True)
    source.set_viewport_size({"width": 320, "height": 800})
    assert no_horizontal_scroll(source)
    source.screenshot(path=str(SCREENSHOTS / "source-page-320.png"), full_page=True)
    context.close()
    page.close()


def test_staff_login_and_every_tab_pass_axe_keyboard_delete(app, browser):  # noqa: F811
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(app.url + "/staff")
    page.locator("input[type=password]").wait_for(timeout=20_000)
    problems = {"login": axe_problems(page)}
    # Keyboard only: user name, Tab, password, Enter.
    page.locator("input").first.focus()
    page.keyboard.type(STAFF[0])
    page.keyboard.press("Tab")
    page.keyboard.type(STAFF[1])
    page.keyboard.press("Enter")
    page.locator("#inventory").wait_for(timeout=20_000)
    page.wait_for_function("() => document.documentElement.lang === 'da'", timeout=10_000)
    assert page.locator("#inventory").get_by_text("titel").count() >= 1  # Danish headers
    problems["documents"] = axe_problems(page)
    page.screenshot(path=str(SCREENSHOTS / "staff-inventory-1280.png"), full_page=True)
    for tab, inside in (("Upload", "#upload"), ("Feedback", "#feedback-export")):
        page.get_by_role("tab", name=tab).focus()  # keyboard: the tab, then Enter
        page.keyboard.press("Enter")
        page.locator(inside).wait_for(timeout=10_000)
        problems[tab] = axe_problems(page)
    page.get_by_role("tab", name="Dokumenter").focus()
    page.keyboard.press("Enter")
    page.locator("#inventory").wait_for(timeout=10_000)
    # The delete list shows titles; the tick box is clear again after a delete.
    page.locator("#delete-choice input").click()
    page.get_by_role("option", name="Indkøb af droner til havneinspektion (droner.md)").click()
    page.locator("#delete-confirm input").check()
    page.locator("#delete").click()
    page.locator("#resync-result", has_text="fjernet").wait_for(timeout=20_000)
    assert not page.locator("#delete-confirm input").is_checked()
    assert not (app.corpus / "droner.md").exists()
    page.set_viewport_size({"width": 320, "height": 800})
    page.wait_for_timeout(500)
    assert no_horizontal_scroll(page), "staff page scrolls sideways at 320 px"
    page.screenshot(path=str(SCREENSHOTS / "staff-inventory-320.png"), full_page=True)
    page.get_by_label("English").check()
    page.locator("#inventory").get_by_text("title").first.wait_for(timeout=10_000)
    page.wait_for_function("() => document.documentElement.lang === 'en'", timeout=10_000)
    page.close()
    assert all(v == [] for v in problems.values()), problems


# The two HTTP routes behind the buttons, on the same running app (one start-up).

def test_note_api_of_the_running_app(app):
    client = Client(app.url + "/", verbose=False)
    result = client.predict(message="Må vi holde markedsdialog med leverandører før udbuddet?", history=[],
                            api_name="/chat")
    forged = {**result, "citations": [{**c, "content_hash": "f" * 64} for c in result["citations"]]}
    note = client.predict(answer=forged, language="da", api_name="/note")
    assert note["filename"].startswith("notat-")
    document = docx.Document(io.BytesIO(base64.b64decode(note["docx_base64"])))
    body = "\n".join(p.text for p in document.paragraphs)
    quote = result["citations"][0]["quote"]
    assert quote in body and quote in note["markdown"]
    # The hash is the inventory's, not anything the caller sent.
    hashes = {w for w in note["markdown"].split() if len(w) == 64}
    assert hashes and "f" * 64 not in hashes


def test_read_route_serves_only_inventory_documents_with_a_no_script_policy(app):
    (app.corpus / ".hemmelig.md").write_text("# skjult", encoding="utf-8")
    response = httpx.get(app.url + "/read/testlov.txt?section=%C2%A7+2")
    assert response.status_code == 200 and "id='p-2'" in response.text
    assert "script-src 'none'" in response.headers["content-security-policy"]
    assert response.headers["x-content-type-options"] == "nosniff"
    for bad in ("/read/.hemmelig.md", "/read/../app.log", "/read/ingen.md"):
        assert httpx.get(app.url + bad).status_code == 404, bad
    # The raw file is still there for download.
    assert httpx.get(app.url + "/files/testlov.txt").text.startswith("Lov om prøveindkøb")


def test_every_label_exists_in_both_languages():
    from assistant.i18n import STAFF_TEXT, TEXT

    assert set(TEXT["da"]) == set(TEXT["en"]) and set(STAFF_TEXT["da"]) == set(STAFF_TEXT["en"])
