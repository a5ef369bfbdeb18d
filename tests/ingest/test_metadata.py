"""A document's record from the command line (`assistant meta`): the same sidecar the staff
page's upload form writes (assistant/ingest/metadata.py), under the corpus writer lock, and
the document re-synced so cards and the inventory show it. Real files, a real store."""

from __future__ import annotations

import os
import subprocess
import sys

import yaml
from typer.testing import CliRunner

from assistant import cli
from assistant.corpus.service import Corpus
from assistant.ingest.loaders import read_sidecar
from assistant.store.chroma import Store
from tests.conftest import LAW_TEXT, ROOT, make_docx, settings_env

# Runs the command and reports which of the app's packages it imported: the CLI must not need
# the web layer to write a record (one owner, below the web).
RUN_AND_LIST_IMPORTS = """
import sys
from assistant.cli import app
try:
    app(sys.argv[1:])
except SystemExit as exc:
    code = exc.code or 0
print("IMPORTED-WEB:", sorted(m for m in sys.modules if m.startswith("assistant.web")), file=sys.stderr)
sys.exit(code)
"""


def run_meta(settings, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", RUN_AND_LIST_IMPORTS, "meta", *args], capture_output=True,
                          text=True, cwd=ROOT, timeout=300,
                          env={**os.environ, **settings_env(settings), "COLUMNS": "200"})


def test_cli_sets_a_documents_record_under_the_lock_and_the_store_shows_it(settings):
    doc = make_docx(settings.corpus_dir / "tilbudsregel.docx", "Indkøb under tærskelværdien",
                    ["Kommunen indhenter mindst tre tilbud ved indkøb over 100.000 kroner under tærskelværdien."])
    store = Store(settings)
    corpus = Corpus(store=store, settings=settings)
    assert corpus.sync().count("added") == 1
    args = ["tilbudsregel.docx", "--title", "Intern regel om tre tilbud", "--kind", "internal",
            "--jurisdiction", "dk", "--language", "da", "--as-of", "2026-03-01", "--review-by", "2027-03-01",
            "--url", "https://www.kommune.dk/regler/tre-tilbud"]

    with corpus.writing(0):  # another writer holds the lock: nothing is written, the user is told
        busy = run_meta(settings, *args)
    assert busy.returncode == 3 and "another ingest is running" in " ".join(busy.stderr.split())
    assert not (settings.corpus_dir / "tilbudsregel.docx.meta.yaml").exists()

    run = run_meta(settings, *args)
    assert run.returncode == 0, run.stderr
    assert "IMPORTED-WEB: []" in run.stderr
    record = read_sidecar(doc)  # the loader reads what the command wrote
    assert (record["title"], record["kind"], record["jurisdiction"], record["language"]) == (
        "Intern regel om tre tilbud", "internal", "DK", "da")
    assert (record["as_of"], record["review_by"], record["url"]) == (
        "2026-03-01", "2027-03-01", "https://www.kommune.dk/regler/tre-tilbud")
    stored = Store(settings).document("tilbudsregel.docx")  # re-synced: the cards' source
    assert stored.title == "Intern regel om tre tilbud"
    assert (stored.as_of, stored.review_by) == ("2026-03-01", "2027-03-01")

    again = run_meta(settings, "tilbudsregel.docx", "--review-by", "2028-01-15")  # one field; the rest kept
    assert again.returncode == 0, again.stderr
    assert read_sidecar(doc)["review_by"] == "2028-01-15" and read_sidecar(doc)["title"] == "Intern regel om tre tilbud"
    assert Store(settings).document("tilbudsregel.docx").review_by == "2028-01-15"


def test_cli_refuses_a_bad_record_per_file_keeps_a_statutes_own_keys_and_explains(settings):
    corpus_dir = settings.corpus_dir
    (corpus_dir / "testlov.txt").write_text(LAW_TEXT, encoding="utf-8")
    (corpus_dir / "testlov.txt.meta.yaml").write_text(yaml.safe_dump({
        "title": "Lov om prøveindkøb", "kind": "law", "act": "udbudsloven", "jurisdiction": "DK", "language": "da",
        "consolidation": "LBK nr. 1 af 2. januar 2025", "as_of": "2025-01-02",
        "notice": {"da": "Ændret 2026; se Retsinformation."}}, allow_unicode=True), encoding="utf-8")
    make_docx(corpus_dir / "regel.docx", "Regel", ["Ordregiveren dokumenterer valget af procedure i sagen."])
    before = (corpus_dir / "regel.docx").read_bytes()

    runner = CliRunner()
    env = settings_env(settings) | {"COLUMNS": "200"}
    result = runner.invoke(cli.app, ["meta", "testlov.txt", "regel.docx", "mangler.pdf", "--review-by", "2027-02-30"],
                           env=env)
    assert result.exit_code == 1
    text = " ".join(result.output.split())
    assert "testlov.txt: not written: review_by is not an ISO date (YYYY-MM-DD)" in text
    assert "regel.docx: not written: review_by is not an ISO date" in text
    assert "mangler.pdf: no such file" in text
    assert not (corpus_dir / "regel.docx.meta.yaml").exists() and (corpus_dir / "regel.docx").read_bytes() == before
    assert read_sidecar(corpus_dir / "testlov.txt")["review_by"] == ""

    result = runner.invoke(cli.app, ["meta", "testlov.txt", "regel.docx", "--review-by", "2027-02-28",
                                     "--kind", "regulation"], env=env)
    assert result.exit_code == 1 and "kind must be one of law, guidance, internal" in " ".join(result.output.split())

    result = runner.invoke(cli.app, ["meta", "testlov.txt", "--review-by", "2027-02-28"], env=env)
    assert result.exit_code == 0, result.output
    kept = read_sidecar(corpus_dir / "testlov.txt")
    assert kept["review_by"] == "2027-02-28"
    assert (kept["act"], kept["consolidation"], kept["notice"]) == (
        "udbudsloven", "LBK nr. 1 af 2. januar 2025", {"da": "Ændret 2026; se Retsinformation."})

    nothing = runner.invoke(cli.app, ["meta", "regel.docx"], env=env)
    assert nothing.exit_code == 2 and "Nothing to set" in nothing.output
    helps = runner.invoke(cli.app, ["meta", "--help"], env=env).output
    for option in ("--title", "--language", "--jurisdiction", "--kind", "--consolidation", "--as-of",
                   "--review-by", "--url", "--show", "--wait"):
        assert option in helps
