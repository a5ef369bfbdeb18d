"""Personal data out of what the app stores: pure functions, no I/O.

`mask_personal_data` replaces Danish CPR numbers, Norwegian fødselsnummer (and D-numbers),
e-mail addresses and Danish/Norwegian phone numbers with a placeholder before questions,
answers, comments or citations are written to the feedback database. It is deliberately
conservative about numbers that are part of procurement texts: legal references
("§ 12-2", "LBK nr. 116 af 3. februar 2025", "2014/24/EU", "FOR-2016-08-12-974"), amounts
("5.538.000 euro", "1.064.177 kr.", "12 500 000 kr") and year ranges ("2026-2027") stay.
"""

from __future__ import annotations

import re
from typing import Any

CPR = "[cpr]"
FNR = "[fødselsnummer]"
EMAIL = "[e-mail]"
PHONE = "[telefon]"

_DAYS_IN_MONTH = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)  # 29 Feb: the year is ambiguous

# Dashes as they reach us: "-", Word's autocorrected en dash, Unicode hyphen, non-breaking
# hyphen, figure dash, em dash, minus sign. A CPR number typed in Word is "010190–1234".
_DASH = "\\-\u2010\u2011\u2012\u2013\u2014\u2212"
_SPACE = " \u00a0\u202f"  # a space inside a number may be non-breaking (Word, PDF text)

# No digit (or digit + separator, as in "5.538.000" or "2014/24") right before a number,
# and none right after it: a match is never the middle of a longer number or reference.
_START = rf"(?<![\w/])(?<!\d[.,/{_DASH}])"
_END = rf"(?![\w/])(?![.,/{_DASH}]\d)"

_EMAIL_RE = re.compile(r"(?<![\w.+\-])[\w.+\-]+@[\w\-]+(?:\.[\w\-]+)*\.[A-Za-z]{2,}\b")
# +45 / 0045 / +47 / 0047, then eight digits in any grouping ("+45 12 34 56 78", "+4712345678").
_PREFIXED_PHONE_RE = re.compile(
    rf"(?<![\w+])\(?(?:\+|00)[{_SPACE}]?(?:45|47)\)?[{_SPACE}{_DASH}]?\d(?:[{_SPACE}{_DASH}.]?\d){{7}}" + _END)
# 11 digits (optionally "ddmmyy 12345" or "ddmmyy-12345"): fødselsnummer / D-number.
_FNR_RE = re.compile(_START + rf"(\d{{2}})(\d{{2}})\d{{2}}[{_SPACE}{_DASH}]?\d{{5}}" + _END)
# ddmmyy-xxxx (any dash), ddmmyy xxxx or ddmmyyxxxx.
_CPR_RE = re.compile(_START + rf"(\d{{2}})(\d{{2}})\d{{2}}[{_SPACE}{_DASH}]?\d{{4}}" + _END)
# Eight digits without a prefix (first digit 2-9, as in Danish and Norwegian numbers):
# contiguous, "12 34 56 78" / "20.12.34.56" (pairs, one separator throughout), "2012 3456" /
# "2012-3456" (two fours) or the Norwegian mobile grouping "412 34 567".
_PHONE_RE = re.compile(_START + (
    rf"(?:[2-9]\d{{7}}"
    rf"|\d{{2}}(?P<sep>[{_SPACE}.{_DASH}])\d{{2}}(?P=sep)\d{{2}}(?P=sep)\d{{2}}"
    rf"|(?P<four>[2-9]\d{{3}})[{_SPACE}{_DASH}](?P<four2>\d{{4}})"
    rf"|[2-9]\d{{2}}[{_SPACE}]\d{{2}}[{_SPACE}]\d{{3}})") + _END)
# "2026-2027" (a period) and "1999 2000" are two years, not a phone number "2012-3456".
_YEAR = re.compile(r"(?:19|20)\d\d")
_REFERENCE_BEFORE = re.compile(
    # cpv: the EU's Common Procurement Vocabulary numbers its codes with eight digits.
    r"\b(?:cvr|se|ean|org|orgnr|org\.nr|j|sag|sags|journal|faktura|ordre|konto|reg|lbk|bek|lov|cpv)"
    r"\b[.\-]?\s*(?:nr|nummer|no|kode|code)?\.?:?\s*$",
    re.I,
)
_AMOUNT_AFTER = re.compile(r"\s*(?:kr\b|kroner|dkk|nok|eur\b|euro|€|,-)", re.I)
# "DKK 25000000", "kr. 2000 5000": a currency before the number makes it an amount.
_AMOUNT_BEFORE = re.compile(r"(?:\bkr\.?|\bdkk|\bnok|\beur|\beuro|€)\s*$", re.I)


def _plausible_date(day: str, month: str, *, d_number: bool = False) -> bool:
    d, m = int(day), int(month)
    if d_number and d > 40:  # Norwegian D-number: day + 40
        d -= 40
    return 1 <= m <= 12 and 1 <= d <= _DAYS_IN_MONTH[m - 1]


def _mask_fnr(match: re.Match) -> str:
    return FNR if _plausible_date(match.group(1), match.group(2), d_number=True) else match.group(0)


def _mask_cpr(match: re.Match) -> str:
    return CPR if _plausible_date(match.group(1), match.group(2)) else match.group(0)


def _mask_phone(match: re.Match) -> str:
    before = match.string[max(0, match.start() - 20) : match.start()]
    if (_REFERENCE_BEFORE.search(before) or _AMOUNT_BEFORE.search(before)
            or _AMOUNT_AFTER.match(match.string, match.end())):
        return match.group(0)  # a case/company number or an amount ("25000000 kr.")
    if match.group("four") and _YEAR.fullmatch(match.group("four")) and _YEAR.fullmatch(match.group("four2")):
        return match.group(0)  # two years: "2026-2027"
    return PHONE


def mask_personal_data(text: str) -> str:
    """The text with CPR numbers, fødselsnummer, e-mail addresses and phone numbers masked."""
    if not isinstance(text, str) or not text:
        return text
    text = _EMAIL_RE.sub(EMAIL, text)
    text = _PREFIXED_PHONE_RE.sub(PHONE, text)
    text = _FNR_RE.sub(_mask_fnr, text)
    text = _CPR_RE.sub(_mask_cpr, text)
    return _PHONE_RE.sub(_mask_phone, text)


def mask_value(value: Any) -> Any:
    """Masks every string inside dicts, lists and tuples (e.g. citations before JSON)."""
    if isinstance(value, str):
        return mask_personal_data(value)
    if isinstance(value, dict):
        return {key: mask_value(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [mask_value(item) for item in value]
    return value
