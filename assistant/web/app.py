"""The Gradio web app: a chat for buyers (with a sources panel) and a staff page for the
corpus, both mounted on one FastAPI app that also serves the source documents.

The staff page is its own Blocks, mounted under /staff with its own login, so none of
its functions exist in the public chat app: they cannot be reached without the login,
whether through the UI, `gradio_client` or raw HTTP.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import gradio as gr
from fastapi import Request  # module level: FastAPI resolves the /files/ route's annotations here

from assistant.i18n import GRADIO_DA, HTTP_TEXT, TEXT, both
from assistant.records import staff_log
from assistant.services import Services
from assistant.web.assets import CSS, HEAD, JS, login_message
from assistant.web.chat import api_input_problem, build_chat, note_files  # noqa: F401 - importable from here
from assistant.web.render import (  # noqa: F401 - importable from here (tests, benchmarks)
    file_url,
    render_answer,
    render_sources,
    source_link,
)
from assistant.web.staff import build_staff, inventory_rows, staff_enabled, storage_notice  # noqa: F401
from assistant.web.uploads import safe_filename, save_uploads  # noqa: F401

log = logging.getLogger(__name__)

CHAT_USER = "bruger"  # the chat's one shared login name (ASSISTANT_CHAT_PASSWORD)


# --- the FastAPI app ---------------------------------------------------------------------------


def create_app(services: Services):
    """FastAPI app: chat at /, staff page at /staff (own login), documents at /files/."""
    from fastapi import FastAPI, HTTPException
    from fastapi.responses import FileResponse

    from assistant.web.security import (
        GuardMiddleware,
        LoginLimiter,
        bound_queue,
        gradio_user,
        harden_api,
        mounted_gradio,
    )

    settings = services.settings
    if not settings.a11y_statement_url.strip():
        # WCAG: a public service publishes an accessibility statement; the page footer stays
        # empty without one, so the operator hears it here.
        log.warning("no accessibility statement: set ASSISTANT_A11Y_STATEMENT_URL to its address")
    staff_log.configure(Path(settings.data_dir), settings.feedback_retention_days)
    app = FastAPI(title="Innovation procurement assistant", docs_url=None, redoc_url=None)
    chat_login = {}  # the chat's Gradio app, once mounted, when the chat has a password

    def inventory_file(source: str, request: Request) -> tuple[Path, object]:
        """The corpus file of an inventory document, or 404: no hidden files, no .git, nothing else."""
        if chat_login and gradio_user(chat_login["app"], request) is None:
            # The documents are behind the same login as the chat that cites them.
            raise HTTPException(401, both("login_first"))
        corpus = Path(settings.corpus_dir).resolve()
        if "\x00" in source or len(source) > 1000:
            raise HTTPException(404, both("no_document"))
        try:
            path = (corpus / source).resolve()
            record = services.store.document(source)
        except (OSError, ValueError, RuntimeError):
            raise HTTPException(404, both("no_document")) from None
        if (record is None or not record.content_hash or corpus not in path.parents or not path.is_file()
                or any(part.startswith(".") for part in path.relative_to(corpus).parts)):
            raise HTTPException(404, both("no_document"))
        return path, record

    @app.get("/files/{source:path}")
    def source_file(source: str, request: Request):
        path, _ = inventory_file(source, request)
        media = {".pdf": "application/pdf", ".md": "text/markdown; charset=utf-8",
                 ".txt": "text/plain; charset=utf-8", ".html": "text/plain; charset=utf-8",
                 ".htm": "text/plain; charset=utf-8"}.get(path.suffix.lower())
        # HTML documents are served as text: a stored page must never run script here.
        return FileResponse(path, media_type=media, filename=None if media else path.name)

    def shipped_statutes() -> dict[str, str]:
        """The corpus's statutes by act (their sidecar records), as sources: cross-references link there."""
        from assistant.corpus.refcheck import statute_files

        corpus = Path(settings.corpus_dir).resolve()
        return {act: path.resolve().relative_to(corpus).as_posix()
                for act, path in statute_files(corpus).items() if corpus in path.resolve().parents}

    from assistant.web.page_cache import ClientSlots, PageCache

    read_pages, read_slots = PageCache(), ClientSlots()
    app.state.read_pages = read_pages

    @app.get("/read/{source:path}")
    def read_source(source: str, request: Request, section: str = "", q: str = "", lang: str = "da"):
        """The readable page of a document (see source_page.py); a PDF goes to its viewer."""
        from fastapi.responses import HTMLResponse, RedirectResponse

        from assistant.ingest.loaders import LoadError, document_hash, load_file
        from assistant.web.page_cache import TooManyRenders
        from assistant.web.source_page import HEADERS, render_page

        path, _ = inventory_file(source, request)
        if path.suffix.lower() == ".pdf":
            return RedirectResponse(file_url(source), status_code=307)
        language = "en" if lang == "en" else "da"
        section, q = section[:300], q[:400]
        try:
            key = (source, document_hash(path), section, q, language)
        except OSError:
            raise HTTPException(404, both("no_document")) from None
        page = read_pages.get(key)
        if page is None:
            client = (request.client.host if request.client else "?")
            try:
                with read_slots.slot(client):
                    doc = load_file(path, Path(settings.corpus_dir).resolve(), settings.max_file_mb)
                    page = render_page(doc, raw_url=file_url(source), section=section, quote=q,
                                       lang=language, statutes=shipped_statutes())
            except LoadError:
                raise HTTPException(404, both("no_document")) from None
            except TooManyRenders:
                raise HTTPException(429, both("too_many_pages"),
                                    headers={"Retry-After": "2"}) from None
            read_pages.put(key, page)
        return HTMLResponse(page, headers=HEADERS)

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
    page = dict(css=CSS, js=JS, head=HEAD, i18n=i18n, run_history=False)
    app = gr.mount_gradio_app(app, staff, path="/staff", auth=staff_auth, **page, footer_links=[],
                              auth_message=login_message(HTTP_TEXT["da"]["staff_title"], HTTP_TEXT["en"]["staff_title"]),
                              max_file_size=max_upload)
    chat = build_chat(services).queue(default_concurrency_limit=settings.concurrency,
                                      max_size=settings.queue_max_size)
    chat_auth = None
    if settings.chat_password and settings.chat_password.get_secret_value():
        chat_auth = [(CHAT_USER, settings.chat_password.get_secret_value())]
    app = gr.mount_gradio_app(app, chat, path="", auth=chat_auth, **page, footer_links=["api"],
                              auth_message=login_message(TEXT["da"]["title"], TEXT["en"]["title"],
                                                         both("user_hint", user=CHAT_USER)), max_file_size=1)
    for blocks in (staff, chat):
        harden_api(mounted_gradio(app, blocks))
        bound_queue(blocks, max_size=settings.queue_max_size, per_client=settings.queue_per_client,
                    check=api_input_problem)
    if chat_auth:
        chat_login["app"] = mounted_gradio(app, chat)
    limiter = LoginLimiter(free_attempts=settings.login_free_attempts, max_delay_s=settings.login_max_delay_s)
    return GuardMiddleware(app, allowed_origins=settings.allowed_origin_list,
                           allowed_hosts=settings.allowed_host_list,
                           max_body_bytes=settings.max_request_kb * 1024,
                           max_upload_bytes=max_upload + 1024 * 1024, limiter=limiter,
                           known_users=[settings.staff_user, CHAT_USER if chat_auth else ""])

