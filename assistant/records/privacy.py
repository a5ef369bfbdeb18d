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

# No digit (or digit + separator, as in "5.538.000" or "2014/24") right before a number,
# and none right after it: a match is never the middle of a longer number or reference.
_START = r"(?<![\w/])(?<!\d[.,/\-])"
_END = r"(?![\w/])(?![.,/\-]\d)"

_EMAIL_RE = re.compile(r"(?<![\w.+\-])[\w.+\-]+@[\w\-]+(?:\.[\w\-]+)*\.[A-Za-z]{2,}\b")
# +45 / 0045 / +47 / 0047, then eight digits in any grouping ("+45 12 34 56 78", "+4712345678").
_PREFIXED_PHONE_RE = re.compile(r"(?<![\w+])\(?(?:\+|00)\s?(?:45|47)\)?[\s\-]?\d(?:[ \-]?\d){7}" + _END)
# 11 digits (optionally "ddmmyy 12345"): fødselsnummer / D-number.
_FNR_RE = re.compile(_START + r"(\d{2})(\d{2})\d{2}[ ]?\d{5}" + _END)
# ddmmyy-xxxx or ddmmyyxxxx.
_CPR_RE = re.compile(_START + r"(\d{2})(\d{2})\d{2}[\-]?\d{4}" + _END)
# Eight digits without a prefix: contiguous (first digit 2-9, as in Danish and Norwegian
# numbers), "12 34 56 78" or the Norwegian mobile grouping "412 34 567".
_PHONE_RE = re.compile(_START + r"(?:[2-9]\d{7}|\d{2} \d{2} \d{2} \d{2}|[2-9]\d{2} \d{2} \d{3})" + _END)
# An eight-digit number right after one of these is a company or case number, not a phone.
_REFERENCE_BEFORE = re.compile(
    r"\b(?:cvr|se|ean|org|orgnr|org\.nr|j|sag|sags|journal|faktura|ordre|konto|reg|lbk|bek|lov)"
    r"\b[.\-]?\s*(?:nr|nummer|no)?\.?:?\s*$",
    re.I,
)
_AMOUNT_AFTER = re.compile(r"\s*(?:kr\b|kroner|dkk|nok|eur\b|euro|€|,-)", re.I)


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
    if _REFERENCE_BEFORE.search(before) or _AMOUNT_AFTER.match(match.string, match.end()):
        return match.group(0)  # a case/company number or an amount ("25000000 kr.")
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
