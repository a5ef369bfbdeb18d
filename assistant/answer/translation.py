"""Reading the translation step's reply: the question in the corpus's other languages."""

from __future__ import annotations

import json
import re

from assistant.answer.history import clean

_LANGUAGE_KEYS = {"da": "da", "dansk": "da", "danish": "da", "nb": "nb", "no": "nb", "nn": "nb",
                  "norsk": "nb", "norwegian": "nb", "bokmål": "nb", "en": "en", "engelsk": "en",
                  "english": "en"}
_TRANSLATION_LINE = re.compile(r'^\W*(\w+)\W*\s*[:=]\s*(.+)$')
MAX_TRANSLATION_CHARS = 600


def parse_translations(reply: str, targets: list[str]) -> dict[str, str]:
    """The translations in a model's reply, for the wanted languages only: a JSON object
    ({"da": "...", "en": "..."}, possibly inside a code fence or after a sentence), else one
    line per language ("da: ..."). Anything else gives {}. Each text is one line, cut to
    MAX_TRANSLATION_CHARS; language names ("Danish", "norsk") count as their codes."""
    text = str(reply or "")
    pairs: list[tuple[str, object]] = []
    start, end = text.find("{"), text.rfind("}")
    if 0 <= start < end:
        try:
            data = json.loads(text[start:end + 1])
        except ValueError:
            data = None
        if isinstance(data, dict):
            pairs = list(data.items())
    if not pairs:
        pairs = [(m.group(1), m.group(2)) for line in text.splitlines()
                 if (m := _TRANSLATION_LINE.match(line.strip()))]
    out: dict[str, str] = {}
    for key, value in pairs:
        lang = _LANGUAGE_KEYS.get(str(key).strip().lower())
        if lang not in targets or lang in out or not isinstance(value, str):
            continue
        value = clean(value).strip().strip('"').strip()
        if value:
            out[lang] = value[:MAX_TRANSLATION_CHARS]
    return out
