"""The readable source page ("Åbn kilden"): one corpus document as a plain HTML page.

Markdown (and DOCX/HTML, which the loaders turn into Markdown) is rendered with
markdown-it with raw HTML switched off, so every tag in a document is shown as text; front
matter becomes a small header (title, date, jurisdiction, official links); every provision
of a law (`§ 2`, `Artikel 31`) gets its own anchor; the cited section is the page's
`#cited` target and the quoted passage is wrapped in `<mark>`.

Invariant: nothing from a document runs. The page has no script of its own either, and is
sent with a Content-Security-Policy that forbids all script (`script-src 'none'`), so even
a rendering mistake could not execute a document's code. PDFs are not rendered here: the
browser's own viewer opens them at the cited page (`/files/x.pdf#page=N`).
"""

from __future__ import annotations

import html
import re
import unicodedata
from urllib.parse import quote as url_quote
from urllib.parse import urlencode

from markdown_it import MarkdownIt

from assistant.i18n import PAGE_TEXT
from assistant.ingest.chunking import PROVISION_LABEL, PROVISION_START, normalise_provision
from assistant.ingest.loaders import LoadedDocument
from assistant.text.lexicon import is_official_url

CSP = ("default-src 'none'; script-src 'none'; style-src 'unsafe-inline'; img-src 'none'; "
       "base-uri 'none'; form-action 'none'; frame-ancestors 'self'")
HEADERS = {"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff",
           "Referrer-Policy": "no-referrer"}

_MARK_OPEN, _MARK_CLOSE = "\ue000", "\ue001"  # private-use sentinels, never in real text
# A cross-reference link: open sentinel + one private-use character naming the link (no digit:
# the quote patterns match words), then the linked text, then the close sentinel.
_LINK_OPEN, _LINK_CLOSE, _LINK_BASE = "\ue002", "\ue003", 0xE100
_SENTINELS = re.compile("[\ue000-\ue003]")
_MD_LINK_OR_CODE = re.compile(r"\[[^\]\n]*\]\([^)\n]*\)|(`+)[^`]*?\1|<[^<>\n]*>")
_MD = MarkdownIt("commonmark", {"html": False, "linkify": False}).disable("image")

STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;line-height:1.55;color:#1f2328;
     background:#fff;margin:0;padding:0 1rem 3rem;overflow-wrap:anywhere;}
main,header.doc-header,nav.top{max-width:46rem;margin:0 auto;}
nav.top{padding:.8rem 0;font-size:.95rem;}
a{color:#0a58ca;} a:focus-visible{outline:3px solid #1f2328;outline-offset:2px;}
header.doc-header{border-bottom:1px solid #d0d7de;padding-bottom:.6rem;margin-bottom:1rem;}
header.doc-header h1{font-size:1.6rem;margin:.2rem 0 .4rem;}
header.doc-header dl{display:flex;flex-wrap:wrap;gap:.2rem 1.2rem;margin:0;font-size:.92rem;}
header.doc-header dt{font-weight:600;} header.doc-header dd{margin:0 0 0 .3rem;}
header.doc-header div{display:flex;}
section.doc-section{margin:1.2rem 0;scroll-margin-top:1rem;}
section.cited,div.provision.cited{border-left:4px solid #0a58ca;padding-left:.8rem;background:#f3f8ff;}
.cited-label{font-size:.85rem;font-weight:700;color:#0a3d8f;margin:0;}
.provision{scroll-margin-top:1rem;}
mark{background:#ffe066;color:#1f2328;padding:0 .1em;}
p.notice{border-left:4px solid #9a6700;background:#fff8c5;padding:.4rem .6rem;margin:.6rem 0;}
pre,code{white-space:pre-wrap;}
table{border-collapse:collapse;display:block;overflow-x:auto;} td,th{border:1px solid #d0d7de;padding:.2rem .4rem;}
"""


def slug(text: str) -> str:
    text = text.lower().replace("æ", "ae").replace("ø", "oe").replace("å", "aa")
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-")[:80] or "x"


def topic_label(topic: str) -> str:
    """A front-matter topic as a reader sees it: "klagenaevnet-for-udbud" -> "klagenaevnet for udbud"."""
    return " ".join(topic.replace("_", " ").replace("-", " ").split())


def read_url(source: str, *, section: str = "", quote: str = "", lang: str = "da") -> str:
    """The link a source card uses: the reading page at the cited section and quote."""
    query = {k: v for k, v in (("section", section), ("q", quote[:400]), ("lang", lang)) if v}
    return f"/read/{url_quote(source)}?{urlencode(query)}#cited"


def _quote_patterns(quote: str) -> list[re.Pattern]:
    # Quotes are whitespace-normalised extracts, their pieces joined by "…"; the file has line
    # breaks and Markdown marks between the words, so each piece is matched word by word. A
    # long piece is found by its first words.
    patterns = []
    for piece in re.split(r"…|\.\.\.", quote or ""):
        words = re.findall(r"\w+", piece)
        if len(words) >= 3:
            patterns.append(re.compile(r"\W+".join(re.escape(w) for w in words[:40]), re.I))
    return patterns


def _mark(text: str, patterns: list[re.Pattern]) -> tuple[str, list[re.Pattern]]:
    """`text` with each quoted piece found in it wrapped in sentinels, line by line (a mark
    never spans two blocks, so the HTML stays well nested); returns the pieces still unfound."""
    left = []
    for pattern in patterns:
        match = pattern.search(text)
        if not match:
            left.append(pattern)
            continue
        start, end = match.span()
        span = text[start:end]
        marked = "\n".join(f"{_MARK_OPEN}{line}{_MARK_CLOSE}" if line.strip() else line
                           for line in span.split("\n"))
        text = text[:start] + marked + text[end:]
    return text, left


def _render_markdown(text: str) -> str:
    out = _MD.render(text)
    first = True

    def opening(_):
        nonlocal first
        tag = "<mark id='quote'>" if first else "<mark>"
        first = False
        return tag

    out = re.sub(_MARK_OPEN, opening, out)
    return out.replace(_MARK_CLOSE, "</mark>")


def provision_anchor(label: str) -> str:
    """The reading page's anchor of a provision: "§ 93" / "93" -> "p-93", "5a" -> "p-5-a",
    "§ 13-2" -> "p-13-2", "Artikel 31" -> "p-artikel-31" (one rule for anchors and links)."""
    label = label.strip()
    if not re.match(r"(?:§|art)", label, re.I):
        label = "§ " + re.sub(r"(\d)\s?([a-z])$", r"\1 \2", label)
    return "p-" + slug(normalise_provision(label))


def _link_references(text: str, *, jurisdiction: str, language: str, act: str, statutes: dict[str, str],
                     note_acts: set[str], lang: str, links: list[str]) -> str:
    """`text` (which may hold quote marks) with each § reference to a known act wrapped in
    link sentinels: to the provision's anchor on this page when it is the page's own act, else
    to the shipped statute's reading page at that provision. The reference check's parser
    (`refcheck.find_references`) decides which act a reference names."""
    from assistant.corpus.refcheck import find_references

    plain, where = [], []  # the text without sentinels, and each plain character's position
    for i, ch in enumerate(text):
        if not _SENTINELS.match(ch):
            plain.append(ch)
            where.append(i)
    plain_text = "".join(plain)
    where.append(len(text))
    inserts: list[tuple[int, int, str]] = []
    # Markdown links and code spans stay as the author wrote them (no link inside a link; a
    # code span would show the sentinels).
    kept = [m.span() for m in _MD_LINK_OR_CODE.finditer(plain_text)]
    for ref in find_references(plain_text, jurisdiction=jurisdiction, language=language, note_acts=note_acts):
        if (ref.sign == 0 or plain_text[ref.sign - 1] == "\n") and PROVISION_START.match(plain_text, ref.sign):
            continue  # a provision's own label ("§ 94. ..." starting its line), not a reference
        if any(a <= ref.sign < b for a, b in kept):
            continue
        if ref.act == act and act:
            href = "#" + provision_anchor(ref.number)
        elif ref.act in statutes:
            href = read_url(statutes[ref.act], section=f"§ {ref.number}", lang=lang)
        else:
            continue
        # The link covers "§ 93" for a lone reference, the number only in a list ("§§ 3 og 4")
        # or where a quote mark begins or ends inside it (tags must nest).
        first = ref.sign if not plain_text[ref.sign:ref.start].strip("§ \u00a0") else ref.start
        start, end = where[first], where[ref.end - 1] + 1
        if _SENTINELS.search(text, start, end) and first != ref.start:
            start = where[ref.start]
        if _SENTINELS.search(text[start:end]) or len(links) >= 0x0E00:
            continue
        inserts.append((start, end, href))
    for start, end, href in sorted(inserts, reverse=True):
        links.append(href)
        token = chr(_LINK_BASE + len(links) - 1)
        text = text[:start] + _LINK_OPEN + token + text[start:end] + _LINK_CLOSE + text[end:]
    return text


def _render_links(html_text: str, links: list[str]) -> str:
    def link(m: re.Match) -> str:
        href = links[ord(m.group(1)) - _LINK_BASE]
        return f"<a class='xref' href='{html.escape(href)}'>{m.group(2)}</a>"

    out = re.sub(f"{_LINK_OPEN}([\ue100-\ueeff])(.*?){_LINK_CLOSE}", link, html_text, flags=re.S)
    return out.replace(_LINK_OPEN, "").replace(_LINK_CLOSE, "")


def _provision_blocks(text: str) -> list[tuple[str, str]]:
    """(anchor, text) per provision that starts a line; the text before them has anchor ''."""
    starts = list(PROVISION_START.finditer(text))
    if not starts:
        return [("", text)]
    blocks = [("", text[: starts[0].start()])] if text[: starts[0].start()].strip() else []
    for i, m in enumerate(starts):
        end = starts[i + 1].start() if i + 1 < len(starts) else len(text)
        blocks.append(("p-" + slug(normalise_provision(m.group("label"))), text[m.start():end]))
    return blocks


def _is_cited(headings: list[str], anchor: str, section: str) -> bool:
    if not section:
        return False
    wanted = section.strip().lower()
    path = " > ".join(headings).lower()
    if path and (wanted == path or wanted == (headings[-1].lower() if headings else "")):
        return True
    label = PROVISION_START.match(section.strip())
    own = PROVISION_LABEL.match(headings[-1]) if headings and not anchor else None
    if own and label and wanted.rstrip(".") == label.group("label").lower().rstrip(".") \
            and provision_anchor(own.group(1)) == provision_anchor(label.group("label").rstrip(".")):
        return True  # a provision that is its own section (HTML law), cited as "§ 13-2"
    return bool(anchor and label and anchor == "p-" + slug(normalise_provision(label.group("label"))))


def render_page(doc: LoadedDocument, *, raw_url: str, section: str = "", quote: str = "",
                lang: str = "da", official_urls: list[str] | None = None,
                statutes: dict[str, str] | None = None) -> str:
    """`statutes`: the shipped statutes' sources by act (`refcheck.statute_files`), which
    a reference to another act links to; references to the page's own act link in the page."""
    from assistant.corpus.refcheck import document_acts

    t = PAGE_TEXT.get(lang, PAGE_TEXT["da"])
    e = html.escape
    patterns = _quote_patterns(quote)
    links: list[str] = []
    link_args = {"jurisdiction": doc.jurisdiction, "language": doc.language, "act": doc.act,
                 "statutes": statutes or {}, "lang": lang,
                 "note_acts": document_acts("\n".join(sec.text for sec in doc.sections))}
    seen_provisions: set[str] = set()
    cited_done = False
    target = f"<p class='cited-label' id='cited'>{e(t['cited'])}</p>"
    parts = []
    seen: set[str] = set()
    for index, sec in enumerate(doc.sections):
        headings = [h for h in sec.headings if h]
        anchor = "s-" + slug(" ".join(headings)) if headings else f"s-{index + 1}"
        if anchor in seen:
            anchor = f"{anchor}-{index + 1}"
        seen.add(anchor)
        inner = []
        section_cited = _is_cited(headings, "", section)
        if headings and (len(headings) > 1 or headings[-1] != doc.title):
            level = min(len(headings) + 1, 6)
            own = PROVISION_LABEL.match(headings[-1])  # a provision that is its own section (HTML law)
            p_id = provision_anchor(own.group(1)) if own else ""
            id_attr = f" id='{e(p_id)}'" if p_id and p_id not in seen_provisions else ""
            seen_provisions.add(p_id)
            inner.append(f"<h{level}{id_attr}>{e(headings[-1])}</h{level}>")
        for p_anchor, block in _provision_blocks(sec.text):
            quoted_here = False
            if patterns:
                block, left = _mark(block, patterns)
                quoted_here = len(left) < len(patterns)
                patterns = left
            block = _link_references(block, links=links, **link_args)
            rendered = _render_links(_render_markdown(block), links)
            if p_anchor:
                cited_here = _is_cited([], p_anchor, section) or quoted_here
                label = ""
                if cited_here and not cited_done:
                    label, cited_done = target, True
                css = "provision cited" if cited_here and label else "provision"
                inner.append(f"{label}<div class='{css}' id='{e(p_anchor)}'>{rendered}</div>")
            else:
                section_cited = section_cited or quoted_here
                inner.append(rendered)
        classes = "doc-section"
        head = ""
        if section_cited and not cited_done:
            classes += " cited"
            head, cited_done = target, True
        parts.append(f"<section class='{classes}' id='{e(anchor)}'>{head}{''.join(inner)}</section>")

    meta = [(t["file"], e(doc.source))]
    if doc.updated:
        meta.append((t["date"], e(doc.updated)))
    if doc.source_kind in {"law", "guidance"}:
        meta.append((t["kind"], e(t[doc.source_kind])))
    if doc.consolidation:
        meta.append((t["consolidation"], e(doc.consolidation)))
    if doc.as_of:  # a statute's as_of is the date of its text
        meta.append((t["text_as_of"] if doc.source_kind == "law" else t["as_of"], e(doc.as_of)))
    if doc.attribution:
        meta.append((t["attribution"], e(doc.attribution)))
    if doc.jurisdiction:
        meta.append((t["jurisdiction"], e(doc.jurisdiction)))
    if doc.topics:
        meta.append((t["topics"], e(", ".join(topic_label(x) for x in doc.topics))))
    links = [u for u in (official_urls or doc.sources) if is_official_url(u)]
    meta_html = "".join(f"<div><dt>{k}:</dt><dd>{v}</dd></div>" for k, v in meta)
    official = "".join(f"<li><a href='{e(u)}' rel='noopener noreferrer'>{e(t['official'])}: {e(u)}</a></li>"
                       for u in links[:5])
    other_sources = [s for s in doc.sources if s not in links]
    if other_sources:
        official += "".join(f"<li>{e(s)}</li>" for s in other_sources[:8])
    based_on = (f"<p class='based-on' id='based-on'><strong>{e(t['based_on'])}:</strong></p>"
                f"<ul aria-labelledby='based-on'>{official}</ul>") if official else ""
    notice_text = doc.notices.get(lang) or doc.notices.get("en") or next(iter(doc.notices.values()), "")
    notice = (f"<p class='notice' role='note'><strong>{e(t['notice'])}:</strong> {e(notice_text)}</p>"
              if notice_text else "")
    skip = f"<a href='#cited'>{e(t['skip'])}</a> · " if cited_done else ""
    back = "/"
    return (
        f"<!DOCTYPE html><html lang='{e(lang)}'><head><meta charset='utf-8'>"
        f"<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{e(doc.title)}</title><style>{STYLE}</style></head><body>"
        f"<nav class='top' aria-label='{e(t['back'])}'>{skip}<a href='{e(back)}'>{e(t['back'])}</a> · "
        f"<a href='{e(raw_url)}' download>{e(t['raw'])}</a></nav>"
        f"<header class='doc-header'><h1 lang='{e(doc.language or lang)}'>{e(doc.title)}</h1>"
        f"<dl>{meta_html}</dl>{notice}{based_on}</header>"
        f"<main lang='{e(doc.language or lang)}'>{''.join(parts)}</main></body></html>"
    )
