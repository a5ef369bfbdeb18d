"""The shipped guidance library: valid front matter, and no wording borrowed from the eval corpus."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "corpus"
EVAL_DOCS = ROOT.parent / "shared" / "eval-corpus" / "docs"
REQUIRED = ("title", "language", "jurisdiction", "topics", "sources", "updated", "as_of",
            "review_by")
RUN = 12  # words in a row that count as copied wording

NOTES = sorted(p for p in CORPUS.rglob("*.md") if p.name not in {"SOURCES.md", "README.md"})  # folder docs

# A note that cites one of these laws (anywhere in its text) must list the law's official URL
# in `sources`: (law, how a citation looks, URL fragment).
OFFICIAL_URLS = (
    ("udbudsloven", re.compile(r"udbudslov", re.I), "retsinformation.dk/eli/lta/2025/116"),
    ("anskaffelsesloven",
     re.compile(r"(?i:anskaffelseslov|\blov(?:en)? om offentlige anskaffelser)"
                r"|\bLOA\b|LOV-2016-06-17-73"),
     "lovdata.no/dokument/NL/lov/2016-06-17-73"),
    ("anskaffelsesforskriften",
     re.compile(r"(?i:anskaffelsesforskrift|\bforskrift(?:en)? om offentlige anskaffelser)"
                r"|\bFOA\b|FOR-2016-08-12-974"),
     "lovdata.no/dokument/SF/forskrift/2016-08-12-974"),
    ("directive 2014/24/EU", re.compile(r"2014/24(?!\d)"), "eur-lex.europa.eu/eli/dir/2014/24"),
)


def front_matter(path: Path) -> dict:
    text = path.read_text(encoding="utf-8")
    match = re.match(r"^---\n(.*?)\n---\n", text, re.S)
    assert match, f"{path.name}: no YAML front matter"
    return yaml.safe_load(match.group(1)) or {}


def _date(value) -> dt.date:
    """A front-matter date: YAML gives a date object for a bare ISO date, a str when quoted."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value).strip())


def test_library_size_and_languages():
    languages = [front_matter(p).get("language") for p in NOTES]
    assert len(NOTES) >= 46
    assert languages.count("da") >= 20
    assert languages.count("en") >= 8
    assert languages.count("nb") >= 3


@pytest.mark.parametrize("path", NOTES, ids=lambda p: p.name)
def test_front_matter(path: Path):
    meta = front_matter(path)
    missing = [k for k in REQUIRED if not meta.get(k)]
    assert not missing, f"{path.name}: missing {missing}"
    assert meta["language"] in {"da", "en", "nb"}
    assert meta["jurisdiction"] in {"DK", "NO", "EU"}
    assert isinstance(meta["sources"], list) and meta["sources"]
    dates = {}
    for key in ("as_of", "review_by"):
        try:
            dates[key] = _date(meta[key])
        except ValueError:
            pytest.fail(f"{path.name}: {key} is not an ISO date: {meta[key]!r}")
    assert dates["review_by"] > dates["as_of"], (
        f"{path.name}: review_by {dates['review_by']} is not after as_of {dates['as_of']}")
    body = path.read_text(encoding="utf-8").split("\n---\n", 1)[1]
    words = len(re.findall(r"\w+", body))
    assert 300 <= words <= 1400, f"{path.name}: {words} words"


@pytest.mark.parametrize("path", NOTES, ids=lambda p: p.name)
def test_cited_laws_have_official_url(path: Path):
    text = path.read_text(encoding="utf-8")
    sources = " ".join(map(str, front_matter(path)["sources"]))
    missing = [f"{law}: {url}" for law, cited, url in OFFICIAL_URLS
               if cited.search(text) and url not in sources]
    assert not missing, f"{path.name} cites a law without its official URL in sources: {missing}"


def _words(text: str) -> list[str]:
    text = re.sub(r"(\w)-\s*\n\s*(\w)", r"\1\2", text)
    return re.findall(r"\w+", text.lower())


def _shingles(words: list[str]) -> set[tuple[str, ...]]:
    return {tuple(words[i : i + RUN]) for i in range(len(words) - RUN + 1)}


def _eval_text(path: Path) -> str:
    if path.suffix == ".pdf":
        from pypdf import PdfReader

        return "\n".join(page.extract_text() or "" for page in PdfReader(path).pages)
    raw = path.read_text(encoding="utf-8", errors="replace")
    if path.suffix in {".html", ".htm"}:
        from bs4 import BeautifulSoup

        return BeautifulSoup(raw, "html.parser").get_text(" ")
    return raw


@pytest.fixture(scope="module")
def eval_shingles() -> set[tuple[str, ...]]:
    if not EVAL_DOCS.is_dir():
        pytest.skip(f"{EVAL_DOCS} not present: cannot check for copied wording")
    shingles: set[tuple[str, ...]] = set()
    for path in sorted(EVAL_DOCS.iterdir()):
        shingles |= _shingles(_words(_eval_text(path)))
    return shingles


@pytest.mark.parametrize("path", NOTES, ids=lambda p: p.name)
def test_no_copied_wording(path: Path, eval_shingles):
    shared = _shingles(_words(path.read_text(encoding="utf-8"))) & eval_shingles
    assert not shared, f"{path.name} shares {RUN}-word runs: {[' '.join(s) for s in list(shared)[:3]]}"
