"""The staff page: inventory, upload, delete, re-sync and feedback, behind its own login."""

from __future__ import annotations

import html
from pathlib import Path

import gradio as gr

from assistant.config import Settings
from assistant.ingest.corpus import NO_SUCH_DOCUMENT, OUTSIDE_CORPUS, CorpusBusy, NotStored
from assistant.ingest.sync import EmbeddingDown, FileResult, Progress, SyncReport
from assistant.records import staff_log
from assistant.services import Services
from assistant.web.i18n import LANGUAGE_CHOICES, STAFF_TEXT, TEXT
from assistant.web.source_page import topic_label
from assistant.web.uploads import Refusal, allowed_types, save_uploads

# Reasons the corpus service gives in English for its CLI, worded here in the page's language.
KNOWN_REASONS = {NO_SUCH_DOCUMENT: "r_no_such", OUTSIDE_CORPUS: "r_outside"}


def status_text(status: str, lang: str) -> str:
    """A sync status (`sync.Status`, a closed set) in the page's language."""
    return STAFF_TEXT[lang].get(f"status_{status}", status)


def reason_text(result: FileResult, lang: str) -> str:
    """Why a file got its status, in the page's language where the app knows the reason;
    a loader's own message (the file's problem, in English) is shown as it is."""
    s = STAFF_TEXT[lang]
    if isinstance(result, NotStored):
        kept = s["embedding_kept"] if result.replaced else s["embedding_not_added"]
        if result.problem == "down":
            return s["embedding_down"].format(url=result.where, kept=kept)
        return s["embedding_failed"].format(kept=kept, detail=result.detail)
    if result.reason in KNOWN_REASONS:
        return s[KNOWN_REASONS[result.reason]]
    return result.reason or "; ".join(result.warnings)


def report_rows(report: SyncReport, lang: str = "da") -> list[list]:
    return [[r.source, status_text(r.status, lang), r.chunks, reason_text(r, lang)] for r in report.results]


def refusal_rows(refused: list[Refusal], lang: str = "da") -> list[list]:
    return [[r.name, status_text(r.status, lang), 0, STAFF_TEXT[lang][f"r_{r.code}"].format(**r.args)]
            for r in refused]


def failed_row(source: str, key: str, lang: str, status: str = "failed") -> list:
    return [source, status_text(status, lang), 0, STAFF_TEXT[lang][key]]


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

    with gr.Blocks(title=t["title"], analytics_enabled=False,
                   delete_cache=(3600, 3600)) as staff:
        with gr.Row():
            heading = gr.Markdown(f"# {t['title']}", elem_id="title")
            lang = gr.Radio(LANGUAGE_CHOICES, value="da", label=TEXT["da"]["language"], scale=0,
                            min_width=200, elem_id="ui-language")
        # The language as session state, not an input: the staff API (upload, delete, ...)
        # keeps its signature whatever the page shows.
        ui_lang = gr.State("da")
        if not staff_enabled(settings):
            # Before any language is chosen: both languages, each marked as such.
            gr.HTML(f"<p lang='da'>{html.escape(t['disabled'])}</p>"
                    f"<p lang='en'>{html.escape(STAFF_TEXT['en']['disabled'])}</p>", elem_id="staff-disabled")
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
            # No `file_types`: Gradio would refuse a wrong type with its own English toast;
            # save_uploads refuses it with a row in the page's language instead.
            files = gr.File(label=t["files_types"].format(types=allowed_types()), file_count="multiple",
                            elem_id="upload-files")
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

        def bar(progress, language="da"):
            def on_file(item, index, total):
                action = STAFF_TEXT[language].get(f"action_{item.action}", item.action)
                progress((index - 1, total), desc=f"{action}: {item.source}")

            return Progress(on_file=on_file)

        def do_upload(uploaded, replace_existing, language, request: gr.Request, progress=gr.Progress()):
            refused: list[Refusal] = []

            def save(corpus: Path) -> list[Path]:  # runs under the writer lock
                saved, rows = save_uploads(uploaded or [], corpus, bool(replace_existing), settings.max_file_mb)
                staff_log.action(_user(request), "upload", [p.name for p in saved],
                                 f"{len(rows)} refused" if rows else "")
                refused.extend(rows)
                return saved

            try:
                report = services.corpus.upload(save, bar(progress, language), wait=600)
                rows = report_rows(report, language) + refusal_rows(refused, language)
            except CorpusBusy:
                rows = [failed_row("", "r_busy", language)]
            return rows, inventory_rows(services, language), choices(), None

        upload.click(do_upload, inputs=[files, replace, ui_lang], outputs=[upload_result, inventory, to_delete, files],
                     api_name="upload")

        def do_delete(source, confirmed, language, request: gr.Request):
            # The tick box is cleared after every attempt: one tick deletes one document.
            if not source:
                return [failed_row("", "r_choose", language)], inventory_rows(services, language), choices(), False
            if not confirmed:
                return ([failed_row(source, "r_tick", language, "skipped")],
                        inventory_rows(services, language), choices(), False)
            try:
                result = services.corpus.delete(source, wait=600)
                row = [source, status_text(result.status, language), 0, reason_text(result, language)]
            except CorpusBusy:
                row = failed_row(source, "r_busy", language)
            staff_log.action(_user(request), "delete", [source], row[3])
            return [row], inventory_rows(services, language), choices(), False

        delete.click(do_delete, inputs=[to_delete, confirm_delete, ui_lang],
                     outputs=[resync_result, inventory, to_delete, confirm_delete], api_name="delete")

        def do_resync(language, request: gr.Request, progress=gr.Progress()):
            staff_log.action(_user(request), "resync")
            try:
                rows = report_rows(services.corpus.sync(None, bar(progress, language), wait=600), language)
            except CorpusBusy:
                rows = [failed_row("", "r_busy", language)]
            except EmbeddingDown as exc:
                # The file being embedded was rolled back; the rest of the store is as it was.
                rows = report_rows(SyncReport(results=[services.corpus.not_stored(exc, exc.source)]), language)
            return rows, inventory_rows(services, language), choices()

        resync.click(do_resync, inputs=ui_lang, outputs=[resync_result, inventory, to_delete], api_name="resync")
        refresh.click(lambda language: (inventory_rows(services, language), choices()), inputs=ui_lang,
                      outputs=[inventory, to_delete], api_name="inventory")

        def feedback_tables(language="da"):
            s = STAFF_TEXT[language]
            fb = [[r["time"], s.get(f"vote_{r['vote']}", r["vote"]), r["comment"], r["question"], r["answer"][:300],
                   s.get(f"mode_{r['mode']}", r["mode"])] for r in services.feedback.latest_feedback()]
            gp = [[r["time"], r["question"], r["language"], s.get(f"answer_{r.get('status', '')}", r.get("status", ""))]
                  for r in services.feedback.gaps()]
            return fb, gp

        def view_feedback(language, request: gr.Request):
            staff_log.action(_user(request), "feedback_view")
            return feedback_tables(language)

        def export_feedback(language, request: gr.Request):
            staff_log.action(_user(request), "feedback_export")
            try:
                return str(services.feedback.export_csv(Path(settings.data_dir) / "exports"))
            except OSError as exc:
                raise gr.Error(STAFF_TEXT[language]["export_failed"].format(reason=exc.strerror or exc)) from None

        load_feedback.click(view_feedback, inputs=ui_lang, outputs=[votes, gaps], api_name="feedback")
        export.click(export_feedback, inputs=ui_lang, outputs=export_file, api_name="feedback_export")
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
                gr.update(label=s["files_types"].format(types=allowed_types())), gr.update(label=s["replace"]),
                gr.update(value=s["upload"]),
                gr.update(headers=headers(RESULT_KEYS, language), label=s["result"]),
                *[gr.update(headers=headers(keys, language), label=label, value=rows) for keys, label, rows in
                  zip((VOTE_KEYS, GAP_KEYS), (s["latest_feedback"], s["gaps"]), feedback_tables(language))],
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


def storage_notice(services: Services, lang: str = "da") -> str:
    """Why questions and feedback are not being saved (say, a full disk), for staff."""
    reason = services.feedback.last_error() if hasattr(services.feedback, "last_error") else ""
    if not reason:
        return ""
    return STAFF_TEXT[lang]["storage"].format(reason=html.escape(str(reason))[:300])


def staff_enabled(settings: Settings) -> bool:
    return bool(settings.staff_user and settings.staff_password and settings.staff_password.get_secret_value())

