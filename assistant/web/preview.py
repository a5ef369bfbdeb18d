"""What the system read from a document, for staff: its chunks with heading, page and role,
each chunk's quotable units, and a warning where reading lost something (pages without a
text layer, a table flattened into running text).

It reads the file as ingestion does (`load_file`, `chunk_document`), so what it shows is what
retrieval searches and answers quote.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

from assistant.i18n import STAFF_TEXT

# A line that looks like a table row in extracted PDF text: three or more figures, or cells
# kept apart by runs of spaces. PDF text extraction keeps a table's cells on one line but
# drops its grid, so a run of such lines is a table read as running text.
_ROW_LIKE = re.compile(r"(?:\d[\d.,]*\s+.*){3,}|(?:\S+ {2,}){2,}\S")
TABLE_MIN_ROWS = 3  # consecutive row-like lines: fewer is an ordinary sentence with figures
# A table whose rows were run together into one line: many figures of three or more digits
# (amounts, years, hours). Provision numbers ("stk. 1, 2") are shorter and not counted.
_FIGURE = re.compile(r"(?<![\w.,])\d{3,}(?:[.,]\d+)*(?!\w)")
TABLE_MIN_FIGURES = 6
_PAGES = re.compile(r"page\(s\) ([\d, –-]+):")


def table_pages(sections) -> list[int]:
    """Pages of a PDF whose text holds a run of row-like lines."""
    pages = []
    for section in sections:
        run = 0
        for line in section.text.splitlines():
            run = run + 1 if _ROW_LIKE.search(line.strip()) else 0
            if ((run >= TABLE_MIN_ROWS or len(_FIGURE.findall(line)) >= TABLE_MIN_FIGURES)
                    and section.page not in pages):
                pages.append(section.page)
                break
    return pages


def preview_html(path: Path, source: str, lang: str, max_mb: float) -> str:
    from assistant.ingest.chunking import chunk_document
    from assistant.ingest.loaders import NO_TEXT_LAYER, LoadError, load_file

    s = STAFF_TEXT[lang]
    e = html.escape
    try:
        doc = load_file(path, None, max_mb)
        chunks = chunk_document(doc)
    except (LoadError, OSError, ValueError) as exc:
        return f"<p class='preview-error' role='alert'>{e(s['preview_failed'].format(reason=str(exc)))}</p>"
    warnings = []
    for warning in doc.warnings:
        match = _PAGES.search(warning)
        if NO_TEXT_LAYER in warning and match:
            warnings.append(s["w_no_text"].format(pages=match.group(1).strip()))
    if path.suffix.lower() == ".pdf":
        pages = table_pages(doc.sections)
        if pages:
            warnings.append(s["w_table"].format(pages=", ".join(map(str, pages))))
    out = [f"<section class='preview' aria-label='{e(doc.title)}'><h2>{e(doc.title)}</h2>",
           f"<p class='preview-file'>{e(source)}</p>"]
    if warnings:
        out.append("<div class='preview-warnings' role='note'><ul>"
                   + "".join(f"<li>⚠ {e(w)}</li>" for w in warnings) + "</ul></div>")
    out.append(f"<p>{e(s['preview_intro'].format(n=len(chunks)))}</p><ol class='preview-chunks'>")
    for chunk in chunks:
        where = [chunk.section or chunk.heading or doc.title]
        if chunk.page:
            where.append(f"{s['preview_page']} {chunk.page}")
        where.append(f"{s['preview_role']}: {s.get(f'role_{chunk.role}', chunk.role)}")
        units = "".join(
            f"<li><span class='unit-kind'>{e(s.get(f'unit_{u.kind}', u.kind))}"
            f"{' ' + e(u.label) if u.label else ''}</span> {e(u.text(chunk.text))}</li>"
            for u in chunk.units)
        out.append(f"<li><h3>{e(' · '.join(where))}</h3><ul class='preview-units'>{units}</ul></li>")
    out.append("</ol></section>")
    return "".join(out)
