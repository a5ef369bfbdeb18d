"""Security round two (issue 24, medium items owned here): each test reproduces an attack from
the review on a real server, real files or a real parser, and fails on the code before the fix."""

from __future__ import annotations

import httpx
import pytest

from .test_app import RunningApp


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    running = RunningApp(tmp_path_factory.mktemp("security2"), name="security2")
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
    assert "[e-mail]" in text and "[fødselsnummer]" in text
    assert "uden sprogmodel" in text  # an unknown mode prints as the default, not as the caller's text
