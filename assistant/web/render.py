"""How an answer, its sources and the page chrome (mode badge, AI notice, footer) are drawn
as HTML/Markdown for the chat. Pure functions of an `Answer` and the interface language."""

from __future__ import annotations

import html
from urllib.parse import quote

from assistant.answer.assistant import Answer
from assistant.i18n import TEXT
from assistant.services import Services
from assistant.text.lexicon import is_official_url
from assistant.web.source_page import topic_label


def file_url(source: str, page: int = 0) -> str:
    url = "/files/" + quote(source)
    return f"{url}#page={page}" if page else url


def source_link(c, lang: str) -> str:
    """Where "Åbn kilden" goes: a PDF opens at its page in the browser's viewer, any other
    document on the readable page at the cited section with the quote highlighted."""
    from assistant.web.source_page import read_url

    if c.source.lower().endswith(".pdf"):
        return file_url(c.source, c.page)
    return read_url(c.source, section=c.section, quote=c.quote, lang=lang)


def render_sources(answer: Answer | None, lang: str) -> str:
    t = TEXT[lang]
    if answer is None or not answer.citations:
        return f"<p class='sources-empty'>{html.escape(t['no_sources'])}</p>"
    cards = []
    for c in answer.citations:
        where = " · ".join(x for x in (html.escape(c.section), f"{t['page']} {c.page}" if c.page else "") if x)
        as_of = _version_line(c, t)
        official = "".join(
            f" · <a class='official-link' href='{html.escape(url)}' target='_blank' rel='noopener noreferrer'>"
            f"{html.escape(t['official'])}: {html.escape(_host(url))}</a>"
            for url in (getattr(c, "official_urls", None) or [])[:3] if _safe_url(url))
        basis = _basis(c, t)
        raw = ("" if c.source.lower().endswith(".pdf") else
               f" · <a class='raw-link' href='{html.escape(file_url(c.source))}' download>{html.escape(t['download'])}</a>")
        cards.append(
            f"<article class='source-card' id='source-{c.n}' tabindex='-1' aria-labelledby='source-{c.n}-title'>"
            f"<h3 id='source-{c.n}-title'>[{c.n}] {html.escape(c.title or c.source)}</h3>"
            f"<p class='where'>{where}</p>{as_of}{basis}"
            f"<blockquote>{html.escape(c.quote)}</blockquote>"
            f"<p class='links'><a class='source-link' href='{html.escape(source_link(c, lang))}' target='_blank' "
            f"rel='noopener'>{html.escape(t['open'])}: {html.escape(c.source)}</a>{raw}{official}</p></article>"
        )
    body = "".join(cards)
    if answer.abstained:
        return (f"<section class='sources-nearest' aria-labelledby='nearest-title'>"
                f"<h2 id='nearest-title'>{html.escape(t['nearest'])}</h2>{body}</section>")
    return f"<section class='sources-answer' aria-label='{html.escape(t['sources'])}'>{body}</section>"


def _version_line(c, t: dict) -> str:
    """Law or guidance, a statute's version and the date of its text, and a notice when the
    text is known to predate a change (in the asker's language: the citation carries it)."""
    kind = getattr(c, "kind", "")
    if kind == "law":
        parts = [t["kind_law"], getattr(c, "consolidation", ""),
                 f"{t['text_as_of']} {c.as_of}" if c.as_of else "", getattr(c, "attribution", "")]
        line = " · ".join(html.escape(p) for p in parts if p)
    else:
        parts = [t["kind_guidance"] if kind == "guidance" else "",
                 f"{t['as_of']} {c.as_of}" if getattr(c, "as_of", "") else ""]
        line = " · ".join(html.escape(p) for p in parts if p)
    out = f"<p class='as-of source-kind-{html.escape(kind or 'unknown')}'>{line}</p>" if line else ""
    notice = getattr(c, "notice", "")
    if notice:
        out += f"<p class='notice' role='note'><strong>{html.escape(t['stale_notice'])}:</strong> {html.escape(notice)}</p>"
    return out


def _basis(c, t: dict) -> str:
    """What the cited document is based on and its topics (its front matter), when it says.
    The official links among its sources are already links on the card."""
    links = set(getattr(c, "official_urls", None) or [])
    based_on = [s for s in (getattr(c, "sources", None) or []) if s not in links]
    topics = [topic_label(x) for x in (getattr(c, "topics", None) or [])]
    out = ""
    if based_on:
        shown = "; ".join(html.escape(s) for s in based_on[:MAX_BASIS])
        more = f" (+{len(based_on) - MAX_BASIS})" if len(based_on) > MAX_BASIS else ""
        out += f"<p class='based-on'><strong>{html.escape(t['based_on'])}:</strong> {shown}{more}</p>"
    if topics:
        out += (f"<p class='topics'><strong>{html.escape(t['topics'])}:</strong> "
                f"{', '.join(html.escape(x) for x in topics)}</p>")
    return out


MAX_BASIS = 4  # sources named on a card; the reading page lists them all


_safe_url = is_official_url  # the one https-only rule (text.lexicon)


def _host(url: str) -> str:
    from urllib.parse import urlsplit

    return urlsplit(url).netloc


def render_answer(answer: Answer, lang: str) -> str:
    """The chat bubble, for every mode: a model's reply, an offline answer's quotes and an
    abstention's list of nearest sources (document titles and headings) all pass through the
    one inert renderer (web/markdown.py). Only `#source-n` markers and https links to the
    cited documents' official URLs stay live."""
    from assistant.web.markdown import escape, inert_markdown

    urls = [u for c in answer.citations for u in (getattr(c, "official_urls", None) or []) if _safe_url(u)]
    text = inert_markdown(answer.answer, urls, {c.n for c in answer.citations})
    if answer.abstained:
        return f"**⚠ {escape(TEXT[lang]['not_in_sources'])}**\n\n{text}"
    return text


def render_question(message: str) -> str:
    """The asker's own message in the chat: text, nothing live (it may be pasted from anywhere)."""
    from assistant.web.markdown import inert_markdown

    return inert_markdown(message)


def badge(services: Services, lang: str) -> str:
    if services.assistant.llm_enabled:
        return f"<span class='badge llm'>{html.escape(TEXT[lang]['llm_badge'])}</span>"
    return f"<span class='badge'>{html.escape(TEXT[lang]['offline_badge'])}</span>"


def ai_notice(services: Services, lang: str) -> str:
    """AI Act art. 50(1): the user is told, before the first question, that this is an AI
    system, what its answers rest on, and which mode is on. The mode sentence is always the
    app's own, so a configured text can never leave it out."""
    t = TEXT[lang]
    custom = getattr(services.settings, f"ai_notice_{lang}", "") or ""
    mode = t["mode_llm"] if services.assistant.llm_enabled else t["mode_offline"]
    return (f"<div class='ai-notice' role='note' aria-label='{html.escape(t['notice_title'])}'>"
            f"<strong>{html.escape(t['notice_title'])}</strong>"
            f"{html.escape(custom.strip() or t['notice'])} {html.escape(mode)}</div>")


def footer(services: Services, lang: str) -> str:
    """The accessibility statement link. Without a configured URL the footer stays empty:
    buyers never see a setting's name (the app's start-up log tells the operator)."""
    t = TEXT[lang]
    url = services.settings.a11y_statement_url.strip()
    if url and (_safe_url(url) or url.startswith("/")):
        return (f"<footer class='app-footer'><p><a href='{html.escape(url)}' rel='noopener'>"
                f"{html.escape(t['a11y'])}</a></p></footer>")
    return "<footer class='app-footer'></footer>"


def answer_from_dict(data: dict) -> Answer:
    """The Answer kept in the page's state (as its `to_dict()`), for re-rendering its sources."""
    from assistant.answer.assistant import Citation

    fields = {k: v for k, v in data.items() if k in Answer.__dataclass_fields__ and k != "citations"}
    citations = [Citation(**{k: v for k, v in c.items() if k in Citation.__dataclass_fields__})
                 for c in data.get("citations") or []]
    return Answer(**fields, citations=citations)

