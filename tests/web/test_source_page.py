"""The readable source page: front matter as a header, anchors per provision, the cited
section as #cited, the quote highlighted, documents' HTML shown as text and no script."""

from __future__ import annotations

from assistant.ingest.loaders import load_file
from assistant.web.source_page import read_url, render_page
from tests.conftest import LAW_TEXT, MARKDOWN_NOTE

HOSTILE = MARKDOWN_NOTE.replace("updated: 2026-11-28", "updated: 2026-11-28\nsources: [\"https://www.retsinformation.dk/eli/lta/2025/116\"]") + (
    "\n## Farligt indhold\n<script>alert('x')</script> <img src=x onerror=alert(1)> [klik](javascript:alert(1))\n")


def page_for(tmp_path, name, text, **kwargs):
    (tmp_path / name).write_text(text, encoding="utf-8")
    return render_page(load_file(tmp_path / name, tmp_path), raw_url=f"/files/{name}", **kwargs)


def test_markdown_page_has_header_cited_section_and_highlight(tmp_path):
    page = page_for(tmp_path, "m.md", HOSTILE, section="Markedsdialog før udbud > Hvad må ordregiveren?",
                    quote="så længe ligebehandling og gennemsigtighed respekteres")
    assert "<h1 lang='da'>Markedsdialog før udbud</h1>" in page
    assert "---" not in page and "title:" not in page  # front matter is a header, not YAML
    assert "<dd>2026-11-28</dd>" in page and "<dd>DK</dd>" in page
    assert "href='https://www.retsinformation.dk/eli/lta/2025/116'" in page
    # What the note is based on, under its label, and its topics (front matter).
    based_on = page[page.index("id='based-on'"):page.index("</header>")]
    assert "Bygger på:" in based_on and "retsinformation.dk/eli/lta/2025/116</a></li>" in based_on
    assert "<dt>Emner:</dt><dd>markedsdialog</dd>" in page
    english = page_for(tmp_path, "m.md", HOSTILE, lang="en")
    assert "Based on:" in english and "<dt>Topics:</dt><dd>markedsdialog</dd>" in english
    cited = page.index("id='cited'")
    assert page.index("Hvad må ordregiveren?") > cited > page.index("<main")
    import re

    marked = " ".join(re.findall(r"<mark[^>]*>(.*?)</mark>", page, re.S))
    assert "<mark id='quote'>" in page
    assert " ".join(marked.split()) == "så længe ligebehandling og gennemsigtighed respekteres"
    # Nothing from the document is markup: tags are text, no javascript: link.
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "<img" not in page and "javascript:" not in page.replace("[klik](javascript:alert(1))", "")
    assert "href='/files/m.md' download" in page


def test_law_page_has_an_anchor_per_provision_and_goes_to_the_cited_one(tmp_path):
    page = page_for(tmp_path, "lov.txt", LAW_TEXT, section="§ 2, stk. 2",
                    quote="Stk. 2. Ordregiveren skal dokumentere valget af procedure. … § 2. En ordregiver skal overholde")
    for anchor in ("p-1", "p-2", "p-12-2", "p-artikel-31"):
        assert f"id='{anchor}'" in page
    assert page.index("id='cited'") < page.index("id='p-2'") < page.index("id='p-12-2'")
    assert page.count("<mark") == 2  # both pieces of a quote joined by "…"


def test_read_url_carries_section_quote_and_language():
    url = read_url("mappe/lov om x.txt", section="§ 2", quote="Ordregiveren skal", lang="en")
    assert url.startswith("/read/mappe/lov%20om%20x.txt?") and url.endswith("#cited")
    assert "section=%C2%A7+2" in url and "lang=en" in url


def test_a_pdf_opens_at_its_page_and_other_files_on_the_reading_page():
    from assistant.answer.assistant import Citation
    from assistant.web.app import source_link

    pdf = Citation(n=1, source="rapport.pdf", title="Rapport", page=7, section="", quote="x y z", score=1.0)
    note = Citation(n=2, source="note.md", title="Note", page=0, section="A > B", quote="x y z", score=1.0)
    assert source_link(pdf, "da") == "/files/rapport.pdf#page=7"
    assert source_link(note, "en").startswith("/read/note.md?section=A+%3E+B&q=x+y+z&lang=en")
