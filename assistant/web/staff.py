"""The staff page: inventory (search, filters, overdue first), upload with metadata, new
versions, duplicate refusal, preview of what was read, delete, re-sync and feedback, behind
its own login. Every word comes from `STAFF_TEXT` in the page's language."""

from __future__ import annotations

import html
from datetime import date
from pathlib import Path

import gradio as gr

from assistant.config import Settings
from assistant.corpus.service import NO_SUCH_DOCUMENT, OUTSIDE_CORPUS, CorpusBusy, NotStored
from assistant.corpus.sync import EmbeddingDown, FileResult, Progress, SyncReport
from assistant.i18n import LANGUAGE_CHOICES, STAFF_TEXT, TEXT
from assistant.ingest import metadata
from assistant.ingest.metadata import JURISDICTIONS, KINDS, LANGUAGES, DocumentMeta
from assistant.records import staff_log
from assistant.services import Services
from assistant.web.preview import preview_html
from assistant.web.source_page import topic_label
from assistant.web.uploads import Refusal, UploadRequest, allowed_types, save_uploads

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


MAX_CELL = 60  # characters of a list cell (topics, sources) in the compact inventory


def _cut(text: str) -> str:
    return text if len(text) <= MAX_CELL else text[:MAX_CELL - 1].rstrip() + "…"


def inventory_rows(services: Services, lang: str = "da", *, search: str = "", language: str = "",
                   jurisdiction: str = "", overdue_only: bool = False) -> list[list]:
    """One compact row per document, overdue reviews first, then by title; filtered by a
    search in title and file name, language, jurisdiction and overdue review."""
    s = STAFF_TEXT[lang]
    today = services.settings.today or date.today()
    corpus = Path(services.settings.corpus_dir)
    needle = (search or "").strip().casefold()
    rows = []
    for r in services.corpus.inventory():
        overdue = r.overdue(today)
        if ((needle and needle not in f"{r.title} {r.source}".casefold()) or (language and r.language != language)
                or (jurisdiction and r.jurisdiction != jurisdiction) or (overdue_only and not overdue)):
            continue
        record = metadata.read(corpus / r.source)
        kind = s.get(f"kind_{record.kind}", record.kind) if record else ""
        versions = len(record.versions) + 1 if record and record.versions else 1
        rows.append((not overdue, (r.title or r.source).casefold(), [
            r.title, r.source, kind, r.language, r.jurisdiction, r.as_of,
            f"{r.review_by} ⚠ {s['overdue']}" if overdue else r.review_by,
            r.updated or r.ingested_at[:10], versions, r.chunks,
            _cut(", ".join(topic_label(x) for x in r.topics)), _cut("; ".join(r.sources))]))
    return [row for *_, row in sorted(rows, key=lambda x: (x[0], x[1]))]


def delete_choices(services: Services) -> list[tuple[str, str]]:
    """The document lists show titles (with the file name, since two documents may share a
    title); the value is the file's source path."""
    records = sorted(services.corpus.inventory(), key=lambda r: (r.title or r.source).lower())
    return [(f"{r.title} ({r.source})" if r.title and r.title != r.source else r.source, r.source)
            for r in records]


INVENTORY_KEYS = ["h_title", "h_file", "h_kind", "h_language", "h_jurisdiction", "h_as_of", "h_review_by",
                  "h_updated", "h_versions", "h_chunks", "h_topics", "h_sources"]
RESULT_KEYS = ["h_file", "h_status", "h_chunks", "h_reason"]
VOTE_KEYS = ["h_time", "h_vote", "h_comment", "h_question", "h_answer", "h_mode"]
GAP_KEYS = ["h_time", "h_question", "h_language", "h_status"]
FORM_FIELDS = ["title", "language", "jurisdiction", "kind", "as_of", "review_by", "url"]


def form_choices(lang: str) -> dict[str, list[tuple[str, str]]]:
    s = STAFF_TEXT[lang]
    return {"language": [(s[f"lang_{x}"], x) for x in LANGUAGES], "jurisdiction": [(x, x) for x in JURISDICTIONS],
            "kind": [(s[f"kind_{x}"], x) for x in KINDS]}


def filter_choices(lang: str) -> dict[str, list[tuple[str, str]]]:
    s = STAFF_TEXT[lang]
    return {"language": [(s["f_all"], "")] + [(s[f"lang_{x}"], x) for x in LANGUAGES],
            "jurisdiction": [(s["f_all"], "")] + [(x, x) for x in JURISDICTIONS]}


def build_staff(services: Services) -> gr.Blocks:
    settings = services.settings
    t = STAFF_TEXT["da"]

    def headers(keys, lang="da"):
        return [STAFF_TEXT[lang][k] for k in keys]

    with gr.Blocks(title=t["title"], analytics_enabled=False, delete_cache=(3600, 3600)) as staff:
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
        fc, ff = form_choices("da"), filter_choices("da")
        with gr.Tab(t["documents"], elem_id="tab-documents") as tab_documents:
            with gr.Row(elem_id="inventory-filters"):
                search = gr.Textbox(label=t["search"], elem_id="inventory-search", scale=3, min_width=200)
                f_language = gr.Dropdown(ff["language"], value="", label=t["f_language"], elem_id="filter-language",
                                         scale=1, min_width=140)
                f_jurisdiction = gr.Dropdown(ff["jurisdiction"], value="", label=t["f_jurisdiction"],
                                             elem_id="filter-jurisdiction", scale=1, min_width=140)
                f_overdue = gr.Checkbox(label=t["overdue_only"], elem_id="filter-overdue", scale=1, min_width=160)
            # Compact rows (no wrapping, long lists cut): a screen of documents at 1280 px; on a
            # phone the table scrolls inside its box.
            inventory = gr.Dataframe(headers=headers(INVENTORY_KEYS), value=lambda: inventory_rows(services),
                                     interactive=False, label=t["inventory"], elem_id="inventory", wrap=False,
                                     max_height=640,
                                     column_widths=["260px", "190px", "100px", "70px", "90px", "100px",
                                                    "150px", "100px", "80px", "80px", "200px", "240px"])
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
            version_of = gr.Dropdown(label=t["version_of"], choices=[], value=None, elem_id="version-of")
            with gr.Group(elem_id="upload-form"):
                form_heading = gr.Markdown(f"### {t['form']}", elem_id="form-heading")
                m_title = gr.Textbox(label=t["m_title"], elem_id="meta-title")
                with gr.Row():
                    m_language = gr.Dropdown(fc["language"], value="da", label=t["m_language"], elem_id="meta-language")
                    m_jurisdiction = gr.Dropdown(fc["jurisdiction"], value="DK", label=t["m_jurisdiction"],
                                                 elem_id="meta-jurisdiction")
                    m_kind = gr.Radio(fc["kind"], value="guidance", label=t["m_kind"], elem_id="meta-kind")
                with gr.Row():
                    m_as_of = gr.Textbox(label=t["m_as_of"], elem_id="meta-as-of")
                    m_review_by = gr.Textbox(label=t["m_review_by"], elem_id="meta-review-by")
                    m_url = gr.Textbox(label=t["m_url"], elem_id="meta-url")
            replace = gr.Checkbox(label=t["replace"], elem_id="upload-replace")
            upload = gr.Button(t["upload"], variant="primary", elem_id="upload")
            upload_result = gr.Dataframe(headers=headers(RESULT_KEYS), label=t["result"], interactive=False,
                                         elem_id="upload-result", wrap=True)
        with gr.Tab(t["preview_tab"], elem_id="tab-preview") as tab_preview:
            with gr.Row():
                preview_choice = gr.Dropdown(label=t["preview_choice"], choices=[], elem_id="preview-choice")
                preview_show = gr.Button(t["preview_show"], elem_id="preview-show")
            preview = gr.HTML(f"<p>{html.escape(t['preview_none'])}</p>", elem_id="preview")
        with gr.Tab(t["feedback_tab"], elem_id="tab-feedback") as tab_feedback:
            votes = gr.Dataframe(headers=headers(VOTE_KEYS), label=t["latest_feedback"], interactive=False,
                                 wrap=True, elem_id="votes")
            gaps = gr.Dataframe(headers=headers(GAP_KEYS), label=t["gaps"], interactive=False, wrap=True,
                                elem_id="gaps")
            with gr.Row():
                load_feedback = gr.Button(t["refresh"], elem_id="feedback-refresh")
                export = gr.Button(t["export"], elem_id="feedback-export")
            export_file = gr.File(label="CSV", interactive=False, elem_id="export-file")

        form = [m_title, m_language, m_jurisdiction, m_kind, m_as_of, m_review_by, m_url]
        filters = [search, f_language, f_jurisdiction, f_overdue]

        def rows(language, *values):
            return inventory_rows(services, language, search=values[0] if values else "",
                                  language=values[1] if len(values) > 1 else "",
                                  jurisdiction=values[2] if len(values) > 2 else "",
                                  overdue_only=bool(values[3]) if len(values) > 3 else False)

        def choices():
            return gr.update(choices=delete_choices(services), value=None)

        def bar(progress, language="da"):
            def on_file(item, index, total):
                action = STAFF_TEXT[language].get(f"action_{item.action}", item.action)
                progress((index - 1, total), desc=f"{action}: {item.source}")

            return Progress(on_file=on_file)

        def form_values(meta: DocumentMeta) -> list:
            return [meta.title, meta.language or "da", meta.jurisdiction or "DK",
                    meta.kind if meta.kind in KINDS else "guidance", meta.as_of, meta.review_by, meta.url]

        def on_files(uploaded, current_version):
            """Propose the record from the chosen file (unless it is a new version: then the
            document's own record stays)."""
            if not uploaded or current_version:
                return [gr.skip()] * len(form)
            first = uploaded[0] if isinstance(uploaded, list) else uploaded
            path = Path(getattr(first, "name", first))
            name = getattr(first, "orig_name", None) or path.name
            meta = metadata.prefill(path, name, settings.today or date.today(), settings.max_file_mb)
            return form_values(meta)

        files.upload(on_files, inputs=[files, version_of], outputs=form, api_visibility="private")

        def on_version(source):
            """A new version keeps the document's record: the form shows it."""
            if not source:
                return [gr.skip()] * len(form)
            path = Path(settings.corpus_dir) / source
            meta = metadata.read(path)
            if meta is None:
                record = next((r for r in services.corpus.inventory() if r.source == source), None)
                meta = DocumentMeta(title=getattr(record, "title", ""), language=getattr(record, "language", ""),
                                    jurisdiction=getattr(record, "jurisdiction", ""),
                                    as_of=getattr(record, "as_of", ""), review_by=getattr(record, "review_by", ""))
            return form_values(meta)

        version_of.change(on_version, inputs=version_of, outputs=form, api_visibility="private")

        # Every field but the files is optional for API callers (None: Gradio's "has a default").
        def do_upload(uploaded, replace_existing=None, version_source=None, title=None, language_=None,
                      jurisdiction=None, kind=None, as_of=None, review_by=None, url=None, language="da",
                      request: gr.Request = None, progress=gr.Progress()):
            refused: list[Refusal] = []
            meta = None
            if (title or "").strip():  # the form was filled (the page always fills it)
                meta = DocumentMeta(title=" ".join(title.split()), language=language_ or "", kind=kind or "guidance",
                                    jurisdiction=jurisdiction or "", as_of=(as_of or "").strip(),
                                    review_by=(review_by or "").strip(), url=(url or "").strip())
                problems = meta.problems()
                if problems:
                    s = STAFF_TEXT[language]
                    detail = "; ".join(s[f"p_{p}"] for p in problems)
                    names = [Path(getattr(f, "orig_name", None) or getattr(f, "name", f)).name for f in uploaded or []]
                    return ([[", ".join(names), status_text("skipped", language), 0,
                              s["r_metadata_bad"].format(detail=detail)]],
                            rows(language), choices(), gr.skip(), gr.skip(), gr.skip())
            titles = {r.source: r.title for r in services.corpus.inventory()}
            ask = UploadRequest(version_of=version_source or "", meta=meta, titles=titles)

            def save(corpus: Path) -> list[Path]:  # runs under the writer lock
                saved, refusals = save_uploads(uploaded or [], corpus, bool(replace_existing), settings.max_file_mb,
                                               ask)
                staff_log.action(_user(request), "upload", [p.name for p in saved],
                                 f"{len(refusals)} refused" if refusals else "")
                refused.extend(refusals)
                return saved

            try:
                report = services.corpus.upload(save, bar(progress, language), wait=600)
                result = report_rows(report, language) + refusal_rows(refused, language)
            except CorpusBusy:
                result = [failed_row("", "r_busy", language)]
            versions = {source: v for source, v in ask.recorded}
            for row in result:
                if row[0] in versions:
                    previous = STAFF_TEXT[language]["r_version_of"].format(
                        title=titles.get(row[0]) or row[0], hash=versions[row[0]].content_hash[:12])
                    row[3] = f"{previous}. {row[3]}".strip(". ") if row[3] else previous
            return result, rows(language), choices(), None, choices(), choices()

        upload.click(do_upload, inputs=[files, replace, version_of, *form, ui_lang],
                     outputs=[upload_result, inventory, to_delete, files, version_of, preview_choice],
                     api_name="upload")

        def do_delete(source, confirmed, language, request: gr.Request):
            # The tick box is cleared after every attempt: one tick deletes one document.
            if not source:
                return [failed_row("", "r_choose", language)], rows(language), choices(), False
            if not confirmed:
                return [failed_row(source, "r_tick", language, "skipped")], rows(language), choices(), False
            try:
                result = services.corpus.delete(source, wait=600)
                row = [source, status_text(result.status, language), 0, reason_text(result, language)]
                if result.status == "removed":
                    metadata.sidecar_path(Path(settings.corpus_dir) / source).unlink(missing_ok=True)
            except CorpusBusy:
                row = failed_row(source, "r_busy", language)
            staff_log.action(_user(request), "delete", [source], row[3])
            return [row], rows(language), choices(), False

        delete.click(do_delete, inputs=[to_delete, confirm_delete, ui_lang],
                     outputs=[resync_result, inventory, to_delete, confirm_delete], api_name="delete")

        def do_resync(language, request: gr.Request, progress=gr.Progress()):
            staff_log.action(_user(request), "resync")
            try:
                result = report_rows(services.corpus.sync(None, bar(progress, language), wait=600), language)
            except CorpusBusy:
                result = [failed_row("", "r_busy", language)]
            except EmbeddingDown as exc:
                # The file being embedded was rolled back; the rest of the store is as it was.
                result = report_rows(SyncReport(results=[services.corpus.not_stored(exc, exc.source)]), language)
            return result, rows(language), choices()

        resync.click(do_resync, inputs=ui_lang, outputs=[resync_result, inventory, to_delete], api_name="resync")
        # The filters as session state too: the `inventory` API keeps taking no inputs.
        filter_state = gr.State(("", "", "", False))

        def do_refresh(language, current):
            return rows(language, *(current or ())), choices()

        refresh.click(do_refresh, inputs=[ui_lang, filter_state], outputs=[inventory, to_delete], api_name="inventory")

        def do_filter(language, *values):
            return rows(language, *values), tuple(values)

        for control in filters:
            event = control.submit if isinstance(control, gr.Textbox) else control.change
            event(do_filter, inputs=[ui_lang, *filters], outputs=[inventory, filter_state], api_visibility="private")
        search.change(do_filter, inputs=[ui_lang, *filters], outputs=[inventory, filter_state],
                      api_visibility="private", trigger_mode="always_last")

        def show_preview(source, language, request: gr.Request):
            s = STAFF_TEXT[language]
            if not source:
                return f"<p>{html.escape(s['preview_none'])}</p>"
            corpus = Path(settings.corpus_dir).resolve()
            path = (corpus / source).resolve()
            if corpus not in path.parents or source not in {r.source for r in services.corpus.inventory()}:
                return f"<p role='alert'>{html.escape(s['r_no_such'])}</p>"
            staff_log.action(_user(request), "preview", [source])
            return preview_html(path, source, language, settings.max_file_mb)

        preview_show.click(show_preview, inputs=[preview_choice, ui_lang], outputs=preview, api_name="preview")

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
        staff.load(lambda: (*feedback_tables(), choices(), choices(), choices()),
                   outputs=[votes, gaps, to_delete, version_of, preview_choice], api_visibility="private")

        def relabel(language, *values):
            s = STAFF_TEXT[language]
            fc, ff = form_choices(language), filter_choices(language)
            return (
                language, f"# {s['title']}", gr.update(label=s["documents"]), gr.update(label=s["upload_tab"]),
                gr.update(label=s["preview_tab"]), gr.update(label=s["feedback_tab"]),
                gr.update(label=s["search"]), gr.update(label=s["f_language"], choices=ff["language"]),
                gr.update(label=s["f_jurisdiction"], choices=ff["jurisdiction"]),
                gr.update(label=s["overdue_only"]),
                gr.update(headers=headers(INVENTORY_KEYS, language), label=s["inventory"],
                          value=rows(language, *values)),
                gr.update(value=s["refresh"]), gr.update(value=s["resync"]),
                gr.update(label=s["delete_choice"]), gr.update(label=s["delete_confirm"]),
                gr.update(value=s["delete"]),
                gr.update(headers=headers(RESULT_KEYS, language), label=s["result"]),
                gr.update(label=s["files_types"].format(types=allowed_types())), gr.update(label=s["version_of"]),
                f"### {s['form']}", gr.update(label=s["m_title"]),
                gr.update(label=s["m_language"], choices=fc["language"]), gr.update(label=s["m_jurisdiction"]),
                gr.update(label=s["m_kind"], choices=fc["kind"]), gr.update(label=s["m_as_of"]),
                gr.update(label=s["m_review_by"]), gr.update(label=s["m_url"]),
                gr.update(label=s["replace"]), gr.update(value=s["upload"]),
                gr.update(headers=headers(RESULT_KEYS, language), label=s["result"]),
                gr.update(label=s["preview_choice"]), gr.update(value=s["preview_show"]),
                *[gr.update(headers=headers(keys, language), label=label, value=table) for keys, label, table in
                  zip((VOTE_KEYS, GAP_KEYS), (s["latest_feedback"], s["gaps"]), feedback_tables(language))],
                gr.update(value=s["refresh"]), gr.update(value=s["export"]),
            )

        lang.change(relabel, inputs=[lang, *filters],
                    outputs=[ui_lang, heading, tab_documents, tab_upload, tab_preview, tab_feedback,
                             search, f_language, f_jurisdiction, f_overdue, inventory, refresh, resync,
                             to_delete, confirm_delete, delete, resync_result, files, version_of, form_heading,
                             *form, replace, upload, upload_result, preview_choice, preview_show,
                             votes, gaps, load_feedback, export],
                    api_visibility="private",
                    js="(language, ...rest) => { window.assistantSetLang && window.assistantSetLang(language); "
                       "return [language, ...rest]; }")
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

