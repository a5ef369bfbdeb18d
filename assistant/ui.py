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
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import gradio as gr
from fastapi import Request  # module level: FastAPI resolves the /files/ route's annotations here

from . import staff_log
from .answer import Answer, Assistant
from .config import Settings
from .feedback import FeedbackStore
from .loaders import SUPPORTED
from .retrieval import Retriever
from .security import drop_upload_copy
from .store import Store
from .sync import Progress, SyncReport, sync

log = logging.getLogger(__name__)

TEXT = {
    "da": {
        "title": "Innovative offentlige indkøb – spørg kilderne",
        "intro": "Stil et spørgsmål om innovative offentlige indkøb. Svarene bygger kun på kilderne, med henvisning til den præcise passage.",
        "offline_badge": "Uden sprogmodel: svarene er ordrette uddrag af kilderne",
        "llm_badge": "Sprogmodel aktiv: svar med kildehenvisninger",
        "question": "Dit spørgsmål",
        "placeholder": "Fx: Må vi tale med leverandører inden udbuddet?",
        "send": "Send",
        "new": "Ny samtale",
        "chat": "Samtale",
        "sources": "Kilder",
        "no_sources": "Kilderne til svaret vises her.",
        "nearest": "Ikke et svar – de nærmeste kilder",
        "open": "Åbn kilden",
        "as_of": "Gælder pr.",
        "official": "Officiel kilde",
        "page": "s.",
        "comment": "Kommentar til det seneste svar (valgfri)",
        "comment_send": "Send kommentar",
        "thanks": "Tak for din feedback.",
        "examples": "Eksempler",
        "not_in_sources": "Ikke i kilderne",
        "language": "Sprog / Language",
    },
    "en": {
        "title": "Innovative public procurement – ask the sources",
        "intro": "Ask a question about innovative public procurement. Answers come only from the sources, citing the exact passage.",
        "offline_badge": "No language model: answers are verbatim extracts from the sources",
        "llm_badge": "Language model active: answers with citations",
        "question": "Your question",
        "placeholder": "E.g.: May we talk to suppliers before the tender?",
        "send": "Send",
        "new": "New conversation",
        "chat": "Conversation",
        "sources": "Sources",
        "no_sources": "The sources of the answer appear here.",
        "nearest": "Not an answer – the nearest sources",
        "open": "Open the source",
        "as_of": "Valid as of",
        "official": "Official source",
        "page": "p.",
        "comment": "Comment on the latest answer (optional)",
        "comment_send": "Send comment",
        "thanks": "Thank you for your feedback.",
        "examples": "Examples",
        "not_in_sources": "Not in the sources",
        "language": "Sprog / Language",
    },
}
EXAMPLES = [
    "Må vi tale med leverandører inden udbuddet?",
    "Hvornår kan vi bruge et innovationspartnerskab?",
    "Hvordan vægter vi totalomkostninger (LCC) i tildelingen?",
    "Which EU thresholds apply in 2026?",
    "What is pre-commercial procurement?",
]
LANGUAGE_CHOICES = [("Dansk", "da"), ("English", "en")]
CHAT_USER = "bruger"  # the chat's one shared login name (ASSISTANT_CHAT_PASSWORD)

CSS = """
.badge {display:inline-block;padding:.25rem .6rem;border-radius:1rem;font-size:.9rem;
        background:#fff4d6;color:#5c4300;border:1px solid #e0b84c;}
.badge.llm {background:#e3f4e8;color:#1d5b2f;border-color:#7cc08f;}
.source-card {border:1px solid #d0d7de;border-radius:.5rem;padding:.6rem .8rem;margin:.5rem 0;}
.source-card h3 {font-size:1rem;margin:0 0 .2rem 0;}
.source-card .where {color:#57606a;font-size:.85rem;margin:0 0 .4rem 0;}
.source-card .as-of {font-size:.85rem;margin:0 0 .3rem 0;color:#1f2328;font-weight:600;}
.source-card blockquote {margin:.3rem 0;padding-left:.6rem;border-left:3px solid #8c959f;}
.sources-nearest {border:2px dashed #cf8e00;border-radius:.5rem;padding:.4rem .8rem;}
.sources-nearest h2 {color:#7a4d00;font-size:1rem;}
@media (max-width: 760px) { .sources-column {min-width:100% !important;} }
"""


@dataclass
class Services:
    """Everything the web app needs, built once per process."""

    settings: Settings
    store: Store
    retriever: Retriever
    assistant: Assistant
    feedback: FeedbackStore

    @classmethod
    def build(cls, settings: Settings, chat_model=None) -> "Services":
        store = Store(settings)
        retriever = Retriever(store, settings)
        from .feedback import FeedbackUnavailable

        try:
            feedback = FeedbackStore(Path(settings.data_dir) / "feedback.sqlite3",
                                     retention_days=settings.feedback_retention_days)
        except FeedbackUnavailable as exc:
            # Answering never depends on logging: run on, and say why nothing is saved.
            log.error("%s", exc)
            feedback = _NoFeedback(str(exc))
        return cls(settings, store, retriever, Assistant(retriever, settings, chat_model), feedback)


class _NoFeedback:
    """Stands in for the feedback store when the data folder cannot be written."""

    healthy = False

    def __init__(self, reason: str):
        self.reason = reason

    def last_error(self) -> str:
        return self.reason

    def record_answer(self, answer):
        return None

    def vote(self, *args, **kwargs):
        return None

    def comment(self, *args, **kwargs):
        return None

    def latest_feedback(self, limit: int = 100):
        return []

    def gaps(self, limit: int = 100):
        return []

    def purge_old(self) -> int:
        return 0

    def export_csv(self, folder):
        raise OSError(self.reason)


# --- rendering --------------------------------------------------------------------------------


def file_url(source: str, page: int = 0) -> str:
    url = "/files/" + quote(source)
    return f"{url}#page={page}" if page else url


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
        cards.append(
            f"<article class='source-card' id='source-{c.n}' aria-label='{html.escape(t['sources'])} {c.n}'>"
            f"<h3>[{c.n}] {html.escape(c.title or c.source)}</h3>"
            f"<p class='where'>{where}</p>{as_of}"
            f"<blockquote>{html.escape(c.quote)}</blockquote>"
            f"<p class='links'><a class='source-link' href='{html.escape(file_url(c.source, c.page))}' target='_blank' "
            f"rel='noopener'>{html.escape(t['open'])}: {html.escape(c.source)}</a>{official}</p></article>"
        )
    body = "".join(cards)
    if answer.abstained:
        return (f"<section class='sources-nearest' role='note'><h2>{html.escape(t['nearest'])}</h2>"
                f"{body}</section>")
    return f"<section class='sources-answer'>{body}</section>"


def _safe_url(url: str) -> bool:
    return bool(re.match(r"https://[\w.-]+(?:/[\w./%#?=&+~:-]*)?$", url or ""))


def _host(url: str) -> str:
    from urllib.parse import urlsplit

    return urlsplit(url).netloc


def render_answer(answer: Answer, lang: str) -> str:
    """The chat bubble. A model's reply is untrusted Markdown: made inert before rendering
    (offline answers are built from escaped quotes already)."""
    from .security import inert_markdown

    text = answer.answer
    if answer.mode == "llm":
        urls = [u for c in answer.citations for u in (c.official_urls or [])]
        text = inert_markdown(text, urls)
    if answer.abstained:
        return f"**⚠ {TEXT[lang]['not_in_sources']}**\n\n{text}"
    return text


def badge(services: Services, lang: str) -> str:
    if services.assistant.llm_enabled:
        return f"<span class='badge llm' role='status'>{html.escape(TEXT[lang]['llm_badge'])}</span>"
    return f"<span class='badge' role='status'>{html.escape(TEXT[lang]['offline_badge'])}</span>"


# --- the buyers' chat ---------------------------------------------------------------------------


def build_chat(services: Services) -> gr.Blocks:
    t = TEXT["da"]
    with gr.Blocks(title=t["title"], analytics_enabled=False) as chat:
        history = gr.State([])  # [{"role", "content"}] of plain questions and answers
        answer_ids = gr.State([])  # feedback row id per assistant message
        with gr.Row():
            heading = gr.Markdown(f"# {t['title']}\n{t['intro']}")
            lang = gr.Radio(LANGUAGE_CHOICES, value="da", label=t["language"], scale=0, min_width=220)
        mode = gr.HTML(badge(services, "da"))
        with gr.Row(equal_height=False):
            with gr.Column(scale=3, min_width=320):
                chatbot = gr.Chatbot(label=t["chat"], height=520, elem_id="chat", buttons=["copy"])
                question = gr.Textbox(label=t["question"], placeholder=t["placeholder"], lines=1,
                                      max_lines=4, elem_id="question", autofocus=True)
                with gr.Row():
                    send = gr.Button(t["send"], variant="primary", elem_id="send")
                    new = gr.Button(t["new"], elem_id="new-conversation")
                gr.Examples(EXAMPLES, inputs=question, label=t["examples"])
                with gr.Row():
                    comment = gr.Textbox(label=t["comment"], lines=1, scale=4, elem_id="comment")
                    comment_send = gr.Button(t["comment_send"], scale=1, elem_id="comment-send")
                status = gr.Markdown("", elem_id="status")
            with gr.Column(scale=2, min_width=300, elem_classes=["sources-column"]):
                sources_title = gr.Markdown(f"## {t['sources']}")
                sources = gr.HTML(render_sources(None, "da"), elem_id="sources")

        def respond(message, shown, past, ids, language):
            message = (message or "").strip()
            if not message:
                yield shown, past, ids, gr.skip(), ""
                return
            shown = list(shown or []) + [{"role": "user", "content": message}, {"role": "assistant", "content": "…"}]
            final = None
            for partial in services.assistant.stream(message, past):
                final = partial
                shown[-1] = {"role": "assistant", "content": render_answer(partial, language)}
                yield shown, past, ids, gr.skip(), ""
            answer_id = services.feedback.record_answer(final)
            past = list(past or []) + [{"role": "user", "content": message},
                                       {"role": "assistant", "content": final.answer}]
            ids = list(ids or []) + [answer_id]
            yield shown, past, ids, render_sources(final, language), ""

        events = dict(fn=respond, inputs=[question, chatbot, history, answer_ids, lang],
                      outputs=[chatbot, history, answer_ids, sources, question], api_visibility="private")
        send.click(**events)
        question.submit(**events)

        def reset(language):
            return [], [], [], render_sources(None, language), ""

        new.click(reset, inputs=lang, outputs=[chatbot, history, answer_ids, sources, comment],
                  api_visibility="private")

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

        def relabel(language):
            s = TEXT[language]
            return (
                f"# {s['title']}\n{s['intro']}", badge(services, language),
                gr.update(label=s["chat"]),
                gr.update(label=s["question"], placeholder=s["placeholder"]),
                gr.update(value=s["send"]), gr.update(value=s["new"]),
                gr.update(label=s["comment"]), gr.update(value=s["comment_send"]),
                f"## {s['sources']}", render_sources(None, language),
            )

        lang.change(relabel, inputs=lang, outputs=[heading, mode, chatbot, question, send, new, comment,
                                                   comment_send, sources_title, sources],
                    api_visibility="private")

        def chat_api(message: str, history: list[dict] | None = None) -> dict:
            """Answer a question with its sources. `history`: earlier turns as
            [{"role": "user"|"assistant", "content": str}] for follow-up questions."""
            answer = services.assistant.ask(message, history or [])
            services.feedback.record_answer(answer)
            return answer.to_dict()

        gr.api(chat_api, api_name="chat")
    return chat


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


def inventory_rows(services: Services) -> list[list]:
    records = sorted((r for r in services.store.documents().values() if r.content_hash), key=lambda r: r.source)
    from datetime import date

    today = services.settings.today or date.today()
    return [[r.title, r.source, r.language, r.jurisdiction, r.chunks, r.as_of,
             f"{r.review_by} ⚠ {'forfalden / overdue'}" if r.overdue(today) else r.review_by,
             r.updated or r.ingested_at[:10]] for r in records]


def build_staff(services: Services) -> gr.Blocks:
    settings = services.settings
    with gr.Blocks(title="Staff – corpus", analytics_enabled=False, delete_cache=(3600, 3600)) as staff:
        gr.Markdown("# Kildebibliotek (personale) / Corpus (staff)")
        if not staff_enabled(settings):
            gr.Markdown(
                "The staff page is switched off. To enable it, set `ASSISTANT_STAFF_USER` and "
                "`ASSISTANT_STAFF_PASSWORD` (environment or `.env`) and restart the app.\n\n"
                "Personalesiden er slået fra. Sæt `ASSISTANT_STAFF_USER` og "
                "`ASSISTANT_STAFF_PASSWORD` og genstart appen."
            )
            return staff
        gr.Markdown(lambda: storage_notice(services), elem_id="storage-notice")  # evaluated on each page load
        inventory_headers = ["title", "file", "language", "jurisdiction", "chunks", "as of", "review by", "updated"]
        result_headers = ["file", "status", "chunks", "reason"]
        with gr.Tab("Dokumenter / Documents"):
            inventory = gr.Dataframe(headers=inventory_headers, value=lambda: inventory_rows(services),
                                     interactive=False, label="Inventory", elem_id="inventory")
            with gr.Row():
                refresh = gr.Button("Opdater / Refresh", elem_id="refresh")
                resync = gr.Button("Gen-synkronisér mappen / Re-sync folder", elem_id="resync")
            with gr.Row():
                to_delete = gr.Dropdown(label="Dokument der skal slettes / Document to delete",
                                        choices=[], allow_custom_value=True, elem_id="delete-choice")
                confirm_delete = gr.Checkbox(label="Ja, slet fil og indeks / Yes, delete file and chunks",
                                             elem_id="delete-confirm")
                delete = gr.Button("Slet / Delete", variant="stop", elem_id="delete")
            resync_result = gr.Dataframe(headers=result_headers, label="Resultat / Result", interactive=False)
        with gr.Tab("Upload"):
            files = gr.File(label="Filer / Files", file_count="multiple",
                            file_types=sorted(SUPPORTED), elem_id="upload-files")
            replace = gr.Checkbox(label="Erstat eksisterende dokumenter med samme navn / Replace documents with the same name",
                                  elem_id="upload-replace")
            upload = gr.Button("Upload og indlæs / Upload and ingest", variant="primary", elem_id="upload")
            upload_result = gr.Dataframe(headers=result_headers, label="Resultat / Result", interactive=False,
                                         elem_id="upload-result")
        with gr.Tab("Feedback"):
            votes = gr.Dataframe(headers=["time", "vote", "comment", "question", "answer", "mode"],
                                 label="Seneste feedback / Latest feedback", interactive=False)
            gaps = gr.Dataframe(headers=["time", "question", "language", "status"],
                                label="Afviste og svage svar: hvad kilderne mangler / Refused and weak answers: what the sources lack",
                                interactive=False)
            with gr.Row():
                load_feedback = gr.Button("Opdater / Refresh")
                export = gr.Button("Eksportér CSV / Export CSV")
            export_file = gr.File(label="CSV", interactive=False)

        def choices():
            return gr.update(choices=[r[1] for r in inventory_rows(services)], value=None)

        def run_sync(paths, progress):
            def on_file(item, index, total):
                progress((index - 1, total), desc=f"{item.action}: {item.source}")

            report = sync(services.store, settings, paths, Progress(on_file=on_file), wait=600)
            services.retriever.refresh()
            return report

        def do_upload(uploaded, replace_existing, request: gr.Request, progress=gr.Progress()):
            saved, refused = save_uploads(uploaded or [], Path(settings.corpus_dir), bool(replace_existing),
                                          settings.max_file_mb)
            staff_log.action(_user(request), "upload", [p.name for p in saved],
                             f"{len(refused)} refused" if refused else "")
            rows = list(refused)
            if saved:
                report = run_sync(saved, progress)
                rows = report_rows(report) + rows
            return rows, inventory_rows(services), choices(), None

        upload.click(do_upload, inputs=[files, replace], outputs=[upload_result, inventory, to_delete, files],
                     api_name="upload")

        def do_delete(source, confirmed, request: gr.Request):
            if not source:
                return [["", "failed", 0, "choose a document"]], inventory_rows(services), choices()
            if not confirmed:
                return [[source, "skipped", 0, "tick the confirmation box to delete"]], inventory_rows(services), choices()
            corpus = Path(settings.corpus_dir).resolve()
            path = (corpus / source).resolve()
            if corpus in path.parents and path.is_file():
                path.unlink()
            removed = services.store.remove_document(source)
            services.retriever.refresh()
            staff_log.action(_user(request), "delete", [source], "" if removed else "no such document")
            status = "removed" if removed else "failed"
            return [[source, status, 0, "" if removed else "no such document"]], inventory_rows(services), choices()

        delete.click(do_delete, inputs=[to_delete, confirm_delete], outputs=[resync_result, inventory, to_delete],
                     api_name="delete")

        def do_resync(request: gr.Request, progress=gr.Progress()):
            staff_log.action(_user(request), "resync")
            report = run_sync([Path(settings.corpus_dir)], progress)
            return report_rows(report), inventory_rows(services), choices()

        resync.click(do_resync, outputs=[resync_result, inventory, to_delete], api_name="resync")
        refresh.click(lambda: (inventory_rows(services), choices()), outputs=[inventory, to_delete],
                      api_name="inventory")

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

    from .security import GuardMiddleware, LoginLimiter, gradio_user, harden_api, mounted_gradio

    settings = services.settings
    staff_log.configure(Path(settings.data_dir), settings.feedback_retention_days)
    app = FastAPI(title="Innovation procurement assistant", docs_url=None, redoc_url=None)
    chat_login = {}  # the chat's Gradio app, once mounted, when the chat has a password

    @app.get("/files/{source:path}")
    def source_file(source: str, request: Request):
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
        # Only documents in the inventory are served: no hidden files, no .git, nothing else.
        if (record is None or not record.content_hash or corpus not in path.parents or not path.is_file()
                or any(part.startswith(".") for part in path.relative_to(corpus).parts)):
            raise HTTPException(404, "No such document")
        media = {".pdf": "application/pdf", ".md": "text/markdown; charset=utf-8",
                 ".txt": "text/plain; charset=utf-8", ".html": "text/plain; charset=utf-8",
                 ".htm": "text/plain; charset=utf-8"}.get(path.suffix.lower())
        # HTML documents are served as text: a stored page must never run script here.
        return FileResponse(path, media_type=media, filename=None if media else path.name)

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

    staff = build_staff(services).queue(default_concurrency_limit=2)
    max_upload = int(settings.max_file_mb * 1024 * 1024)
    staff_auth = None
    if staff_enabled(settings):
        staff_auth = [(settings.staff_user, settings.staff_password.get_secret_value())]
    app = gr.mount_gradio_app(app, staff, path="/staff", auth=staff_auth, css=CSS,
                              auth_message="Personale / Staff", max_file_size=max_upload)
    chat = build_chat(services).queue(default_concurrency_limit=settings.concurrency)
    chat_auth = None
    if settings.chat_password and settings.chat_password.get_secret_value():
        chat_auth = [(CHAT_USER, settings.chat_password.get_secret_value())]
    app = gr.mount_gradio_app(app, chat, path="", auth=chat_auth, css=CSS,
                              auth_message="Adgangskode / Password (user: bruger)", max_file_size=1)
    for blocks in (staff, chat):
        harden_api(mounted_gradio(app, blocks))
    if chat_auth:
        chat_login["app"] = mounted_gradio(app, chat)
    limiter = LoginLimiter(free_attempts=settings.login_free_attempts, max_delay_s=settings.login_max_delay_s)
    return GuardMiddleware(app, allowed_origins=settings.allowed_origin_list,
                           max_body_bytes=settings.max_request_kb * 1024,
                           max_upload_bytes=max_upload + 1024 * 1024, limiter=limiter,
                           known_users=[settings.staff_user, CHAT_USER if chat_auth else ""])
