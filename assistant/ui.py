"""The Gradio web app: a chat for buyers (with a sources panel) and a staff page for the
corpus, both mounted on one FastAPI app that also serves the source documents.

The staff page is its own Blocks, mounted under /staff with its own login, so none of
its functions exist in the public chat app: they cannot be reached without the login,
whether through the UI, `gradio_client` or raw HTTP.
"""

from __future__ import annotations

import html
import logging
import os
import re
import shutil
import tempfile
import unicodedata
from pathlib import Path
from urllib.parse import quote

import gradio as gr
from fastapi import Request  # module level: FastAPI resolves the /files/ route's annotations here

from . import staff_log
from .answer import Answer
from .config import Settings
from .corpus import CorpusBusy
from .loaders import SUPPORTED
from .security import drop_upload_copy
from .services import Services
from .source_page import topic_label
from .sync import EmbeddingDown, Progress, SyncReport
from .ui_assets import CSS, JS, NOTE_JS, login_message
from .ui_text import GRADIO_DA, STAFF_TEXT, TEXT

log = logging.getLogger(__name__)

EXAMPLES = [
    "Må vi tale med leverandører inden udbuddet?",
    "Hvornår kan vi bruge et innovationspartnerskab?",
    "Hvordan vægter vi totalomkostninger (LCC) i tildelingen?",
    "Which EU thresholds apply in 2026?",
    "What is pre-commercial procurement?",
]
LANGUAGE_CHOICES = [("Dansk", "da"), ("English", "en")]
CHAT_USER = "bruger"  # the chat's one shared login name (ASSISTANT_CHAT_PASSWORD)


# --- rendering --------------------------------------------------------------------------------


def file_url(source: str, page: int = 0) -> str:
    url = "/files/" + quote(source)
    return f"{url}#page={page}" if page else url


def source_link(c, lang: str) -> str:
    """Where "Åbn kilden" goes: a PDF opens at its page in the browser's viewer, any other
    document on the readable page at the cited section with the quote highlighted."""
    from .source_page import read_url

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
        as_of = (f"<p class='as-of'>{html.escape(t['as_of'])} {html.escape(c.as_of)}</p>"
                 if getattr(c, "as_of", "") else "")
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


def _safe_url(url: str) -> bool:
    return bool(re.match(r"https://[\w.-]+(?:/[\w./%#?=&+~:-]*)?$", url or ""))


def _host(url: str) -> str:
    from urllib.parse import urlsplit

    return urlsplit(url).netloc


_MARKER = re.compile(r"\[(\d{1,2})\](?!\()")


def link_markers(text: str, numbers: set[int]) -> str:
    """Each [n] that names a cited source becomes a link to its card (#source-n)."""
    return _MARKER.sub(lambda m: f"[\\[{m.group(1)}\\]](#source-{m.group(1)})"
                       if int(m.group(1)) in numbers else m.group(0), text)


def render_answer(answer: Answer, lang: str) -> str:
    """The chat bubble. A model's reply is untrusted Markdown: made inert before rendering
    (offline answers are built from escaped quotes already)."""
    from .security import inert_markdown

    text = answer.answer
    if answer.mode == "llm":
        urls = [u for c in answer.citations for u in (c.official_urls or [])]
        text = inert_markdown(text, urls)
    text = link_markers(text, {c.n for c in answer.citations})
    if answer.abstained:
        return f"**⚠ {TEXT[lang]['not_in_sources']}**\n\n{text}"
    return text


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
    t = TEXT[lang]
    url = services.settings.a11y_statement_url.strip()
    if url and (_safe_url(url) or url.startswith("/")):
        link = f"<a href='{html.escape(url)}' rel='noopener'>{html.escape(t['a11y'])}</a>"
    else:
        link = html.escape(t["a11y_missing"])
    return f"<footer class='app-footer'><p>{link}</p></footer>"


# --- the buyers' chat ---------------------------------------------------------------------------


def build_chat(services: Services) -> gr.Blocks:
    t = TEXT["da"]
    with gr.Blocks(title=t["title"], analytics_enabled=False) as chat:
        history = gr.State([])  # [{"role", "content"}] of plain questions and answers
        answer_ids = gr.State([])  # feedback row id per assistant message
        last_answer = gr.State(None)  # the latest Answer as a dict: sources panel, note, relabel
        redraw = gr.State([])  # the messages while the chat is redrawn in another language
        with gr.Row(elem_id="header-row"):
            heading = gr.Markdown(f"# {t['title']}\n{t['intro']}", elem_id="title")
            lang = gr.Radio(LANGUAGE_CHOICES, value="da", label=t["language"], scale=0, min_width=200,
                            elem_id="ui-language")
        mode = gr.HTML(badge(services, "da"), elem_id="mode")
        notice = gr.HTML(ai_notice(services, "da"), elem_id="ai-notice")
        with gr.Row(equal_height=False):
            with gr.Column(scale=3, min_width=280):
                chatbot = gr.Chatbot(label=t["chat"], height=520, elem_id="chat", buttons=["copy"])
                question = gr.Textbox(label=t["question"], placeholder=t["placeholder"], lines=1,
                                      max_lines=4, elem_id="question", autofocus=True)
                with gr.Row():
                    send = gr.Button(t["send"], variant="primary", elem_id="send")
                    new = gr.Button(t["new"], elem_id="new-conversation")
                    note = gr.Button(t["note"], elem_id="save-note")
                gr.HTML("<div id='note-area'></div>", elem_id="note-holder")
                note_payload = gr.Textbox(visible=False)
                examples = gr.Dataset(components=[gr.Textbox(visible=False)], samples=[[e] for e in EXAMPLES],
                                      label=t["examples"], elem_id="examples")
                with gr.Row():
                    comment = gr.Textbox(label=t["comment"], lines=1, scale=4, elem_id="comment")
                    comment_send = gr.Button(t["comment_send"], scale=1, elem_id="comment-send")
                status = gr.Markdown("", elem_id="status")
            with gr.Column(scale=2, min_width=280, elem_classes=["sources-column"]):
                sources_title = gr.Markdown(f"## {t['sources']}")
                sources = gr.HTML(render_sources(None, "da"), elem_id="sources")
        foot = gr.HTML(footer(services, "da"), elem_id="footer")

        examples.click(lambda sample: sample[0], inputs=examples, outputs=question, api_visibility="private")

        def respond(message, shown, past, ids, language):
            message = (message or "").strip()
            if not message:
                yield shown, past, ids, gr.skip(), "", gr.skip(), gr.skip()
                return
            shown = list(shown or []) + [{"role": "user", "content": message}, {"role": "assistant", "content": "…"}]
            final = None
            for partial in services.assistant.stream(message, past):
                final = partial
                shown[-1] = {"role": "assistant", "content": render_answer(partial, language)}
                yield shown, past, ids, gr.skip(), "", gr.skip(), TEXT[language]["answering"]
            answer_id = services.feedback.record_answer(final)
            past = list(past or []) + [{"role": "user", "content": message},
                                       {"role": "assistant", "content": final.answer}]
            ids = list(ids or []) + [answer_id]
            yield (shown, past, ids, render_sources(final, language), "", final.to_dict(),
                   TEXT[language]["answered"])

        events = dict(fn=respond, inputs=[question, chatbot, history, answer_ids, lang],
                      outputs=[chatbot, history, answer_ids, sources, question, last_answer, status],
                      api_visibility="private")
        send.click(**events)
        question.submit(**events)

        def reset(language):
            # Everything the cleared conversation left behind goes: a follow-up is not answered
            # as part of it, and feedback cannot land on an answer no longer on screen.
            return [], [], [], render_sources(None, language), "", None, TEXT[language]["cleared"]

        cleared = [chatbot, history, answer_ids, sources, comment, last_answer, status]
        new.click(reset, inputs=lang, outputs=cleared, api_visibility="private")
        chatbot.clear(reset, inputs=lang, outputs=cleared, api_visibility="private")

        def on_like(data: gr.LikeData, ids, language):
            position = _assistant_position(data.index)
            if position is not None and position < len(ids or []):
                services.feedback.vote(ids[position], 1 if data.liked else -1)
            return TEXT[language]["thanks"]

        chatbot.like(on_like, inputs=[answer_ids, lang], outputs=status, api_visibility="private")

        def on_comment(text, ids, language):
            if text and text.strip() and ids:
                services.feedback.comment(ids[-1], text)
                return "", TEXT[language]["thanks"]
            return text, ""

        comment_send.click(on_comment, inputs=[comment, answer_ids, lang], outputs=[comment, status],
                           api_visibility="private")

        def make_note(latest, language):
            import json

            s = TEXT[language]
            if not latest:
                return json.dumps({"message": s["note_none"]})
            return json.dumps({**note_files(services, latest, language), "message": s["note_ready"],
                               "labels": {"docx": s["note_docx"], "md": s["note_md"]}})

        note.click(make_note, inputs=[last_answer, lang], outputs=note_payload, api_visibility="private").then(
            None, inputs=note_payload, js=NOTE_JS)

        def relabel(language, latest, messages):
            s = TEXT[language]
            shown = answer_from_dict(latest) if latest else None
            # The messages are emptied here and put back by the next step, so Gradio draws their
            # buttons ("Copy message") anew in the new language; the sources panel keeps the
            # latest answer's cards.
            return (
                f"# {s['title']}\n{s['intro']}", badge(services, language), ai_notice(services, language),
                gr.update(label=s["chat"], value=[]), list(messages or []),
                gr.update(label=s["question"], placeholder=s["placeholder"]),
                gr.update(value=s["send"]), gr.update(value=s["new"]), gr.update(value=s["note"]),
                gr.update(label=s["comment"]), gr.update(value=s["comment_send"]),
                f"## {s['sources']}", render_sources(shown, language), gr.update(label=s["examples"]),
                footer(services, language),
            )

        lang.change(relabel, inputs=[lang, last_answer, chatbot],
                    outputs=[heading, mode, notice, chatbot, redraw, question, send, new, note, comment,
                             comment_send, sources_title, sources, examples, foot],
                    api_visibility="private", js="(language, latest, messages) => { window.assistantSetLang && "
                    "window.assistantSetLang(language); return [language, latest, messages]; }").then(
                        lambda messages: messages, inputs=redraw, outputs=chatbot, api_visibility="private")

        def chat_api(message: str, history: list[dict] | None = None) -> dict:
            """Answer a question with its sources. `history`: earlier turns as
            [{"role": "user"|"assistant", "content": str}] for follow-up questions."""
            refuse_oversized_api_input("chat", [message, history])
            answer = services.assistant.ask(message, history or [])
            services.feedback.record_answer(answer)
            return answer.to_dict()

        gr.api(chat_api, api_name="chat")

        def note_api(answer: dict, language: str = "da") -> dict:
            """A note for the case file from an answer returned by /chat: {"filename",
            "markdown", "docx_base64"}. Document hashes and dates come from the inventory;
            personal data is masked."""
            refuse_oversized_api_input("note", [answer, language])
            return note_files(services, answer, language if language in TEXT else "da")

        gr.api(note_api, api_name="note")
    return chat


# The public API's inputs (/chat, /note) are bounded before they are queued
# (`security.bound_queue` asks `api_input_problem`) and again when run: a waiting job holds
# its input in memory, and a body of many tiny values costs far more memory than its bytes.
API_MAX_CHARS = 20_000  # any one text: a question, a history message, an answer, a quote
API_MAX_HISTORY = 100  # history messages (a follow-up uses the last MAX_HISTORY_MESSAGES)
API_MAX_CITATIONS = 50  # citations in the answer a note is made from
API_MAX_ITEMS = 100  # entries of any list or object
API_MAX_VALUES = 5_000  # values in one input, all levels together
API_MAX_DEPTH = 6


def api_input_problem(api: str, data) -> str | None:
    """Why the input of API `api` ("chat", "note") is refused, or None. Only size is judged
    here: a malformed but small input gets the endpoint's own plain answer."""
    if api not in ("chat", "note") or not isinstance(data, list):
        return None
    from .answer import MAX_HISTORY_MESSAGES

    prefix = "Input too large / For stort input: "
    first, second = (list(data) + [None, None])[:2]
    if api == "chat" and isinstance(second, list) and len(second) > API_MAX_HISTORY:
        return (f"{prefix}history has {len(second)} messages; at most {API_MAX_HISTORY} "
                f"(only the last {MAX_HISTORY_MESSAGES} are used).")
    citations = first.get("citations") if api == "note" and isinstance(first, dict) else None
    if isinstance(citations, list) and len(citations) > API_MAX_CITATIONS:
        return f"{prefix}the answer has {len(citations)} citations; at most {API_MAX_CITATIONS}."
    budget = API_MAX_VALUES
    stack = [(data, 0)]
    while stack:
        value, depth = stack.pop()
        budget -= 1
        if budget < 0:
            return f"{prefix}more than {API_MAX_VALUES} values."
        if isinstance(value, str):
            if len(value) > API_MAX_CHARS:
                return f"{prefix}a text of {len(value)} characters; at most {API_MAX_CHARS}."
        elif isinstance(value, (list, dict)):
            if depth >= API_MAX_DEPTH:
                return f"{prefix}nested more than {API_MAX_DEPTH} levels."
            if len(value) > API_MAX_ITEMS:
                return f"{prefix}a list or object with {len(value)} entries; at most {API_MAX_ITEMS}."
            items = [*value.keys(), *value.values()] if isinstance(value, dict) else value
            stack.extend((item, depth + 1) for item in items)
    return None


def refuse_oversized_api_input(api: str, data: list) -> None:
    problem = api_input_problem(api, data)
    if problem:
        raise gr.Error(problem)


def answer_from_dict(data: dict) -> Answer:
    """The Answer kept in the page's state (as its `to_dict()`), for re-rendering its sources."""
    from .answer import Citation

    fields = {k: v for k, v in data.items() if k in Answer.__dataclass_fields__ and k != "citations"}
    citations = [Citation(**{k: v for k, v in c.items() if k in Citation.__dataclass_fields__})
                 for c in data.get("citations") or []]
    return Answer(**fields, citations=citations)


def note_files(services: Services, answer: dict, language: str) -> dict:
    import base64

    from .casenote import build_note, to_docx, to_markdown

    def lookup(source: str):
        try:
            return services.store.document(source)
        except Exception:  # noqa: BLE001 - a note without a hash beats no note while the store is down
            return None

    case = build_note(answer, lookup, ui_language=language)
    return {"filename": case.filename_stem, "markdown": to_markdown(case),
            "docx_base64": base64.b64encode(to_docx(case)).decode("ascii")}


def _assistant_position(index) -> int | None:
    """Which answer a like refers to: the chatbot alternates user/assistant messages."""
    if isinstance(index, (list, tuple)):
        index = index[0]
    if not isinstance(index, int):
        return None
    return index // 2


# --- the staff page ----------------------------------------------------------------------------

_UNSAFE = re.compile(r"[^\w.\- ]+", re.UNICODE)


def safe_filename(name: str) -> str:
    """A plain file name: no folders, no hidden files, no odd characters."""
    name = unicodedata.normalize("NFC", Path(str(name).replace("\\", "/")).name)
    name = _UNSAFE.sub("_", name).strip(" ._")
    stem, dot, suffix = name.rpartition(".")
    if dot and stem and len(suffix) <= 10:
        # Shorten the stem, never the type: a cut must not turn "x.docx" into "x.do".
        return f"{stem[:120 - len(suffix) - 1].rstrip(' ._')}.{suffix}"
    return name[:120]


def save_uploads(paths: list[str], corpus: Path, replace: bool, max_mb: float) -> tuple[list[Path], list[list]]:
    """Copy uploaded files into the corpus folder; return saved paths and rows for refused ones.
    Saved or refused, each upload's temporary copy in Gradio's cache is deleted now."""
    try:
        return _save_uploads(paths, corpus, replace, max_mb)
    finally:
        for temp in paths or []:
            drop_upload_copy(Path(getattr(temp, "name", temp)))


def _save_uploads(paths: list[str], corpus: Path, replace: bool, max_mb: float) -> tuple[list[Path], list[list]]:
    saved, refused = [], []
    corpus.mkdir(parents=True, exist_ok=True)
    for temp in paths or []:
        temp = Path(getattr(temp, "name", temp))
        name = safe_filename(getattr(temp, "orig_name", None) or temp.name)
        suffix = Path(name).suffix.lower()
        if not name or suffix not in SUPPORTED:
            refused.append([name or "?", "failed", 0, f"file type not allowed ({', '.join(sorted(SUPPORTED))})"])
            continue
        if temp.stat().st_size > max_mb * 1024 * 1024:
            refused.append([name, "failed", 0, f"over the {max_mb:g} MB limit"])
            continue
        target = corpus / name
        if target.exists() and not replace:
            refused.append([name, "skipped", 0, "a document with this name exists: tick 'replace' to overwrite it"])
            continue
        # Write beside the target, then rename: a crash never leaves half a file in the corpus.
        fd, tmp = tempfile.mkstemp(dir=corpus, prefix=".upload-")
        with os.fdopen(fd, "wb") as out, open(temp, "rb") as src:
            shutil.copyfileobj(src, out)
        os.replace(tmp, target)
        saved.append(target)
    return saved, refused


def report_rows(report: SyncReport) -> list[list]:
    return [[r.source, r.status, r.chunks, r.reason or "; ".join(r.warnings)] for r in report.results]


def inventory_rows(services: Services, lang: str = "da") -> list[list]:
    records = services.corpus.inventory()
    from datetime import date

    today = services.settings.today or date.today()
    overdue = STAFF_TEXT[lang]["overdue"]
    return [[r.title, r.source, r.language, r.jurisdiction, r.chunks, r.as_of,
             f"{r.review_by} ⚠ {overdue}" if r.overdue(today) else r.review_by,
             r.updated or r.ingested_at[:10], ", ".join(topic_label(x) for x in r.topics),
             "; ".join(r.sources)] for r in records]


def delete_choices(services: Services) -> list[tuple[str, str]]:
    """The delete list shows titles (with the file name, since two documents may share a
    title); the value is the file's source path."""
    records = sorted(services.corpus.inventory(), key=lambda r: (r.title or r.source).lower())
    return [(f"{r.title} ({r.source})" if r.title and r.title != r.source else r.source, r.source)
            for r in records]


INVENTORY_KEYS = ["h_title", "h_file", "h_language", "h_jurisdiction", "h_chunks", "h_as_of", "h_review_by",
                  "h_updated", "h_topics", "h_sources"]
RESULT_KEYS = ["h_file", "h_status", "h_chunks", "h_reason"]
VOTE_KEYS = ["h_time", "h_vote", "h_comment", "h_question", "h_answer", "h_mode"]
GAP_KEYS = ["h_time", "h_question", "h_language", "h_status"]


def build_staff(services: Services) -> gr.Blocks:
    settings = services.settings
    t = STAFF_TEXT["da"]

    def headers(keys, lang="da"):
        return [STAFF_TEXT[lang][k] for k in keys]

    with gr.Blocks(title=f"{t['title']} / {STAFF_TEXT['en']['title']}", analytics_enabled=False,
                   delete_cache=(3600, 3600)) as staff:
        with gr.Row():
            heading = gr.Markdown(f"# {t['title']}", elem_id="title")
            lang = gr.Radio(LANGUAGE_CHOICES, value="da", label=TEXT["da"]["language"], scale=0,
                            min_width=200, elem_id="ui-language")
        # The language as session state, not an input: the staff API (upload, delete, ...)
        # keeps its signature whatever the page shows.
        ui_lang = gr.State("da")
        if not staff_enabled(settings):
            gr.Markdown(
                "Personalesiden er slået fra. Sæt `ASSISTANT_STAFF_USER` og "
                "`ASSISTANT_STAFF_PASSWORD` og genstart appen.\n\n"
                "The staff page is switched off. To enable it, set `ASSISTANT_STAFF_USER` and "
                "`ASSISTANT_STAFF_PASSWORD` (environment or `.env`) and restart the app."
            )
            return staff
        gr.Markdown(lambda: storage_notice(services), elem_id="storage-notice")  # evaluated on each page load
        with gr.Tab(t["documents"], elem_id="tab-documents") as tab_documents:
            inventory = gr.Dataframe(headers=headers(INVENTORY_KEYS), value=lambda: inventory_rows(services),
                                     interactive=False, label=t["inventory"], elem_id="inventory", wrap=True,
                                     max_height=2000,
                                     # Fixed widths: on a phone the table scrolls inside its box
                                     # instead of squeezing each header to a letter a line.
                                     column_widths=["240px", "180px", "80px", "110px", "80px", "110px",
                                                    "150px", "110px", "200px", "320px"])
            with gr.Row():
                refresh = gr.Button(t["refresh"], elem_id="refresh")
                resync = gr.Button(t["resync"], elem_id="resync")
            with gr.Row():
                # Custom values stay allowed: API callers name the file, and do_delete checks it.
                to_delete = gr.Dropdown(label=t["delete_choice"], choices=[], allow_custom_value=True,
                                        elem_id="delete-choice")
                confirm_delete = gr.Checkbox(label=t["delete_confirm"], elem_id="delete-confirm")
                delete = gr.Button(t["delete"], variant="stop", elem_id="delete")
            resync_result = gr.Dataframe(headers=headers(RESULT_KEYS), label=t["result"], interactive=False,
                                         elem_id="resync-result", wrap=True,
                                         column_widths=["200px", "100px", "80px", "260px"])
        with gr.Tab(t["upload_tab"], elem_id="tab-upload") as tab_upload:
            files = gr.File(label=t["files"], file_count="multiple",
                            file_types=sorted(SUPPORTED), elem_id="upload-files")
            replace = gr.Checkbox(label=t["replace"], elem_id="upload-replace")
            upload = gr.Button(t["upload"], variant="primary", elem_id="upload")
            upload_result = gr.Dataframe(headers=headers(RESULT_KEYS), label=t["result"], interactive=False,
                                         elem_id="upload-result", wrap=True)
        with gr.Tab(t["feedback_tab"], elem_id="tab-feedback") as tab_feedback:
            votes = gr.Dataframe(headers=headers(VOTE_KEYS), label=t["latest_feedback"], interactive=False,
                                 wrap=True, elem_id="votes")
            gaps = gr.Dataframe(headers=headers(GAP_KEYS), label=t["gaps"], interactive=False, wrap=True,
                                elem_id="gaps")
            with gr.Row():
                load_feedback = gr.Button(t["refresh"], elem_id="feedback-refresh")
                export = gr.Button(t["export"], elem_id="feedback-export")
            export_file = gr.File(label="CSV", interactive=False, elem_id="export-file")

        def choices():
            return gr.update(choices=delete_choices(services), value=None)

        def bar(progress):
            def on_file(item, index, total):
                progress((index - 1, total), desc=f"{item.action}: {item.source}")

            return Progress(on_file=on_file)

        def do_upload(uploaded, replace_existing, language, request: gr.Request, progress=gr.Progress()):
            refused: list[list] = []

            def save(corpus: Path) -> list[Path]:  # runs under the writer lock
                saved, rows = save_uploads(uploaded or [], corpus, bool(replace_existing), settings.max_file_mb)
                staff_log.action(_user(request), "upload", [p.name for p in saved],
                                 f"{len(rows)} refused" if rows else "")
                refused.extend(rows)
                return saved

            try:
                rows = report_rows(services.corpus.upload(save, bar(progress), wait=600)) + refused
            except CorpusBusy as exc:
                rows = [["", "failed", 0, str(exc)]]
            return rows, inventory_rows(services, language), choices(), None

        upload.click(do_upload, inputs=[files, replace, ui_lang], outputs=[upload_result, inventory, to_delete, files],
                     api_name="upload")

        def do_delete(source, confirmed, language, request: gr.Request):
            # The tick box is cleared after every attempt: one tick deletes one document.
            if not source:
                return [["", "failed", 0, "choose a document"]], inventory_rows(services, language), choices(), False
            if not confirmed:
                return ([[source, "skipped", 0, "tick the confirmation box to delete"]],
                        inventory_rows(services, language), choices(), False)
            try:
                result = services.corpus.delete(source, wait=600)
                row = [source, result.status, 0, result.reason]
            except CorpusBusy as exc:
                row = [source, "failed", 0, str(exc)]
            staff_log.action(_user(request), "delete", [source], row[3])
            return [row], inventory_rows(services, language), choices(), False

        delete.click(do_delete, inputs=[to_delete, confirm_delete, ui_lang],
                     outputs=[resync_result, inventory, to_delete, confirm_delete], api_name="delete")

        def do_resync(language, request: gr.Request, progress=gr.Progress()):
            staff_log.action(_user(request), "resync")
            try:
                rows = report_rows(services.corpus.sync(None, bar(progress), wait=600))
            except CorpusBusy as exc:
                rows = [["", "failed", 0, str(exc)]]
            except EmbeddingDown as exc:
                # The file being embedded was rolled back; the rest of the store is as it was.
                rows = [[exc.source, "failed", 0, services.corpus.embedding_down_reason(exc, exc.source, (language,))]]
            return rows, inventory_rows(services, language), choices()

        resync.click(do_resync, inputs=ui_lang, outputs=[resync_result, inventory, to_delete], api_name="resync")
        refresh.click(lambda language: (inventory_rows(services, language), choices()), inputs=ui_lang,
                      outputs=[inventory, to_delete], api_name="inventory")

        def feedback_tables():
            fb = [[r["time"], r["vote"], r["comment"], r["question"], r["answer"][:300], r["mode"]]
                  for r in services.feedback.latest_feedback()]
            gp = [[r["time"], r["question"], r["language"], r.get("status", "")] for r in services.feedback.gaps()]
            return fb, gp

        def view_feedback(request: gr.Request):
            staff_log.action(_user(request), "feedback_view")
            return feedback_tables()

        def export_feedback(request: gr.Request):
            staff_log.action(_user(request), "feedback_export")
            try:
                return str(services.feedback.export_csv(Path(settings.data_dir) / "exports"))
            except OSError as exc:
                raise gr.Error(f"The export could not be written: {exc.strerror or exc}. "
                               "Free space in the data folder and try again.") from None

        load_feedback.click(view_feedback, outputs=[votes, gaps], api_name="feedback")
        export.click(export_feedback, outputs=export_file, api_name="feedback_export")
        staff.load(lambda: (*feedback_tables(), choices()), outputs=[votes, gaps, to_delete],
                   api_visibility="private")

        def relabel(language):
            s = STAFF_TEXT[language]
            return (
                language, f"# {s['title']}", gr.update(label=s["documents"]), gr.update(label=s["upload_tab"]),
                gr.update(label=s["feedback_tab"]),
                gr.update(headers=headers(INVENTORY_KEYS, language), label=s["inventory"],
                          value=inventory_rows(services, language)),
                gr.update(value=s["refresh"]), gr.update(value=s["resync"]),
                gr.update(label=s["delete_choice"]), gr.update(label=s["delete_confirm"]),
                gr.update(value=s["delete"]),
                gr.update(headers=headers(RESULT_KEYS, language), label=s["result"]),
                gr.update(label=s["files"]), gr.update(label=s["replace"]), gr.update(value=s["upload"]),
                gr.update(headers=headers(RESULT_KEYS, language), label=s["result"]),
                gr.update(headers=headers(VOTE_KEYS, language), label=s["latest_feedback"]),
                gr.update(headers=headers(GAP_KEYS, language), label=s["gaps"]),
                gr.update(value=s["refresh"]), gr.update(value=s["export"]),
            )

        lang.change(relabel, inputs=lang,
                    outputs=[ui_lang, heading, tab_documents, tab_upload, tab_feedback, inventory, refresh, resync,
                             to_delete, confirm_delete, delete, resync_result, files, replace, upload,
                             upload_result, votes, gaps, load_feedback, export],
                    api_visibility="private",
                    js="(language) => { window.assistantSetLang && window.assistantSetLang(language); return language; }")
    return staff


def _user(request: gr.Request | None) -> str | None:
    return getattr(request, "username", None) if request is not None else None


def storage_notice(services: Services) -> str:
    """Why questions and feedback are not being saved (say, a full disk), for staff."""
    reason = services.feedback.last_error() if hasattr(services.feedback, "last_error") else ""
    if not reason:
        return ""
    return ("**⚠ Feedback gemmes ikke / Feedback is not being saved:** "
            f"{html.escape(str(reason))[:300]}. Chatten svarer stadig / The chat still answers.")


def staff_enabled(settings: Settings) -> bool:
    return bool(settings.staff_user and settings.staff_password and settings.staff_password.get_secret_value())


# --- the FastAPI app ---------------------------------------------------------------------------


def create_app(services: Services):
    """FastAPI app: chat at /, staff page at /staff (own login), documents at /files/."""
    from fastapi import FastAPI, HTTPException
    from fastapi.responses import FileResponse

    from .security import (
        GuardMiddleware,
        LoginLimiter,
        bound_queue,
        gradio_user,
        harden_api,
        mounted_gradio,
    )

    settings = services.settings
    staff_log.configure(Path(settings.data_dir), settings.feedback_retention_days)
    app = FastAPI(title="Innovation procurement assistant", docs_url=None, redoc_url=None)
    chat_login = {}  # the chat's Gradio app, once mounted, when the chat has a password

    def inventory_file(source: str, request: Request) -> tuple[Path, object]:
        """The corpus file of an inventory document, or 404: no hidden files, no .git, nothing else."""
        if chat_login and gradio_user(chat_login["app"], request) is None:
            # The documents are behind the same login as the chat that cites them.
            raise HTTPException(401, "Log in to the chat first / Log ind i chatten først")
        corpus = Path(settings.corpus_dir).resolve()
        if "\x00" in source or len(source) > 1000:
            raise HTTPException(404, "No such document")
        try:
            path = (corpus / source).resolve()
            record = services.store.document(source)
        except (OSError, ValueError, RuntimeError):
            raise HTTPException(404, "No such document") from None
        if (record is None or not record.content_hash or corpus not in path.parents or not path.is_file()
                or any(part.startswith(".") for part in path.relative_to(corpus).parts)):
            raise HTTPException(404, "No such document")
        return path, record

    @app.get("/files/{source:path}")
    def source_file(source: str, request: Request):
        path, _ = inventory_file(source, request)
        media = {".pdf": "application/pdf", ".md": "text/markdown; charset=utf-8",
                 ".txt": "text/plain; charset=utf-8", ".html": "text/plain; charset=utf-8",
                 ".htm": "text/plain; charset=utf-8"}.get(path.suffix.lower())
        # HTML documents are served as text: a stored page must never run script here.
        return FileResponse(path, media_type=media, filename=None if media else path.name)

    @app.get("/read/{source:path}")
    def read_source(source: str, request: Request, section: str = "", q: str = "", lang: str = "da"):
        """The readable page of a document (see source_page.py); a PDF goes to its viewer."""
        from fastapi.responses import HTMLResponse, RedirectResponse

        from .loaders import LoadError, load_file
        from .source_page import HEADERS, render_page

        path, _ = inventory_file(source, request)
        if path.suffix.lower() == ".pdf":
            return RedirectResponse(file_url(source), status_code=307)
        try:
            doc = load_file(path, Path(settings.corpus_dir).resolve(), settings.max_file_mb)
        except LoadError:
            raise HTTPException(404, "No such document") from None
        page = render_page(doc, raw_url=file_url(source), section=section[:300], quote=q[:400],
                           lang="en" if lang == "en" else "da")
        return HTMLResponse(page, headers=HEADERS)

    import threading

    def purge_daily() -> None:
        # Storage limitation: feedback older than the retention period goes, every day.
        while True:
            try:
                services.feedback.purge_old()
            except Exception:  # never let housekeeping take the app down
                log.exception("feedback purge failed")
            stop.wait(24 * 3600)

    stop = threading.Event()
    threading.Thread(target=purge_daily, name="feedback-purge", daemon=True).start()

    @app.get("/healthz")
    def health():
        return {"ok": True}

    staff = build_staff(services).queue(default_concurrency_limit=2, max_size=settings.queue_max_size)
    max_upload = int(settings.max_file_mb * 1024 * 1024)
    staff_auth = None
    if staff_enabled(settings):
        staff_auth = [(settings.staff_user, settings.staff_password.get_secret_value())]
    i18n = gr.I18n(da=GRADIO_DA)
    page = dict(css=CSS, js=JS, i18n=i18n, run_history=False)
    app = gr.mount_gradio_app(app, staff, path="/staff", auth=staff_auth, **page, footer_links=[],
                              auth_message=login_message("Kildebibliotek (personale)", "Corpus (staff)"),
                              max_file_size=max_upload)
    chat = build_chat(services).queue(default_concurrency_limit=settings.concurrency,
                                      max_size=settings.queue_max_size)
    chat_auth = None
    if settings.chat_password and settings.chat_password.get_secret_value():
        chat_auth = [(CHAT_USER, settings.chat_password.get_secret_value())]
    app = gr.mount_gradio_app(app, chat, path="", auth=chat_auth, **page, footer_links=["api"],
                              auth_message=login_message(TEXT["da"]["title"], TEXT["en"]["title"],
                                                         f"Brugernavn / user name: {CHAT_USER}"), max_file_size=1)
    for blocks in (staff, chat):
        harden_api(mounted_gradio(app, blocks))
        bound_queue(blocks, max_size=settings.queue_max_size, per_client=settings.queue_per_client,
                    check=api_input_problem)
    if chat_auth:
        chat_login["app"] = mounted_gradio(app, chat)
    limiter = LoginLimiter(free_attempts=settings.login_free_attempts, max_delay_s=settings.login_max_delay_s)
    return GuardMiddleware(app, allowed_origins=settings.allowed_origin_list,
                           max_body_bytes=settings.max_request_kb * 1024,
                           max_upload_bytes=max_upload + 1024 * 1024, limiter=limiter,
                           known_users=[settings.staff_user, CHAT_USER if chat_auth else ""])
