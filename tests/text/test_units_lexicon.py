"""The shared words and patterns (`assistant.text.lexicon`): one owner each."""

from __future__ import annotations

import re
from pathlib import Path

from assistant.text.lexicon import CITATION_MARKER, MONEY, SHARE, is_official_url

ROOT = Path(__file__).resolve().parents[2] / "assistant"


def test_a_citation_marker_of_up_to_three_digits_is_found_but_not_a_link():
    assert [m.group(1) for m in CITATION_MARKER.finditer("Fristen er 35 dage [1] og [12], jf. [104].")] == [
        "1", "12", "104"]
    assert not CITATION_MARKER.search("se [2](#source-2)")


def test_only_https_links_are_official():
    assert is_official_url("https://www.retsinformation.dk/eli/lta/2015/1564")
    assert not is_official_url("http://innovatieveoverheidsopdrachten.be/en/about-pip")
    assert not is_official_url("javascript:alert(1)")
    assert not is_official_url("https://example.org/<script>")


def test_money_and_shares_in_the_three_languages():
    for text in ("2 mio. kr.", "5.404.000 euro", "NOK 1,3 millioner", "EUR 140 000", "1 300 000 kroner"):
        assert MONEY.search(text), text
    for text in ("30 pct.", "25 %", "10 prosent", "40 percent"):
        assert SHARE.search(text), text
    assert not MONEY.search("35 dage") and not SHARE.search("35 dage")


def test_month_names_and_the_language_jurisdiction_map_have_one_owner():
    month_table = re.compile(r"[\"']januar[\"']\s*:\s*1")
    language_map = re.compile(r"\{\s*[\"']da[\"']\s*:\s*[\"']DK[\"']|\{\s*[\"']DK[\"']\s*:\s*[\"']da[\"']")
    for pattern in (month_table, language_map):
        owners = [p.relative_to(ROOT).as_posix() for p in ROOT.rglob("*.py") if pattern.search(p.read_text())]
        assert owners == ["text/lexicon.py"], owners
