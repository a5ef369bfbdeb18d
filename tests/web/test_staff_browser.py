"""The staff page in a real browser: upload with metadata, a new version, a duplicate
refused, the preview of a PDF with a table and a scanned page, the compact inventory, no
English in the Danish page, and axe-core on the new screens. The tests run in order on one app."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest
import yaml
from playwright.sync_api import expect

from assistant.i18n import GRADIO_DA, STAFF_TEXT, TEXT
from tests.web.test_a11y import AXE, axe_problems
from tests.web.test_app import STAFF, RunningApp
from tests.web.test_browser import CHROMIUM, SCREENSHOTS, browser  # noqa: F401 - the shared browser fixture

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="no Chromium found (install Debian's `chromium`)"),
]

TITLE = "Vejledning om indkøb af havnedroner"


def make_pdf(path: Path, *, fee: str) -> Path:
    """Page 1: a heading, a sentence and a table; page 2: no text layer (a drawn box only)."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_title(TITLE)
    pdf.add_page()
    pdf.set_font("helvetica", size=16)
    pdf.cell(0, 10, "Havnedroner", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("helvetica", size=11)
    pdf.multi_cell(0, 6, f"Kommunen betaler et gebyr paa {fee} kroner pr. inspektion af havnen med drone.")
    with pdf.table() as table:
        for cells in (("Drone", "Pris", "Timer", "Aar"), ("Model A", "140000", "1200", "2026"),
                      ("Model B", "215000", "1500", "2027"), ("Model C", "98000", "900", "2028")):
            row = table.row()
            for cell in cells:
                row.cell(cell)
    pdf.add_page()
    pdf.rect(20, 20, 100, 60)
    pdf.output(str(path))
    return path


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    running = RunningApp(tmp_path_factory.mktemp("staff-browser"), name="staff-browser")
    yield running
    running.stop()


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("uploads")
    first = make_pdf(folder / "havnedroner.pdf", fee="1250")
    (folder / "v2").mkdir()
    second = make_pdf(folder / "v2" / "havnedroner-2027.pdf", fee="1400")
    (folder / "copy").mkdir()
    copy = folder / "copy" / "kopi.pdf"
    copy.write_bytes(second.read_bytes())
    return {"first": first, "second": second, "copy": copy}


def axe(page) -> list[str] | None:
    """Serious/critical axe-core violations, or None without axe-core (the test then says so
    at its end, after its own checks)."""
    return axe_problems(page) if AXE.exists() else None


def skip_without_axe(*results) -> None:
    if any(r is None for r in results):
        pytest.skip(f"axe-core not found at {AXE}: the accessibility check did not run (AXE_CORE_PATH)")


def staff_page(app, browser):  # noqa: F811
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(app.url + "/staff/")
    page.locator("input").first.fill(STAFF[0])
    page.locator("input[type=password]").fill(STAFF[1])
    page.keyboard.press("Enter")
    page.locator("#inventory").wait_for(timeout=30_000)
    return page


def choose(page, control: str, option: str) -> None:
    page.locator(f"{control} input").click()
    page.get_by_role("option", name=option).click()


def test_upload_with_metadata_is_stored_beside_the_file_and_shown(app, browser, files):  # noqa: F811
    page = staff_page(app, browser)
    page.get_by_role("tab", name="Upload").click()
    page.locator("#upload-files input[type=file]").set_input_files(str(files["first"]))
    # Proposed from the file: the PDF's own title, its language and jurisdiction.
    expect(page.locator("#meta-title input, #meta-title textarea").first).to_have_value(TITLE, timeout=30_000)
    page.locator("#meta-as-of input, #meta-as-of textarea").first.fill("2026-11-01")
    page.locator("#meta-review-by input, #meta-review-by textarea").first.fill("2027-11-01")
    page.locator("#meta-url input, #meta-url textarea").first.fill("https://www.kommune.dk/havnedroner")
    page.locator("#meta-kind").get_by_label("vejledning").check()
    problems = axe(page)
    assert not problems, problems
    page.screenshot(path=str(SCREENSHOTS / "staff-upload-form.png"), full_page=True)
    page.locator("#upload").click()
    expect(page.locator("#upload-result")).to_contain_text("tilføjet", timeout=90_000)
    record = yaml.safe_load((app.corpus / "havnedroner.pdf.meta.yaml").read_text(encoding="utf-8"))
    assert record["title"] == TITLE and record["kind"] == "guidance" and record["jurisdiction"] == "DK"
    assert str(record["as_of"]) == "2026-11-01" and record["url"] == "https://www.kommune.dk/havnedroner"
    page.get_by_role("tab", name="Dokumenter").click()
    row = page.locator("#inventory [role=row]", has_text="havnedroner.pdf")
    expect(row).to_contain_text("vejledning", timeout=20_000)
    page.close()
    skip_without_axe(problems)

    from assistant.ingest import loaders

    if not hasattr(loaders, "read_sidecar"):
        return  # the loader reads the record from the statutes branch on: then the card shows it
    chat = browser.new_page(viewport={"width": 1280, "height": 900})
    chat.goto(app.url + "/")
    chat.get_by_label("Dit spørgsmål").fill("Hvor stort er gebyret pr. inspektion af havnen med drone?")
    chat.keyboard.press("Enter")
    card = chat.locator("#sources .source-card", has_text=TITLE).first
    card.wait_for(timeout=30_000)
    assert "2026-11-01" in card.inner_text()
    assert card.locator("a.official-link").first.get_attribute("href") == "https://www.kommune.dk/havnedroner"
    chat.close()


def test_a_new_version_replaces_the_old_and_records_it(app, browser, files):  # noqa: F811
    old_hash = hashlib.sha256((app.corpus / "havnedroner.pdf").read_bytes()).hexdigest()
    page = staff_page(app, browser)
    page.get_by_role("tab", name="Upload").click()
    choose(page, "#version-of", f"{TITLE} (havnedroner.pdf)")
    # The form shows the document's own record, which the new version keeps.
    expect(page.locator("#meta-as-of input, #meta-as-of textarea").first).to_have_value("2026-11-01", timeout=20_000)
    page.locator("#upload-files input[type=file]").set_input_files(str(files["second"]))
    page.wait_for_timeout(1500)
    page.locator("#upload").click()
    result = page.locator("#upload-result")
    expect(result).to_contain_text("opdateret", timeout=90_000)
    expect(result).to_contain_text(f"forrige version (SHA-256 {old_hash[:12]}", timeout=5_000)
    # One document, under its name, with the new content; the old version's hash and date recorded.
    assert not (app.corpus / "havnedroner-2027.pdf").exists()
    assert (app.corpus / "havnedroner.pdf").read_bytes() == files["second"].read_bytes()
    record = yaml.safe_load((app.corpus / "havnedroner.pdf.meta.yaml").read_text(encoding="utf-8"))
    assert record["title"] == TITLE and str(record["as_of"]) == "2026-11-01"
    assert [v["content_hash"] for v in record["versions"]] == [old_hash] and record["versions"][0]["date"]
    page.get_by_role("tab", name="Dokumenter").click()
    page.locator("#refresh").click()
    row = page.locator("#inventory [role=row]", has_text="havnedroner.pdf")
    expect(row).to_contain_text("2", timeout=20_000)
    page.close()


def test_the_same_content_under_another_name_is_refused_naming_the_document(app, browser, files):  # noqa: F811
    page = staff_page(app, browser)
    page.get_by_role("tab", name="Upload").click()
    page.locator("#upload-files input[type=file]").set_input_files(str(files["copy"]))
    page.wait_for_timeout(1500)
    page.locator("#upload").click()
    result = page.locator("#upload-result")
    expect(result).to_contain_text("sprunget over", timeout=60_000)
    expect(result).to_contain_text(f'samme indhold som "{TITLE}" (havnedroner.pdf)')
    assert not (app.corpus / "kopi.pdf").exists()
    page.close()


def test_preview_shows_units_pages_roles_and_warns_of_the_scanned_page_and_the_table(app, browser):  # noqa: F811
    page = staff_page(app, browser)
    page.get_by_role("tab", name="Forhåndsvisning").click()
    choose(page, "#preview-choice", f"{TITLE} (havnedroner.pdf)")
    page.locator("#preview-show").click()
    preview = page.locator("#preview .preview")
    preview.wait_for(timeout=30_000)
    text = preview.inner_text()
    assert "side 1" in text and "rolle: brødtekst" in text and "1400 kroner" in text
    assert "Side 2 har intet tekstlag" in text
    assert "Side 1: en tabel er muligvis fladet ud" in text
    problems = axe(page)
    page.screenshot(path=str(SCREENSHOTS / "staff-preview.png"), full_page=True)
    page.close()
    assert not problems, problems
    skip_without_axe(problems)


# English words the Danish staff page must not show: every English UI string that differs
# from its Danish one, the statuses, and Gradio's own English defaults on this page.
GRADIO_ENGLISH = ["Drop File Here", "Click to Upload", "Invalid file type", "Loading", "Built with Gradio",
                  "Use via API", "Clear", "Submit", "Settings"]
STATUS_WORDS = ["added", "skipped", "removed", "down", "abstained", "updated", "unchanged", "failed", "chunks",
                "bidder"]


def english_strings() -> list[str]:
    out = []
    for table, keys in ((STAFF_TEXT, None), (TEXT, ["language", "title"])):
        for key, value in table["en"].items():
            if keys and key in keys or value == table["da"][key] or "{" in value or len(value) < 4:
                continue
            out.append(value)
    return out + GRADIO_ENGLISH


def test_the_danish_staff_page_has_no_english_words_and_a_compact_inventory(app, browser):  # noqa: F811
    page = staff_page(app, browser)
    # A refused delete puts a status and a reason on the page; the feedback tab its tables.
    # (A loader's own reason for a broken file is English: see reason_text.)
    page.locator("#delete").click()
    expect(page.locator("#resync-result")).to_contain_text("vælg et dokument", timeout=20_000)
    settled = "() => !/\\bLoading\\b/.test(document.body.innerText)"
    page.wait_for_function(settled, timeout=15_000)
    seen = [page.locator("body").inner_text()]
    for tab in ("Upload", "Forhåndsvisning", "Feedback", "Dokumenter"):
        page.get_by_role("tab", name=tab).click()
        page.wait_for_timeout(500)
        # Read the page once it has settled (no loader text left: Gradio's own is "Loading..."
        # until the page's head switches its locale, see the loading test below).
        page.wait_for_function(settled, timeout=15_000)
        seen.append(page.locator("body").inner_text())
    # The language switch names each language in its own language, on purpose.
    text = "\n".join(seen).replace(TEXT["da"]["language"], "").replace("English", "")
    found = [s for s in english_strings() if re.search(rf"(?<!\w){re.escape(s)}(?!\w)", text)]
    found += [w for w in STATUS_WORDS if re.search(rf"\b{w}\b", text)]
    assert found == [], found
    # Compact rows: one line each at 1280 px, and the overdue filter leaves none of these.
    heights = page.eval_on_selector_all("#inventory [role=row]:has([role=gridcell])", "rows => rows.map(r => r.getBoundingClientRect().height)")
    assert heights and max(heights) < 60, heights
    page.locator("#inventory-search input, #inventory-search textarea").first.fill("havnedroner")
    page.locator("#inventory-search input, #inventory-search textarea").first.press("Enter")
    expect(page.locator("#inventory [role=row]:has([role=gridcell])")).to_have_count(1, timeout=10_000)
    page.screenshot(path=str(SCREENSHOTS / "staff-inventory-1280.png"), full_page=True)
    page.close()


# Records, from before Gradio's own code runs, every text its start-up loader shows and when,
# and when the page's head (assets.HEAD) ran.
LOADER_PROBE = """
window.__loader = [];
new MutationObserver(() => {
  document.querySelectorAll("p.loading").forEach((el) => {
    const text = el.textContent.trim();
    if (text && el.offsetParent !== null) window.__loader.push([performance.now(), text]);
  });
}).observe(document, {childList: true, subtree: true, characterData: true});
"""


def test_the_danish_page_says_loading_in_danish_while_gradio_starts(app, browser):  # noqa: F811
    """Gradio's start-up loader follows its locale, which it takes from the browser among its
    built-in languages (no Danish): "Loading..." until the page's head switches it to Danish.
    From then on the loader says "Indlæser...", on the staff page and the chat alike."""
    for path in ("/staff/", "/"):
        page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="da-DK")
        page.add_init_script(LOADER_PROBE)
        page.goto(app.url + path)
        if path == "/staff/":
            page.locator("input").first.fill(STAFF[0])
            page.locator("input[type=password]").fill(STAFF[1])
            page.keyboard.press("Enter")
        page.locator("#inventory" if path == "/staff/" else "#chat").wait_for(timeout=30_000)
        seen = page.evaluate("window.__loader")
        page.close()
        texts = [text for _, text in seen]
        assert any(text.startswith(GRADIO_DA["common.loading"]) for text in texts), (path, texts)
        first_danish = next(at for at, text in seen if text.startswith(GRADIO_DA["common.loading"]))
        late_english = [(at, text) for at, text in seen if "Loading" in text and at > first_danish]
        assert not late_english, (path, late_english)
